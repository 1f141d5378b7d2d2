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
  Scope,
} from "effect"
import { encodeContent } from "../domain/Content.js"
import { failureMessage, StoreError } from "../domain/Errors.js"
import { type JobId, makeJobId, type TriggerId } from "../domain/Ids.js"
import type { TriggerSource } from "../domain/JobState.js"
import type { JobStatus } from "../domain/JobStatus.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { JobType, LockType } from "../domain/Names.js"
import type { LockHolder } from "../ports/LockRepository.js"
import { StatusRepository } from "../ports/StatusRepository.js"
import { boundStatuses } from "../ports/StoreBounds.js"
import type { ResolvedJob } from "./Job.js"
import { JobContext } from "./JobContext.js"
import type { TriggerParams } from "./JobParams.js"
import { Lease, monotonicMillis } from "./Lease.js"
import * as Progress from "./Progress.js"
import type { Ending } from "./StatusTransitions.js"
import * as StatusTransitions from "./StatusTransitions.js"

export interface StartRequest {
  readonly triggerId: TriggerId
  readonly attempt: number
  readonly source: TriggerSource
  readonly scheduledAt?: number | undefined
  /** The trigger's params, checked (JobParams.decode); stored with every status. */
  readonly params?: TriggerParams | undefined
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

/** Why an execution was stopped: a cancel, the manager's shutdown, or its job type paused. */
export type StopReason = "cancelled" | "shutdown" | "paused"

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

/**
 * Runs one execution under a lease, racing the job against the lease's loss; its statuses are
 * written through StatusTransitions.
 */
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

export const make = Effect.gen(function* () {
  const leases = yield* Lease
  const transitions = StatusTransitions.make(boundStatuses(yield* StatusRepository))

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
        const transition = transitions.execution({
          job,
          jobId,
          triggerId: request.triggerId,
          attempt: request.attempt,
          source: request.source,
          instance: request.instance,
          scheduledAt: request.scheduledAt,
          params: request.params?.encoded,
        })
        /** Within what is left of the start timeout, else in the background (StatusTransitions). */
        const recordStartFailure = (message: string, fencingToken?: number) =>
          Effect.flatMap(remaining, (within) =>
            transition.startFailed(message, { fencingToken, within, scope }),
          )

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
        const running = yield* transition.running(token).pipe(
          Effect.interruptible,
          Effect.timeoutFail({
            duration: yield* remaining,
            onTimeout: () =>
              StoreError.of(
                "save",
                `the RUNNING status was not stored within the start timeout (${Duration.format(timeout)})`,
              ),
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
        // Trailing progress writes (progressEvery) live until the final status is written, not after.
        const progressScope = yield* Scope.make()
        const writeProgress: Progress.WriteProgress = (json) => transition.progress(token, json)
        const progress = Option.match(job.progressEvery, {
          onNone: () => writeProgress,
          onSome: (every) => Progress.throttled(every, writeProgress, progressScope),
        })
        const controller = new AbortController()
        const context = JobContext.of({
          jobType: job.type,
          lockType: job.lockType,
          jobId,
          triggerId: request.triggerId,
          attempt: request.attempt,
          source: request.source,
          scheduledAt: Option.fromNullable(request.scheduledAt),
          params: Option.map(Option.fromNullable(request.params), (p) => p.decoded),
          fencingToken: token,
          signal: controller.signal,
          progress: (content) =>
            encodeContent(content, { maxBytes: job.maxContentBytes }).pipe(
              Effect.tap((json) => Ref.set(lastContent, json)),
              Effect.flatMap(progress),
            ),
        })

        const finish = (ending: Ending) =>
          Effect.gen(function* () {
            yield* Scope.close(progressScope, Exit.void)
            const written = yield* transition.finished(token, ending, yield* Ref.get(lastContent))
            if (ending._tag !== "Lost") yield* Effect.exit(lease.release)
            yield* Metric.increment(
              Metric.tagged(
                Metric.tagged(JobMetrics.executions, "job_type", job.type),
                "state",
                written.jobState,
              ),
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
          Effect.ensuring(
            Effect.zipRight(Scope.close(progressScope, Exit.void), Scope.close(leaseScope, Exit.void)),
          ),
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
