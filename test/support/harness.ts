import { Effect, Layer, type Scope } from "effect"
import { makeMemoryStores } from "../../src/layers/MemoryLayer.js"
import type { Any } from "../../src/services/Job.js"
import * as JobManager from "../../src/services/JobManager.js"
import * as JobRunner from "../../src/services/JobRunner.js"
import * as Lease from "../../src/services/Lease.js"
import { LockRepository } from "../../src/services/LockRepository.js"
import { StatusRepository } from "../../src/services/StatusRepository.js"

export interface Stores {
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
}

export const storesLayer = (stores: Stores) =>
  Layer.mergeAll(
    Layer.succeed(LockRepository, stores.lockRepository),
    Layer.succeed(StatusRepository, stores.statusRepository),
  )

/** A manager on the given stores, living in the current scope (one per simulated instance). */
export const managerOn = (
  stores: Stores,
  jobs: Iterable<Any>,
  options: JobManager.JobManagerOptions = {},
): Effect.Effect<JobManager.JobManager["Type"], unknown, Scope.Scope> =>
  JobManager.make(jobs, options).pipe(
    Effect.provide(JobRunner.layer.pipe(Layer.provide(Lease.layer), Layer.provideMerge(storesLayer(stores)))),
  )

export const memoryStores = makeMemoryStores
