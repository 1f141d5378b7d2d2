/**
 * src/jobs: built-in jobs, defined with Job.make like a user's job, so they get the same lease,
 * statuses and API. May import: `domain`, `ports`, `core`. (docs/architecture.md)
 *
 * This module: the supervisor — retries failed triggers, marks executions whose holder died DEAD.
 */
import { Chunk, Clock, Duration, Effect, Metric, Option, Ref, Schedule, Schema } from "effect"
import { nextShare } from "../core/InTurn.js"
import * as Job from "../core/Job.js"
import { JobContext } from "../core/JobContext.js"
import { JobManager } from "../core/JobManager.js"
import * as StatusTransitions from "../core/StatusTransitions.js"
import type { CompatMode } from "../domain/Compat.js"
import type { JobId } from "../domain/Ids.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { LeaseOptions } from "../domain/LeaseTiming.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { LockType } from "../domain/Names.js"
import { type LockHolder, LockRepository } from "../ports/LockRepository.js"
import { StatusRepository } from "../ports/StatusRepository.js"

export const SupervisorJobType = "supervisor"

export interface SupervisorOptions {
  /** When the supervisor runs. Defaults to every 15 seconds (`DefaultCron`). */
  readonly cron?: string | undefined
  /**
   * A PENDING execution without a lease becomes DEAD once its last status is this old. Defaults to
   * the job's lease ttl (an execution that renews is never that old without a lease in the store).
   */
  readonly deadAfter?: Duration.DurationInput | undefined
  /** Page size of the pending-execution scan. Defaults to 100. */
  readonly pageSize?: number | undefined
  /** Executions per job type inspected for retries. Defaults to 100. */
  readonly retryWindow?: number | undefined
  /** A failed trigger older than this is no longer retried. Defaults to 1 day. */
  readonly retryHorizon?: Duration.DurationInput | undefined
  /** The supervisor's own lease; a short one lets another instance take supervision over sooner. */
  readonly lease?: LeaseOptions | undefined
  /**
   * Job types one run checks at most; with more, each run takes the next ones in turn, so a run's
   * store reads stay bounded (about 2 per job type) and every job type is checked once in
   * ceil(job types / this) runs. Defaults to 1,000.
   */
  readonly jobTypesPerRun?: number | undefined
}

/** Where the next supervisor run starts in the list of job types; kept by the instance across runs. */
export type Turn = Ref.Ref<number>

export const DefaultJobTypesPerRun = 1_000

/**
 * Every 15 seconds: a dead execution is marked DEAD within its lease ttl plus one period (measured
 * in BENCHMARKS "Failover at the defaults"), for about 2 store reads per job type per run.
 */
export const DefaultCron = "*/15 * * * * ?"

/** ha-jobs' values (its README: every minute; DEAD after 5 minutes), where `options` leaves them unset. */
export const withCompat = (options: SupervisorOptions, mode: CompatMode): SupervisorOptions =>
  mode === "ha-jobs"
    ? { ...options, cron: options.cron ?? "0 * * * * ?", deadAfter: options.deadAfter ?? "5 minutes" }
    : options

/** Job types a supervisor run checks at once (each is 1–2 store reads, more when it acts). */
const TypesAtOnce = 8

/** What one supervisor run did; stored as its status content. */
export class SupervisionReport extends Schema.Class<SupervisionReport>("SupervisionReport")({
  pendingChecked: Schema.Number,
  /** Job types this run checked (all of them unless there are more than `jobTypesPerRun`). */
  jobTypesChecked: Schema.optional(Schema.Number),
  markedDead: Schema.Array(Schema.String),
  retried: Schema.Array(Schema.String),
}) {}

/**
 * Marks dead executions DEAD and retries failed triggers. Every pending execution of every job type
 * is checked, page by page (ha-jobs looked at the newest ten only).
 */
