import { Layer } from "effect"
import { storeContext } from "../layers/StoreProbe.js"
import type { LockRepository } from "../services/LockRepository.js"
import type { StatusRepository } from "../services/StatusRepository.js"

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
