import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Effect, Layer, type Scope } from "effect"
import type { Any } from "../../src/core/Job.js"
import * as JobManager from "../../src/core/JobManager.js"
import * as JobRunner from "../../src/core/JobRunner.js"
import * as Lease from "../../src/core/Lease.js"
import * as Membership from "../../src/core/Membership.js"
import * as Scheduler from "../../src/core/Scheduler.js"
import * as Supervisor from "../../src/jobs/Supervisor.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as SqliteStore from "../../src/stores/sqlite/SqliteStore.js"
import type { Stores } from "../../src/testing/Stores.js"
import * as StoresModule from "../../src/testing/Stores.js"

export type { Stores } from "../../src/testing/Stores.js"
export const storesLayer = (stores: Stores) => StoresModule.layer(stores)

/** A manager on the given stores, living in the current scope (one per simulated instance). */
export const managerOn = (
  stores: Stores,
  jobs: Iterable<Any<JobManager.Provided>>,
  options: JobManager.JobManagerOptions = {},
): Effect.Effect<JobManager.JobManager["Type"], unknown, Scope.Scope> =>
  JobManager.make(jobs as Iterable<Any>, options).pipe(
    Effect.provide(JobRunner.layer.pipe(Layer.provide(Lease.layer), Layer.provideMerge(storesLayer(stores)))),
  )

export const memoryStores = MemoryStore.make

/**
 * A SQLite store on a fresh file, removed with the scope. Like the memory store it judges expiry by
 * Effect's clock, so TestClock drives it.
 */
export const sqliteFileStores = (name: string): Effect.Effect<Stores, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ha-jobs-${name}-`))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    const context = yield* Layer.build(SqliteStore.layer({ filename: path.join(dir, `${name}.db`) }))
    return {
      lockRepository: Context.get(context, LockRepository),
      statusRepository: Context.get(context, StatusRepository),
    }
  })

/** A manager plus its scheduler on the given stores: one simulated instance. */
export const nodeOn = (
  stores: Stores,
  jobs: Iterable<Any<JobManager.Provided>>,
  options: JobManager.JobManagerOptions & {
    readonly scheduler?: Scheduler.SchedulerOptions
    /** Heartbeats (the live set the scheduler picks preferred firers from). Default: off. */
    readonly membership?: Membership.MembershipOptions
    /** Adds the supervisor job with these options. */
    readonly supervisor?: Supervisor.SupervisorOptions
  } = {},
) =>
  Effect.gen(function* () {
    const all = options.supervisor ? [...jobs, Supervisor.job(options.supervisor)] : [...jobs]
    const manager = yield* managerOn(stores, all, options)
    const membership = yield* Membership.make(options.membership ?? { enabled: false }).pipe(
      Effect.provideService(JobManager.JobManager, manager),
      Effect.provide(storesLayer(stores)),
    )
    const scheduler = yield* Scheduler.make(options.scheduler).pipe(
      Effect.provideService(JobManager.JobManager, manager),
      Effect.provideService(Membership.Membership, membership),
      Effect.provide(storesLayer(stores)),
    )
    return { manager, scheduler }
  })

/** A clock ahead of (or behind) the test clock: the test kit's, re-exported for older tests. */
export { skewedClock } from "../../src/testing/TestCluster.js"
