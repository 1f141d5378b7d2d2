import { Duration, type Effect, Either, Option, ParseResult, Schedule, Schema } from "effect"
import type { CompatMode } from "../domain/Compat.js"
import { DefaultMaxContentBytes } from "../domain/Content.js"
import { type CronSchedule, DefaultTimeZone, parseCron } from "../domain/CronSchedule.js"
import { InvalidJobDefinition } from "../domain/Errors.js"
import type { JobOutcome } from "../domain/JobOutcome.js"
import {
  defaultLeaseTtl,
  type LeaseOptions,
  type LeaseTiming,
  makeLeaseTiming,
} from "../domain/LeaseTiming.js"
import { JobType, LockType } from "../domain/Names.js"
import type { JobContext } from "./JobContext.js"

/**
 * A job definition: an Effect program and how to run it. Validated when a JobManager starts with it
 * (names, lease timing), so an invalid definition is a typed error, never a silently skipped job.
 */
export interface Job<A = unknown, E = unknown, R = never> {
  /** The job type's name. */
  readonly type: string
  /** The lock type; job types sharing one never run at the same time. Defaults to `type`. */
  readonly lockType?: string | undefined
  /** The program. A continuous job simply never ends; it holds its lease until stopped. */
  readonly run: Effect.Effect<A | JobOutcome<A>, E, JobContext | R>
  /**
   * The parameters a manual run may be given (`trigger(type, { params })`, `POST /jobs/:jobType` with
   * `{"params": ...}`), checked against this schema; read them with `JobParams.get(schema)`. Its
   * encoded side must be JSON. None: the job refuses params.
   */
  readonly params?: Schema.Schema<any, any, never> | undefined
  /** Encodes the result into the status content. Without it the result must be plain JSON. */
  readonly result?: Schema.Schema<A, any, never> | undefined
  readonly lease?: LeaseOptions | undefined
  /** Upper bound of status content, in UTF-8 bytes. Defaults to 64 KiB. */
  readonly maxContentBytes?: number | undefined
  /** Quartz (6-7 fields, seconds first) or Unix (5 fields) cron expression. */
  readonly cron?: string | undefined
  /** IANA time zone for `cron` and its catch-up. Defaults to UTC. */
  readonly timeZone?: string | undefined
  /**
   * After downtime: "run-once" (default) runs the job at start if a slot was missed and the next
   * regular slot is more than `acceptableDelay` away; "skip" waits for the next slot.
   */
  readonly catchUp?: "run-once" | "skip" | undefined
  /** Defaults to 30 minutes (ha-jobs' acceptableDelayAfterRestart). */
  readonly acceptableDelay?: Duration.DurationInput | undefined
  /** How often a failed trigger is run again (same trigger id, new job id). Defaults to 1, as in ha-jobs. */
  readonly retries?: number | undefined
  /** Delay before each retry; its n-th delay is waited before retry n. Defaults to exponential from 1 minute. */
  readonly retryBackoff?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * What the operator expects: `successWithin` — no successful execution for that long makes the
   * job type *overdue* (a gauge, `/health`, the dashboard; a dead man's switch inside the library).
   * Counted from the last success, or from the instance's start when none is known.
   */
  readonly expect?: { readonly successWithin: Duration.DurationInput } | undefined
  /**
   * An execution running longer than this is *overrunning* (a gauge, `/health`, the dashboard). It is
   * not stopped: cancel it, or make the job itself give up.
   */
  readonly maxDuration?: Duration.DurationInput | undefined
  /**
   * At most one progress status (`JobContext.progress`) written per this interval; the newest
   * content of the calls in between is written when it ends. Unset: every call writes.
   */
  readonly progressEvery?: Duration.DurationInput | undefined
  /**
   * Keep one execution running somewhere in the cluster (a queue consumer): every instance checks
   * the lock every `watchEvery` (default 500 ms) and starts the job when nobody holds it. A user's cancel sticks
   * until the next manual trigger; after a failure it waits `restartDelay`. Not retried by the
   * supervisor (the instances restart it).
   */
  readonly continuous?:
    | { readonly watchEvery?: Duration.DurationInput; readonly restartDelay?: Duration.DurationInput }
    | boolean
    | undefined
}

export const make = <A, E, R>(job: Job<A, E, R>): Job<A, E, Exclude<R, JobContext>> =>
  job as Job<A, E, Exclude<R, JobContext>>

/** Any job needing services `R` (a result schema makes `A` invariant, hence the `never` case). */
export type Any<R = never> = Job<any, any, R> | Job<never, any, R>

/** The services a list of jobs needs. */
export type Requirements<Jobs extends Iterable<Any<any>>> =
  Jobs extends Iterable<infer J> ? (J extends Job<any, any, infer R> ? R : never) : never

/** A job definition after validation, as the runner uses it. */
export interface ResolvedJob {
  readonly type: JobType
  readonly lockType: LockType
  readonly timing: LeaseTiming
  readonly maxContentBytes: number
  readonly cron: Option.Option<CronSchedule>
  readonly catchUp: "run-once" | "skip"
  readonly acceptableDelay: Duration.Duration
  readonly retries: number
  readonly retryBackoff: Schedule.Schedule<unknown, unknown>
  readonly continuous: Option.Option<{
    readonly watchEvery: Duration.Duration
    readonly restartDelay: Duration.Duration
  }>
  /** `expect.successWithin`, when set. */
  readonly successWithin: Option.Option<Duration.Duration>
  readonly maxDuration: Option.Option<Duration.Duration>
  readonly progressEvery: Option.Option<Duration.Duration>
  readonly definition: Any<any>
}

export const DefaultRetries = 1
/**
 * A continuous job's lock is read this often on every instance (2 reads per second each): after a
 * crash it runs again within the lease ttl plus this.
 */
export const DefaultWatchEvery = Duration.millis(500)
/** A continuous job that failed by itself starts again this much later. */
export const DefaultRestartDelay = Duration.seconds(5)
export const DefaultAcceptableDelay = Duration.minutes(30)
export const DefaultRetryBackoff: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 minute")

/** Checks names and lease timing; the message names the job and the problem. */
export const resolve = (
  job: Any<any>,
  compat: CompatMode = "none",
): Either.Either<ResolvedJob, InvalidJobDefinition> => {
  const fail = (message: string) =>
    Either.left(
      new InvalidJobDefinition({ jobType: String(job.type), message: `job "${job.type}": ${message}` }),
    )
  const type = Schema.decodeUnknownEither(JobType)(job.type)
  if (Either.isLeft(type)) return fail(ParseResult.TreeFormatter.formatErrorSync(type.left))
  const lockType = Schema.decodeUnknownEither(LockType)(job.lockType ?? job.type)
  if (Either.isLeft(lockType)) return fail(ParseResult.TreeFormatter.formatErrorSync(lockType.left))
  const timing = makeLeaseTiming(job.lease, defaultLeaseTtl(compat))
  if (Either.isLeft(timing)) return fail(timing.left)
  const maxContentBytes = job.maxContentBytes ?? DefaultMaxContentBytes
  if (!Number.isInteger(maxContentBytes) || maxContentBytes <= 0)
    return fail(`maxContentBytes must be a positive integer, got ${maxContentBytes}`)
  let cron = Option.none<CronSchedule>()
  if (job.cron !== undefined) {
    const parsed = parseCron(job.cron, job.timeZone ?? DefaultTimeZone)
    if (Either.isLeft(parsed)) return fail(parsed.left)
    cron = Option.some(parsed.right)
  } else if (job.timeZone !== undefined) return fail("timeZone is set but there is no cron expression")
  const retries = job.retries ?? DefaultRetries
  if (!Number.isInteger(retries) || retries < 0 || retries > 100)
    return fail(`retries must be an integer between 0 and 100, got ${retries}`)
  const acceptableDelay = Duration.decodeUnknown(job.acceptableDelay ?? DefaultAcceptableDelay)
  if (Option.isNone(acceptableDelay))
    return fail(`acceptableDelay "${String(job.acceptableDelay)}" is not a duration`)
  const positive = (what: string, input: Duration.DurationInput | undefined) => {
    if (input === undefined) return Either.right(Option.none<Duration.Duration>())
    const d = Duration.decodeUnknown(input)
    return Option.isSome(d) && Duration.toMillis(d.value) > 0
      ? Either.right(Option.some(d.value))
      : Either.left(`${what} "${String(input)}" must be a positive duration`)
  }
  const successWithin = positive("expect.successWithin", job.expect?.successWithin)
  if (Either.isLeft(successWithin)) return fail(successWithin.left)
  const maxDuration = positive("maxDuration", job.maxDuration)
  if (Either.isLeft(maxDuration)) return fail(maxDuration.left)
  const progressEvery = positive("progressEvery", job.progressEvery)
  if (Either.isLeft(progressEvery)) return fail(progressEvery.left)
  let continuous = Option.none<{ watchEvery: Duration.Duration; restartDelay: Duration.Duration }>()
  if (job.continuous) {
    const c = job.continuous === true ? {} : job.continuous
    const watchEvery = Duration.decodeUnknown(c.watchEvery ?? DefaultWatchEvery)
    const restartDelay = Duration.decodeUnknown(c.restartDelay ?? DefaultRestartDelay)
    if (Option.isNone(watchEvery) || Duration.toMillis(watchEvery.value) <= 0)
      return fail("continuous.watchEvery must be a positive duration")
    if (Option.isNone(restartDelay)) return fail("continuous.restartDelay must be a duration")
    if (job.cron !== undefined) return fail("a continuous job cannot also have a cron expression")
    continuous = Option.some({ watchEvery: watchEvery.value, restartDelay: restartDelay.value })
  }
  return Either.right({
    type: type.right,
    lockType: lockType.right,
    timing: timing.right,
    maxContentBytes,
    cron,
    catchUp: job.catchUp ?? "run-once",
    acceptableDelay: acceptableDelay.value,
    retries,
    retryBackoff: job.retryBackoff ?? DefaultRetryBackoff,
    continuous,
    successWithin: successWithin.right,
    maxDuration: maxDuration.right,
    progressEvery: progressEvery.right,
    definition: job,
  })
}
