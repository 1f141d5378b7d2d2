import { type Effect, Either, ParseResult, Schema } from "effect"
import { DefaultMaxContentBytes } from "../domain/Content.js"
import { InvalidJobDefinition } from "../domain/Errors.js"
import type { JobOutcome } from "../domain/JobOutcome.js"
import { type LeaseOptions, type LeaseTiming, makeLeaseTiming } from "../domain/LeaseTiming.js"
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
  /** Encodes the result into the status content. Without it the result must be plain JSON. */
  readonly result?: Schema.Schema<A, any, never> | undefined
  readonly lease?: LeaseOptions | undefined
  /** Upper bound of status content, in UTF-8 bytes. Defaults to 64 KiB. */
  readonly maxContentBytes?: number | undefined
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
  readonly definition: Any<any>
}

/** Checks names and lease timing; the message names the job and the problem. */
export const resolve = (job: Any<any>): Either.Either<ResolvedJob, InvalidJobDefinition> => {
  const fail = (message: string) =>
    Either.left(
      new InvalidJobDefinition({ jobType: String(job.type), message: `job "${job.type}": ${message}` }),
    )
  const type = Schema.decodeUnknownEither(JobType)(job.type)
  if (Either.isLeft(type)) return fail(ParseResult.TreeFormatter.formatErrorSync(type.left))
  const lockType = Schema.decodeUnknownEither(LockType)(job.lockType ?? job.type)
  if (Either.isLeft(lockType)) return fail(ParseResult.TreeFormatter.formatErrorSync(lockType.left))
  const timing = makeLeaseTiming(job.lease)
  if (Either.isLeft(timing)) return fail(timing.left)
  const maxContentBytes = job.maxContentBytes ?? DefaultMaxContentBytes
  if (!Number.isInteger(maxContentBytes) || maxContentBytes <= 0)
    return fail(`maxContentBytes must be a positive integer, got ${maxContentBytes}`)
  return Either.right({
    type: type.right,
    lockType: lockType.right,
    timing: timing.right,
    maxContentBytes,
    definition: job,
  })
}
