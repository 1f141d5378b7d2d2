/** The memory store under its first names, kept for one release. New code imports MemoryStore. */
import * as MemoryStore from "./MemoryStore.js"

/** @deprecated Use `MemoryStore.layer`. */
export const MemoryLayer = MemoryStore.layer

/** @deprecated Use `MemoryStore.make`. */
export const makeMemoryStores = MemoryStore.make
