import { Context, Layer } from "effect"
import { StoreName } from "../layers/StoreProbe.js"
import { LockRepository } from "../services/LockRepository.js"
import { StatusRepository } from "../services/StatusRepository.js"

/** Both store ports as plain values: one store, shared by the instances of a test. */
export interface Stores {
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
}

/**
 * The layer of one store (several instances built on the same value share it). `name` is what
 * messages and /health call it; without one, "the store".
 */
export const layer = (stores: Stores, name?: string): Layer.Layer<LockRepository | StatusRepository> => {
  const ports = Context.make(LockRepository, stores.lockRepository).pipe(
    Context.add(StatusRepository, stores.statusRepository),
  )
  return Layer.succeedContext(name === undefined ? ports : Context.add(ports, StoreName, name))
}
