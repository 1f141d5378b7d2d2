import { Layer } from "effect"
import * as Expectations from "./core/Expectations.js"
import type { Any, Requirements } from "./core/Job.js"
import * as JobManager from "./core/JobManager.js"
import * as Membership from "./core/Membership.js"
import * as Scheduler from "./core/Scheduler.js"
import type { InvalidJobDefinition } from "./domain/Errors.js"
import * as Supervisor from "./jobs/Supervisor.js"
import type { LockRepository } from "./ports/LockRepository.js"
import type { StatusRepository } from "./ports/StatusRepository.js"
import * as StoreProbe from "./ports/StoreProbe.js"

export interface HaJobsOptions extends JobManager.JobManagerOptions {
  readonly scheduler?: Scheduler.SchedulerOptions | undefined
  /** How deadlines (`expect`) and overruns (`maxDuration`) are checked. */
  readonly expectations?: Expectations.ExpectationsOptions | undefined
  /** The instance's heartbeat in the store (who is alive: GET /instances, the dashboard). */
  readonly membership?: Membership.MembershipOptions | undefined
  /** The supervisor job (dead executions, retries); `false` leaves it out. */
  readonly supervisor?: Supervisor.SupervisorOptions | false | undefined
}

/**
 * Everything an instance runs: the manager with your jobs and the supervisor, and the scheduler
 * that fires their cron slots. Provide a store layer (MemoryStore.layer, SqliteStore.layer(...), ...) for the repositories.
 * It also outputs the store's probe, which `/health` runs, the deadline and overrun checks
 * (Expectations), which `/health` and `/metrics` show, and the instance's heartbeat (Membership),
 * which `GET /instances` and the dashboard show.
 */
export const layer = <const Jobs extends Iterable<Any<any>>>(
  jobs: Jobs,
  options: HaJobsOptions = {},
): Layer.Layer<
  | JobManager.JobManager
  | Scheduler.Scheduler
  | StoreProbe.StoreProbe
  | Expectations.Expectations
  | Membership.Membership,
  InvalidJobDefinition,
  LockRepository | StatusRepository | Exclude<Requirements<Jobs>, JobManager.Provided>
> => {
  const all: Array<Any<any>> = [...jobs]
  if (options.supervisor !== false)
    all.push(Supervisor.job(Supervisor.withCompat(options.supervisor ?? {}, options.compat ?? "none")))
  const manager = JobManager.layerWithRunner(all, options) as Layer.Layer<
    JobManager.JobManager,
    InvalidJobDefinition,
    LockRepository | StatusRepository | Exclude<Requirements<Jobs>, JobManager.Provided>
  >
  // The scheduler reads the live instances from Membership (each job type's preferred firer).
  return Layer.mergeAll(Scheduler.layer(options.scheduler), Expectations.layer(options.expectations)).pipe(
    Layer.provideMerge(Membership.layer(options.membership)),
    Layer.provideMerge(manager),
    Layer.merge(StoreProbe.layer),
  )
}
