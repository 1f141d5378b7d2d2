/**
 * src/core (docs/architecture.md). This module: deadlines and overruns — which job types have not
 * succeeded within their `expect.successWithin` (overdue) and which executions run past their
 * `maxDuration` (overrunning), as gauges, for `/health` and the dashboard.
 *
 * Checked every `checkEvery` (default 30 s) on every instance, from the store (the last success
 * may be another instance's), only for job types that declare an expectation: a job without one
 * costs nothing. The gauges then agree on every instance, so an alert rule can take any of them.
 */
import { Clock, Context, Duration, Effect, Layer, Metric, Option, Schedule } from "effect"
import { timestampOf } from "../domain/Ids.js"
import type { JobStatus } from "../domain/JobStatus.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { JobType } from "../domain/Names.js"
import type { ResolvedJob } from "./Job.js"
import { JobManager } from "./JobManager.js"

export interface Overrun {
  readonly jobId: string
  readonly startedAt: Date
  /** How long it had run at the check. */
  readonly runningFor: Duration.Duration
}

/** Where one job type stands against what its definition expects. */
export interface JobExpectation {
  readonly jobType: JobType
  readonly successWithin: Option.Option<Duration.Duration>
  readonly maxDuration: Option.Option<Duration.Duration>
  /** When its newest successful execution ended, among the newest `searchDepth` executions. */
  readonly lastSuccessAt: Option.Option<Date>
  /** Since when it is overdue: the last success (or this instance's start) plus `successWithin`. */
  readonly overdueSince: Option.Option<Date>
  readonly overrunning: ReadonlyArray<Overrun>
}

export interface ExpectationsOptions {
  /** How often the store is read. Defaults to 30 seconds. */
  readonly checkEvery?: Duration.DurationInput | undefined
}

/** Executions looked at for the last success (one page of the list): an older one counts as none. */
export const searchDepth = 200

export class Expectations extends Context.Tag("effect-ha-jobs/Expectations")<
  Expectations,
  {
    /** The last check's answer (empty before the first one), without reading the store. */
    readonly current: Effect.Effect<ReadonlyArray<JobExpectation>>
    /** Checks now (and updates the gauges). */
    readonly refresh: Effect.Effect<ReadonlyArray<JobExpectation>>
  }
>() {}

const declares = (job: ResolvedJob) => Option.isSome(job.successWithin) || Option.isSome(job.maxDuration)

/** One job type's standing, from its newest executions (newest first) at `now`. */
export const assess = (
  job: ResolvedJob,
  executions: ReadonlyArray<JobStatus>,
  now: number,
  since: number,
): JobExpectation => {
  const lastSuccess = executions.find((s) => s.jobResult === "SUCCESS")
  const lastSuccessAt = Option.fromNullable(lastSuccess?.jobStatusTs)
  const reference = lastSuccess?.jobStatusTs.getTime() ?? since
  const overdueSince = Option.flatMap(job.successWithin, (within) => {
    const at = reference + Duration.toMillis(within)
    return now > at ? Option.some(new Date(at)) : Option.none()
  })
  const overrunning = Option.match(job.maxDuration, {
    onNone: () => [],
    onSome: (max) =>
      executions.flatMap((s): Array<Overrun> => {
        const startedAt = timestampOf(s.jobId)
        return s.jobResult === "PENDING" && now - startedAt > Duration.toMillis(max)
          ? [{ jobId: s.jobId, startedAt: new Date(startedAt), runningFor: Duration.millis(now - startedAt) }]
          : []
      }),
  })
  return {
    jobType: job.type,
    successWithin: job.successWithin,
    maxDuration: job.maxDuration,
    lastSuccessAt,
    overdueSince,
    overrunning,
  }
}

export const make = (options: ExpectationsOptions = {}) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const since = yield* Clock.currentTimeMillis
    const jobs = (yield* Effect.forEach(manager.jobTypes, (t) => manager.job(t)).pipe(Effect.orDie)).filter(
      declares,
    )
    let current: ReadonlyArray<JobExpectation> = []

    const gauges = (e: JobExpectation) =>
      Effect.all([
        Metric.set(
          Metric.tagged(JobMetrics.lastSuccessTimestamp, "job_type", e.jobType),
          Option.match(e.lastSuccessAt, { onNone: () => 0, onSome: (d) => d.getTime() / 1000 }),
        ),
        Metric.set(
          Metric.tagged(JobMetrics.overdue, "job_type", e.jobType),
          Option.isSome(e.overdueSince) ? 1 : 0,
        ),
        Metric.set(Metric.tagged(JobMetrics.overrunning, "job_type", e.jobType), e.overrunning.length),
      ])

    const refresh = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const next = yield* Effect.forEach(jobs, (job) =>
        manager.list(job.type, { limit: searchDepth }).pipe(
          Effect.map((executions) => assess(job, executions, now, since)),
          // An unreachable store keeps what the last check knew of this job type.
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logWarning("checking a job's expectations failed").pipe(
                Effect.annotateLogs({ jobType: job.type, error: error.message }),
              ),
              current.find((e) => e.jobType === job.type),
            ),
          ),
        ),
      )
      const known = next.filter((e): e is JobExpectation => e !== undefined)
      yield* Effect.forEach(known, gauges, { discard: true })
      current = known
      return known
    })

    // No job declares anything: no loop, no reads (and a TestClock jumping days stays cheap).
    if (jobs.length > 0)
      yield* Effect.forkScoped(
        Effect.repeat(refresh, Schedule.spaced(Duration.decode(options.checkEvery ?? "30 seconds"))),
      )
    return Expectations.of({ current: Effect.sync(() => current), refresh })
  })

export const layer = (options?: ExpectationsOptions): Layer.Layer<Expectations, never, JobManager> =>
  Layer.scoped(Expectations, make(options))
