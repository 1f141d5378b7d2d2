import { Layer } from "effect"
import type { LockRepository } from "../ports/LockRepository.js"
import type { StatusRepository } from "../ports/StatusRepository.js"
import { storeContext } from "../ports/StoreProbe.js"

/** Both store ports as plain values: one store, shared by the instances of a test. */
export interface Stores {
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
}

/**
 * The layer of one store (several instances built on the same value share it). `name` is what
 * messages and /health call it; without one, "the store".
 */
export const layer = (stores: Stores, name?: string): Layer.Layer<LockRepository | StatusRepository> =>
  Layer.succeedContext(storeContext(stores, name))