export const supervise = (options: SupervisorOptions = {}, turn: Turn = Ref.unsafeMake(0)) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const locks = yield* LockRepository
    const statuses = yield* StatusRepository
    const transitions = StatusTransitions.make(statuses)
    const self = yield* Effect.serviceOption(JobContext)
    const deadAfter =
      options.deadAfter === undefined ? undefined : Duration.toMillis(Duration.decode(options.deadAfter))
    const horizon = Duration.toMillis(Duration.decode(options.retryHorizon ?? "1 day"))
    const pageSize = options.pageSize ?? 100
    const now = yield* Clock.currentTimeMillis
    const holders = new Map<LockType, Option.Option<LockHolder>>()
    const holderOf = (lockType: LockType) =>
      holders.has(lockType)
        ? Effect.succeed(holders.get(lockType)!)
        : Effect.tap(locks.holder(lockType), (h) => Effect.sync(() => holders.set(lockType, h)))

    let pendingChecked = 0
    const markedDead: Array<string> = []
    const retried: Array<string> = []

    const checkType = (jobType: (typeof manager.jobTypes)[number]) =>
      Effect.gen(function* () {
        const job = yield* manager.job(jobType)
        const deadAfterMs = deadAfter ?? Duration.toMillis(job.timing.ttl)
        // Phase 1: dead executions. The store's lease is the truth; the age only delays the verdict.
        let before: JobId | undefined
        while (true) {
          const page = yield* statuses.listPending(jobType, { limit: pageSize, before })
          for (const s of page) {
            pendingChecked++
            if (Option.isSome(self) && s.jobId === self.value.jobId) continue
            const holder = yield* holderOf(s.lockType)
            if (Option.isSome(holder) && holder.value.jobId === s.jobId) continue
            if (now - s.jobStatusTs.getTime() < deadAfterMs) continue
            // Re-read after the lease check: an execution writes its final status before releasing.
            const latest = yield* statuses.get(jobType, s.jobId)
            if (Option.isNone(latest) || latest.value.jobResult !== "PENDING") continue
            yield* transitions.dead(latest.value, now)
            markedDead.push(`${jobType}/${s.jobId}`)
            yield* Metric.increment(Metric.tagged(JobMetrics.dead, "job_type", jobType))
          }
          if (page.length < pageSize) break
          before = page[page.length - 1]!.jobId
        }

        // Phase 2: retries, per trigger, within the recent executions of the job type.
        if (job.retries === 0 || Option.isSome(job.continuous)) return // continuous jobs are restarted by the instances
        const recent = yield* statuses.list(jobType, { limit: options.retryWindow ?? 100 })
        const byTrigger = new Map<string, Array<JobStatus>>()
        for (const s of recent) byTrigger.set(s.triggerId, [...(byTrigger.get(s.triggerId) ?? []), s])
        for (const [triggerId, executions] of byTrigger) {
          if (executions.some((s) => s.jobResult !== "FAILED")) continue
          const last = executions[0]! // newest job id first
          if (last.jobState === "CANCELED" && last.reason === "cancelled") continue // a user's cancel
          const attempts = Math.max(...executions.map((s) => s.attempt))
          if (attempts > job.retries) continue
          const failedAt = last.jobStatusTs.getTime()
          if (now - failedAt > horizon) continue
          const delay = yield* nthDelay(job.retryBackoff, attempts)
          if (now < failedAt + delay) continue
          // The trigger's params as stored with its statuses: a retry runs what the operator asked for.
          const result = yield* manager
            .retrigger(jobType, triggerId, attempts + 1, { params: last.params })
            .pipe(
              // Params stored under an older schema that no longer decode: this trigger is not retried;
              // the others are.
              Effect.catchTag("InvalidInput", (e) =>
                Effect.as(
                  Effect.logWarning("a failed trigger is not retried: its params no longer fit the job").pipe(
                    Effect.annotateLogs({ jobType, triggerId, error: e.message }),
                  ),
                  undefined,
                ),
              ),
            )
          if (result?._tag === "Started") {
            retried.push(`${jobType}/${triggerId}#${attempts + 1}`)
            yield* Metric.increment(Metric.tagged(JobMetrics.retries, "job_type", jobType))
          }
        }
      })
    // Job types are independent: several at once, so a tick over thousands of them on a networked
    // store takes round trips / TypesAtOnce, not one round trip after another.
    const perRun = Math.max(1, Math.floor(options.jobTypesPerRun ?? DefaultJobTypesPerRun))
    const types = yield* Ref.modify(turn, (next) => nextShare(manager.jobTypes, perRun, next))
    yield* Effect.forEach(types, checkType, { concurrency: TypesAtOnce, discard: true })
    markedDead.sort()
    retried.sort()
    if (markedDead.length > 0 || retried.length > 0)
      yield* Effect.logInfo(`supervisor: ${markedDead.length} marked DEAD, ${retried.length} retried`)
    return new SupervisionReport({ pendingChecked, jobTypesChecked: types.length, markedDead, retried })
  })

/** The n-th delay (1-based) of a backoff schedule. */
const nthDelay = (schedule: Schedule.Schedule<unknown, unknown>, n: number) =>
  Effect.map(
    Schedule.run(
      Schedule.delays(schedule),
      0,
      Array.from({ length: n }, () => undefined),
    ),
    (delays) => Option.match(Chunk.last(delays), { onNone: () => 0, onSome: Duration.toMillis }),
  )

/** The supervisor as a singleton job on lock type `supervisor`, scheduled by its cron. */
export const job = (options: SupervisorOptions = {}) =>
  Job.make({
    type: SupervisorJobType,
    lockType: SupervisorJobType,
    cron: options.cron ?? DefaultCron,
    retries: 0,
    catchUp: "skip",
    lease: options.lease,
    result: SupervisionReport,
    run: supervise(options, Ref.unsafeMake(0)),
  })
