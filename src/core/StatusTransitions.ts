/**
 * Every status the library writes, in one module: the only one that builds a JobStatus for writing
 * and calls the StatusRepository's `save` (a guard in test/core/StatusTransitions.test.ts fails when
 * another module of src/ does; the stores, the ports and the test kit implement or wrap the port).
 * The transitions, and who triggers them:
 *
 * - `running`: RUNNING. The runner, once the lease is held, before the job starts.
 * - `progress`: RUNNING with the job's content. The runner, for the job's `JobContext.progress`.
 * - `finished`: the runner, when an execution ends; `terminal` picks the state:
 *   - FINISHED, WARNING, SKIPPED or NO_ACTION_NEEDED: the job succeeded (its JobOutcome, if any);
 *   - FAILED: the job failed (its error), lost its lease ("lease lost"), or its result could not be
 *     encoded ("result could not be stored: ...");
 *   - CANCELED: stopped by a cancel ("cancelled", local or through the store), by the manager's
 *     shutdown ("shutdown"), by a pause of its job type ("paused": a continuous job), or interrupted
 *     otherwise ("interrupted").
 * - `startFailed`: FAILED ("start failed: ..."). The runner, when the lock could not be asked for or
 *   the RUNNING status was not written; the supervisor may retry the trigger.
 * - `dead`: DEAD ("no lease held for this execution ..."). The supervisor, for a PENDING execution
 *   without a lease whose last status is old.
 *
 * The result (PENDING, SUCCESS, FAILED) always follows from the state (`statusAt`). A cron slot
 * skipped because its lock was held (an overlap) is not an execution and gets no status: it is a
 * job event (JobEvents), so it never becomes a job's latest execution nor counts as a success.
 */
import { Cause, Clock, Duration, Effect, Exit, Schedule, type Schema, type Scope } from "effect"
import { encodeContent } from "../domain/Content.js"
import { type ContentError, failureMessage, StoreError } from "../domain/Errors.js"
import type { JobId, TriggerId } from "../domain/Ids.js"
import { isJobOutcome } from "../domain/JobOutcome.js"
import type { JobState, TriggerSource } from "../domain/JobState.js"
import { type JobStatus, statusAt } from "../domain/JobStatus.js"
import type { StatusRepository } from "../ports/StatusRepository.js"
import type { ResolvedJob } from "./Job.js"
import type { StopReason } from "./JobRunner.js"
import type { LeaseLoss } from "./Lease.js"

/** What every status of one execution carries. */
export interface ExecutionSubject {
  readonly job: Pick<ResolvedJob, "type" | "lockType" | "maxContentBytes" | "definition"> &
    Partial<Pick<ResolvedJob, "retries" | "continuous">>
  readonly jobId: JobId
  readonly triggerId: TriggerId
  readonly attempt: number
  readonly source: TriggerSource
  /** The instance writing the status. */
  readonly instance: string
  /** The cron slot (epoch millis) of a scheduled execution. */
  readonly scheduledAt?: number | undefined
  /** The trigger's params as stored (JSON). */
  readonly params?: unknown
}

/** How an execution ended; its final status follows from it (`terminal`). */
export type Ending =
  | { readonly _tag: "Done"; readonly exit: Exit.Exit<unknown, unknown> }
  | { readonly _tag: "Lost"; readonly loss: LeaseLoss }
  | { readonly _tag: "Stopped"; readonly reason: StopReason }

/** The final state of an execution, with its content and reason. */
export interface Terminal {
  readonly state: JobState
  readonly content: unknown
  readonly reason: string | undefined
}

