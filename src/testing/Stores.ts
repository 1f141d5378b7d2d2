import { Context, Layer } from "effect"
import { StoreName } from "../layers/StoreProbe.js"
import { LockRepository } from "../services/LockRepository.js"
import { StatusRepository } from "../services/StatusRepository.js"

/** Both store ports as plain values: one store, shared by the instances of a test. */
export interface Stores {
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
}

/** The layer of one store (several instances built on the same value share it). */
export const layer = (stores: Stores, name = "test store"): Layer.Layer<LockRepository | StatusRepository> =>
  Layer.succeedContext(
    Context.make(LockRepository, stores.lockRepository).pipe(
      Context.add(StatusRepository, stores.statusRepository),
      Context.add(StoreName, name),
    ),
  )
