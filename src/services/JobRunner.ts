import {
  Cause,
  Clock,
  Context,
  Deferred,
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
import { type ContentError, StoreError } from "../domain/Errors.js"
import { type JobId, makeJobId, type TriggerId } from "../domain/Ids.js"
import { isJobOutcome } from "../domain/JobOutcome.js"
import type { JobState, TriggerSource } from "../domain/JobState.js"
import { type JobStatus, statusAt } from "../domain/JobStatus.js"
import type { JobType, LockType } from "../domain/Names.js"
import type { ResolvedJob } from "./Job.js"
import { JobContext } from "./JobContext.js"
import * as JobMetrics from "./JobMetrics.js"
import { Lease, type LeaseLoss } from "./Lease.js"
import type { LockHolder } from "./LockRepository.js"
import { StatusRepository } from "./StatusRepository.js"

export interface StartRequest {
  readonly triggerId: TriggerId
  readonly attempt: number
  readonly source: TriggerSource
  readonly scheduledAt?: number | undefined
  /** Written into every status, so one can tell which instance ran what. */
  readonly instance: string
}

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

export const make = Effect.gen(function* () {
  const leases = yield* Lease
  const statuses = yield* StatusRepository

  const start = (
    job: ResolvedJob,
    request: StartRequest,
    services: Context.Context<never>,
    scope: Scope.Scope,
  ): Effect.Effect<StartResult> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* (): Effect.fn.Return<StartResult> {
        const jobId = yield* makeJobId
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

        const leaseScope = yield* Scope.make()
        const acquired = yield* restore(
          leases.acquire({ lockType: job.lockType, jobType: job.type, jobId }, job.timing),
        ).pipe(Scope.extend(leaseScope), Effect.exit)
        if (Exit.isFailure(acquired)) {
          yield* Scope.close(leaseScope, Exit.void)
          const message = failureMessage(acquired.cause)
          // ha-jobs' start-failure row: the trigger counts as failed, so the supervisor may retry it.
          yield* status("FAILED", { reason: `start failed: ${message}` }).pipe(
            Effect.flatMap(statuses.save),
            Effect.ignore,
          )
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
          Effect.exit,
        )
        if (Exit.isFailure(running)) {
          yield* Scope.close(leaseScope, Exit.void)
          return { _tag: "Failed", message: failureMessage(running.cause), storeUnavailable: true } as const
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
              Effect.retry(terminalWriteRetry),
              Effect.catchAll((e) =>
                Effect.logError("could not write the final status").pipe(
                  Effect.annotateLogs({ error: e.message }),
                ),
              ),
            )
            if (ending._tag !== "Lost") yield* lease.release.pipe(Effect.ignore)
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
              ? Effect.logWarning(`lease lost (${ending.loss.reason}); interrupting the job`)
              : Effect.logInfo(`stopping the job: ${ending.reason}`)
            yield* Fiber.interrupt(jobFiber)
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

/** A short, human-readable message for a failure or defect (shown in the status' reason). */
export const failureMessage = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  const text =
    error instanceof StoreError
      ? `store unavailable (${error.operation}): ${error.message}`
      : describe(error, Option.isNone(failure))
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}

const describe = (error: unknown, defect: boolean): string => {
  const prefix = defect ? "defect: " : ""
  if (error instanceof Error || (typeof error === "object" && error !== null && "message" in error)) {
    const tag = (error as { _tag?: unknown })._tag
    const message = String((error as { message: unknown }).message)
    return `${prefix}${typeof tag === "string" && tag !== message ? `${tag}: ` : ""}${message}`
  }
  if (typeof error === "object" && error !== null && "_tag" in error) return `${prefix}${String(error._tag)}`
  return `${prefix}${String(error)}`
}

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