/** A status of an execution, written at `now`; absent extras are left out. */
export const executionStatus = (
  now: number,
  subject: ExecutionSubject,
  state: JobState,
  extra: Partial<Pick<JobStatus, "content" | "reason" | "fencingToken">> = {},
): JobStatus =>
  statusAt(now, {
    triggerId: subject.triggerId,
    jobType: subject.job.type,
    jobId: subject.jobId,
    lockType: subject.job.lockType,
    jobState: state,
    attempt: subject.attempt,
    triggerSource: subject.source,
    instance: subject.instance,
    ...(subject.scheduledAt === undefined ? {} : { scheduledAt: new Date(subject.scheduledAt) }),
    ...(subject.params === undefined ? {} : { params: subject.params }),
    ...definedOnly(extra),
  })

/**
 * The final state of an execution that ended so: the job's outcome (FINISHED unless it returned a
 * JobOutcome) with its encoded result; FAILED when it failed, lost its lease or its result could
 * not be encoded; CANCELED when stopped or interrupted. `lastContent` (its last progress) is kept
 * when there is no result.
 */
export const terminal = (
  job: ExecutionSubject["job"],
  ending: Ending,
  lastContent: unknown,
): Effect.Effect<Terminal> => {
  switch (ending._tag) {
    case "Lost":
      return Effect.succeed({ state: "FAILED", content: lastContent, reason: "lease lost" })
    case "Stopped":
      return Effect.succeed({ state: "CANCELED", content: lastContent, reason: ending.reason })
    case "Done": {
      const exit = ending.exit
      if (Exit.isFailure(exit)) {
        if (Cause.isInterruptedOnly(exit.cause))
          return Effect.succeed({ state: "CANCELED", content: lastContent, reason: "interrupted" })
        return Effect.succeed({ state: "FAILED", content: lastContent, reason: failureMessage(exit.cause) })
      }
      const value = exit.value
      const outcome = isJobOutcome(value)
        ? { state: value.state, value: value.value, reason: value.reason }
        : { state: "FINISHED" as const, value, reason: undefined }
      return encodeContent(outcome.value, {
        schema: job.definition.result as Schema.Schema<unknown, unknown> | undefined,
        maxBytes: job.maxContentBytes,
      }).pipe(
        Effect.map((content): Terminal => ({ state: outcome.state, content, reason: outcome.reason })),
        Effect.catchAll((e: ContentError) =>
          Effect.succeed<Terminal>({
            state: "FAILED",
            content: lastContent,
            reason: `result could not be stored: ${e.message}`,
          }),
        ),
      )
    }
  }
}

/**
 * Whether a FAILED execution was its trigger's last attempt: the supervisor retries a failed trigger
 * `retries` times (continuous jobs are restarted instead), so attempt retries + 1 gets no other.
 */
export const noMoreRetries = (subject: Pick<ExecutionSubject, "job" | "attempt">, state: JobState): boolean =>
  state === "FAILED" &&
  (subject.job.retries ?? 0) > 0 &&
  subject.job.continuous?._tag !== "Some" &&
  subject.attempt > (subject.job.retries ?? 0)

/** The DEAD status of an execution whose latest status is `latest`: its fields, a new state and reason. */
export const deadStatus = (now: number, latest: JobStatus): JobStatus =>
  statusAt(now, {
    ...latest,
    jobState: "DEAD",
    reason: `no lease held for this execution (last status ${latest.jobStatusTs.toISOString()}${latest.instance ? ` from ${latest.instance}` : ""})`,
  })

/** The status writes of one execution (all by the runner). */
export interface ExecutionTransitions {
  /** RUNNING, once the lease is held. */
  readonly running: (fencingToken: number) => Effect.Effect<void, StoreError>
  /** RUNNING with the job's progress (already encoded). */
  readonly progress: (fencingToken: number, content: unknown) => Effect.Effect<void, StoreError>
  /**
   * The final status (see `terminal`), retried briefly: a status must not be lost to one store
   * hiccup. Never fails: when the store does not take it, an error is logged. Yields what was
   * written (or meant to be).
   */
  readonly finished: (fencingToken: number, ending: Ending, lastContent: unknown) => Effect.Effect<JobStatus>
  /**
   * ha-jobs' start-failure row (FAILED, "start failed: <message>"): the trigger counts as failed,
   * so the supervisor may retry it. Written within `within`, else retried in the background (in
   * `scope`) for about a minute, each attempt bounded, then given up with an error in the log.
   */
  readonly startFailed: (
    message: string,
    options: {
      readonly fencingToken?: number | undefined
      readonly within: Duration.Duration
      readonly scope: Scope.Scope
    },
  ) => Effect.Effect<void>
}

