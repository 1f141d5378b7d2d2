import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  Ref,
  Schedule,
  type Schema,
  Scope,
} from "effect"
import { encodeContent } from "../domain/Content.js"
import { type ContentError, failureMessage, StoreError } from "../domain/Errors.js"
import { type JobId, makeJobId, type TriggerId } from "../domain/Ids.js"
import { isJobOutcome } from "../domain/JobOutcome.js"
import type { JobState, TriggerSource } from "../domain/JobState.js"
import { type JobStatus, statusAt } from "../domain/JobStatus.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { JobType, LockType } from "../domain/Names.js"
import type { LockHolder } from "../ports/LockRepository.js"
import { StatusRepository } from "../ports/StatusRepository.js"
import { boundStatuses } from "../ports/StoreBounds.js"
import type { ResolvedJob } from "./Job.js"
import { JobContext } from "./JobContext.js"
import { Lease, type LeaseLoss, monotonicMillis } from "./Lease.js"

export interface StartRequest {
  readonly triggerId: TriggerId
  readonly attempt: number
  readonly source: TriggerSource
  readonly scheduledAt?: number | undefined
  /** Written into every status, so one can tell which instance ran what. */
  readonly instance: string
  /** The execution's id; a fresh one when absent (the manager picks it to guard the lock type locally). */
  readonly jobId?: JobId | undefined
  /**
   * How long the start (lock acquisition and the RUNNING status) may take before it counts as failed
   * (ha-jobs' jobStartTimeout). Defaults to 10 seconds.
   */
  readonly startTimeout?: Duration.Duration | undefined
}

export const DefaultStartTimeout: Duration.Duration = Duration.seconds(10)

export type StopReason = "cancelled" | "shutdown"

/** One execution that holds its lease and runs on this instance. */
export interface Execution {
  readonly jobType: JobType
  readonly lockType: LockType
  readonly jobId: JobId
  readonly triggerId: TriggerId
  readonly fencingToken: number
  /** Interrupts the job and records why (CANCELED with this reason). */
  readonly stop: (reason: StopReason) => Effect.Effect<void>
  /** Waits for the execution to end; yields its final status. */
  readonly await: Effect.Effect<JobStatus>
}

export type StartResult =
  | { readonly _tag: "Started"; readonly execution: Execution }
  | { readonly _tag: "Locked"; readonly holder: LockHolder }
  | { readonly _tag: "Failed"; readonly message: string; readonly storeUnavailable: boolean }

/** Runs one execution under a lease, racing the job against the lease's loss, and writes its lifecycle. */
export class JobRunner extends Context.Tag("effect-ha-jobs/JobRunner")<
  JobRunner,
  {
    /**
     * Acquires the lease and writes RUNNING; on success the execution runs in a fiber forked into
     * `scope`, with `services` provided to the job.
     */
    readonly start: (
      job: ResolvedJob,
      request: StartRequest,
      services: Context.Context<never>,
      scope: Scope.Scope,
    ) => Effect.Effect<StartResult>
  }
>() {}

type Ending =
  | { readonly _tag: "Done"; readonly exit: Exit.Exit<unknown, unknown> }
  | { readonly _tag: "Lost"; readonly loss: LeaseLoss }
  | { readonly _tag: "Stopped"; readonly reason: StopReason }

/** Terminal writes are retried briefly: a status must not be lost to one store hiccup. */
const terminalWriteRetry = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)))

/**
 * A start failure's FAILED row, when the store did not take it within the start timeout: retried in
 * the background for about a minute (each attempt bounded), then given up with an error in the log.
 */
const startFailureRetry = Schedule.exponential("1 second").pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.upTo("1 minute"),
)