export interface StatusTransitions {
  readonly execution: (subject: ExecutionSubject) => ExecutionTransitions
  /** DEAD for a pending execution without a lease (the supervisor), stamped `now`. */
  readonly dead: (latest: JobStatus, now: number) => Effect.Effect<void, StoreError>
}

/** Terminal writes are retried briefly: a status must not be lost to one store hiccup. */
export const terminalWriteRetry = Schedule.exponential("100 millis").pipe(
  Schedule.intersect(Schedule.recurs(4)),
)

/**
 * A start failure's FAILED row, when the store did not take it within the start timeout: retried in
 * the background for about a minute (each attempt bounded), then given up with an error in the log.
 */
export const startFailureRetry = Schedule.exponential("1 second").pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.upTo("1 minute"),
)

/** The transitions, written through `statuses` (callers pass their bounded port). */
export const make = (statuses: StatusRepository["Type"]): StatusTransitions => {
  const execution = (subject: ExecutionSubject): ExecutionTransitions => {
    const write = (state: JobState, extra: Partial<Pick<JobStatus, "content" | "reason" | "fencingToken">>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        statuses.save(executionStatus(now, subject, state, extra)),
      )

    return {
      running: (fencingToken) => write("RUNNING", { fencingToken }),
      progress: (fencingToken, content) => write("RUNNING", { content, fencingToken }),
      finished: (fencingToken, ending, lastContent) =>
        Effect.gen(function* () {
          const final = yield* terminal(subject.job, ending, lastContent)
          // The last failure says so: nobody has to count attempts to know none will follow.
          const reason = noMoreRetries(subject, final.state)
            ? `${final.reason}; no more retries: ${subject.attempt - 1} of ${subject.job.retries}`
            : final.reason
          const written = executionStatus(yield* Clock.currentTimeMillis, subject, final.state, {
            fencingToken,
            content: final.content,
            reason,
          })
          yield* statuses.save(written).pipe(
            // A defect in one attempt (a throw in row mapping) is retried like a store error.
            Effect.catchAllDefect((defect) =>
              Effect.fail(StoreError.of("save", failureMessage(Cause.die(defect)))),
            ),
            Effect.retry(terminalWriteRetry),
            Effect.catchAllCause((cause) =>
              Effect.logError("could not write the final status").pipe(
                Effect.annotateLogs({ error: failureMessage(cause) }),
              ),
            ),
          )
          return written
        }),
      startFailed: (message, { fencingToken, within, scope }) =>
        Effect.gen(function* () {
          const row = write("FAILED", { reason: `start failed: ${message}`, fencingToken })
          const now =
            Duration.toMillis(within) > 0
              ? yield* Effect.exit(Effect.timeout(Effect.interruptible(row), within))
              : undefined
          if (now !== undefined && Exit.isSuccess(now)) return
          yield* row.pipe(
            Effect.retry(startFailureRetry),
            Effect.catchAllCause((cause) =>
              Effect.logError("could not record a failed start; the store did not take it").pipe(
                Effect.annotateLogs({
                  jobType: subject.job.type,
                  jobId: subject.jobId,
                  error: failureMessage(cause),
                }),
              ),
            ),
            Effect.forkIn(scope),
          )
        }),
    }
  }

  return {
    execution,
    dead: (latest, now) => statuses.save(deadStatus(now, latest)),
  }
}

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