export const make = Effect.gen(function* () {
  const leases = yield* Lease
  const statuses = boundStatuses(yield* StatusRepository)

  const start = (
    job: ResolvedJob,
    request: StartRequest,
    services: Context.Context<never>,
    scope: Scope.Scope,
  ): Effect.Effect<StartResult> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* (): Effect.fn.Return<StartResult> {
        const jobId = request.jobId ?? (yield* makeJobId)
        const timeout = request.startTimeout ?? DefaultStartTimeout
        const startedAt = yield* Clock.currentTimeMillis
        const remaining = Effect.map(Clock.currentTimeMillis, (now) =>
          Duration.millis(Math.max(0, startedAt + Duration.toMillis(timeout) - now)),
        )
        const status = (
          state: JobState,
          extra: Partial<Pick<JobStatus, "content" | "reason" | "fencingToken">>,
        ) =>
          Effect.map(Clock.currentTimeMillis, (now) =>
            statusAt(now, {
              triggerId: request.triggerId,
              jobType: job.type,
              jobId,
              lockType: job.lockType,
              jobState: state,
              attempt: request.attempt,
              triggerSource: request.source,
              instance: request.instance,
              ...(request.scheduledAt === undefined ? {} : { scheduledAt: new Date(request.scheduledAt) }),
              ...definedOnly(extra),
            }),
          )

        /**
         * ha-jobs' start-failure row: the trigger counts as failed, so the supervisor may retry it.
         * Written within what is left of the start timeout, else in the background (see above).
         */
        const recordStartFailure = (message: string, fencingToken?: number) =>
          Effect.gen(function* () {
            const write = status("FAILED", { reason: `start failed: ${message}`, fencingToken }).pipe(
              Effect.flatMap(statuses.save),
            )
            const left = yield* remaining
            const now =
              Duration.toMillis(left) > 0
                ? yield* Effect.exit(Effect.timeout(Effect.interruptible(write), left))
                : undefined
            if (now !== undefined && Exit.isSuccess(now)) return
            yield* write.pipe(
              Effect.retry(startFailureRetry),
              Effect.catchAllCause((cause) =>
                Effect.logError("could not record a failed start; the store did not take it").pipe(
                  Effect.annotateLogs({ jobType: job.type, jobId, error: failureMessage(cause) }),
                ),
              ),
              Effect.forkIn(scope),
            )
          })

        const leaseScope = yield* Scope.make()
        const acquired = yield* restore(
          leases.acquire({ lockType: job.lockType, jobType: job.type, jobId }, job.timing, { timeout }),
        ).pipe(Scope.extend(leaseScope), Effect.exit)
        if (Exit.isFailure(acquired)) {
          yield* Scope.close(leaseScope, Exit.void)
          const message = failureMessage(acquired.cause)
          yield* recordStartFailure(message)
          return {
            _tag: "Failed",
            message,
            storeUnavailable: Cause.failureOption(acquired.cause).pipe(Option.isSome),
          } as const
        }
        if (acquired.value._tag === "Held") {
          yield* Scope.close(leaseScope, Exit.void)
          return { _tag: "Locked", holder: acquired.value.holder } as const
        }
        const lease = acquired.value.lease
        const token = lease.key.token
        const running = yield* status("RUNNING", { fencingToken: token }).pipe(
          Effect.flatMap(statuses.save),
          Effect.interruptible,
          Effect.timeoutFail({
            duration: yield* remaining,
            onTimeout: () =>
              new StoreError({
                operation: "save",
                message: `the RUNNING status was not stored within the start timeout (${Duration.format(timeout)})`,
              }),
          }),
          Effect.exit,
        )
        if (Exit.isFailure(running)) {
          // The lock is given back in the background (the store may still be hanging); a RUNNING row
          // that lands late is superseded by the FAILED one, or marked DEAD by the supervisor.
          yield* Effect.forkDaemon(Scope.close(leaseScope, Exit.void))
          const message = failureMessage(running.cause)
          yield* recordStartFailure(message, token)
          return { _tag: "Failed", message, storeUnavailable: true } as const
        }

        const stop = yield* Deferred.make<StopReason>()
        const lastContent = yield* Ref.make<unknown>(undefined)
        const controller = new AbortController()
        const context = JobContext.of({
          jobType: job.type,
          lockType: job.lockType,
          jobId,
          triggerId: request.triggerId,
          attempt: request.attempt,
          source: request.source,
          scheduledAt: Option.fromNullable(request.scheduledAt),
          fencingToken: token,
          signal: controller.signal,
          progress: (content) =>
            encodeContent(content, { maxBytes: job.maxContentBytes }).pipe(
              Effect.tap((json) => Ref.set(lastContent, json)),
              Effect.flatMap((json) => status("RUNNING", { content: json, fencingToken: token })),
              Effect.flatMap(statuses.save),
            ),
        })

        const finish = (ending: Ending) =>
          Effect.gen(function* () {
            const content = yield* Ref.get(lastContent)
            const final = yield* terminalStatus(job, ending, content)
            const written = yield* status(final.state, {
              fencingToken: token,
              content: final.content,
              reason: final.reason,
            })
            yield* statuses.save(written).pipe(
              // A defect in one attempt (a throw in row mapping) is retried like a store error.
              Effect.catchAllDefect((defect) =>
                Effect.fail(
                  new StoreError({ operation: "save", message: failureMessage(Cause.die(defect)) }),
                ),
              ),
              Effect.retry(terminalWriteRetry),
              Effect.catchAllCause((cause) =>
                Effect.logError("could not write the final status").pipe(
                  Effect.annotateLogs({ error: failureMessage(cause) }),
                ),
              ),
            )
            if (ending._tag !== "Lost") yield* Effect.exit(lease.release)
            yield* Metric.increment(
              Metric.tagged(Metric.tagged(JobMetrics.executions, "job_type", job.type), "state", final.state),
            )
            return written
          })

        const execute = Effect.gen(function* () {
          // The manager checked at construction that `services` holds everything the job needs.
          const run = job.definition.run as Effect.Effect<unknown, unknown, JobContext>
          const jobFiber = yield* run.pipe(
            Effect.provideService(JobContext, context),
            Effect.provide(services as Context.Context<JobContext>),
            Effect.onInterrupt(() => Effect.sync(() => controller.abort())),
            Effect.fork,
          )
          const ending = yield* Effect.raceAll<Effect.Effect<Ending>>([
            Fiber.await(jobFiber).pipe(Effect.map((exit) => ({ _tag: "Done", exit }) as const)),
            lease.lost.pipe(Effect.map((loss) => ({ _tag: "Lost", loss }) as const)),
            lease.cancelRequested.pipe(Effect.as({ _tag: "Stopped", reason: "cancelled" } as const)),
            Deferred.await(stop).pipe(Effect.map((reason) => ({ _tag: "Stopped", reason }) as const)),
          ])
          if (ending._tag !== "Done") {
            yield* ending._tag === "Lost"
              ? Effect.logWarning(
                  `lease lost (${ending.loss.reason}${ending.loss.message ? `: ${ending.loss.message}` : ""}); interrupting the job`,
                )
              : Effect.logInfo(`stopping the job: ${ending.reason}`)
            const stoppingAt = yield* monotonicMillis
            yield* Fiber.interrupt(jobFiber)
            if (ending._tag === "Lost") {
              // The library stops the job at once, but the job's own finalizers run to their end: a
              // job that outlives the lease's margin may overlap with the next holder (fencing helps).
              const stopMs = (yield* monotonicMillis) - stoppingAt
              yield* Metric.update(Metric.tagged(JobMetrics.lossToStop, "lock_type", job.lockType), stopMs)
              const marginMs = Duration.toMillis(job.timing.margin)
              if (stopMs > marginMs)
                yield* Effect.logWarning(
                  `the job took ${stopMs} ms to stop after losing its lease, more than the lease margin (${marginMs} ms): another instance may have started meanwhile; keep the job interruptible or raise the margin`,
                )
              const written = yield* finish(ending)
              yield* Effect.logInfo(
                `after the lease loss: job stopped in ${stopMs} ms, final status written ${(yield* monotonicMillis) - stoppingAt} ms after the loss`,
              )
              return written
            }
          }
          return yield* finish(ending)
        }).pipe(
          Effect.ensuring(Scope.close(leaseScope, Exit.void)),
          Effect.annotateLogs({
            jobType: job.type,
            jobId,
            triggerId: request.triggerId,
            fencingToken: token,
          }),
          Effect.withSpan("effect-ha-jobs.execution", {
            attributes: {
              "job.type": job.type,
              "job.lock_type": job.lockType,
              "job.id": jobId,
              "job.trigger_id": request.triggerId,
              "job.attempt": request.attempt,
              "job.source": request.source,
              "job.fencing_token": token,
            },
          }),
        )

        const fiber = yield* Effect.forkIn(restore(execute), scope)
        const execution: Execution = {
          jobType: job.type,
          lockType: job.lockType,
          jobId,
          triggerId: request.triggerId,
          fencingToken: token,
          stop: (reason) => Effect.asVoid(Deferred.succeed(stop, reason)),
          await: Fiber.join(fiber),
        }
        return { _tag: "Started", execution } as const
      }),
    )

  return JobRunner.of({ start })
})

/** Kept here too: callers found it on the runner before it moved to the errors module. */
export { failureMessage }

export const layer: Layer.Layer<JobRunner, never, Lease | StatusRepository> = Layer.effect(JobRunner, make)

interface Terminal {
  readonly state: JobState
  readonly content: unknown
  readonly reason: string | undefined
}

const terminalStatus = (job: ResolvedJob, ending: Ending, lastContent: unknown): Effect.Effect<Terminal> => {
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

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
