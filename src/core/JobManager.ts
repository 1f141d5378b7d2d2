/**
 * src/core: the engine — Job (definitions), JobContext, Lease (acquire, renew, self-fence),
 * JobRunner (one execution), JobManager (the registry: trigger, cancel, query), Scheduler (cron,
 * catch-up) and StatusTransitions (every status write). It knows no store and no HTTP.
 * May import: `domain`, `ports`. (docs/architecture.md)
 *
 * This module: the registry of jobs on this instance.
 */
import * as os from "node:os"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Exit,
  FiberMap,
  Layer,
  Option,
  ParseResult,
  Ref,
  Schema,
  Scope,
} from "effect"
import { type AuditAction, AuditEntry, MaxAuditDetailBytes } from "../domain/Audit.js"
import type { CompatMode } from "../domain/Compat.js"
import {
  failureMessage,
  InvalidInput,
  InvalidJobDefinition,
  type StoreError,
  UnknownJobType,
} from "../domain/Errors.js"
import {
  AuditId,
  EventId,
  HistoryCursor,
  JobId,
  makeAuditId,
  makeJobId,
  makeTriggerId,
  TriggerId,
} from "../domain/Ids.js"
import type { JobEvent } from "../domain/JobEvent.js"
import type { TriggerSource } from "../domain/JobState.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { JobType, LockType } from "../domain/Names.js"
import { inForce, MaxNoteBytes, Pause, samePause } from "../domain/Pause.js"
import { TriggerResult } from "../domain/TriggerResult.js"
import { LockRepository } from "../ports/LockRepository.js"
import { type HistoryPage, StatusRepository } from "../ports/StatusRepository.js"
import { bounded, boundLocks, boundStatuses } from "../ports/StoreBounds.js"
import type { BackfillOptions, BackfillPlan } from "./Backfill.js"
import * as Backfill from "./Backfill.js"
import { type Any, type Requirements, type ResolvedJob, resolve } from "./Job.js"
import * as JobEvents from "./JobEvents.js"
import * as JobParams from "./JobParams.js"
import * as JobRunnerLayer from "./JobRunner.js"
import { type Execution, JobRunner } from "./JobRunner.js"
import * as LeaseLayer from "./Lease.js"
import * as StatusTransitions from "./StatusTransitions.js"
import { truncateUtf8 } from "./Text.js"

export interface JobManagerOptions {
  /** This instance's name in statuses and logs. Defaults to `hostname:pid`. */
  readonly instance?: string | undefined
  /** On shutdown, running jobs get this long to finish before they are interrupted. Defaults to 0. */
  readonly shutdownGrace?: Duration.DurationInput | undefined
  /**
   * A trigger whose start (lock acquisition and RUNNING status) has not completed within this time
   * returns `Failed` (store unavailable), like ha-jobs' jobStartTimeout. Defaults to 10 seconds.
   */
  readonly startTimeout?: Duration.DurationInput | undefined
  /**
   * "ha-jobs": ha-jobs' values where a job leaves them unset (lease ttl 60 s instead of 15 s; with
   * HaJobs.layer also the supervisor's: every minute, DEAD after 5 minutes). Defaults to "none".
   */
  readonly compat?: CompatMode | undefined
}

export interface TriggerOptions {
  readonly source?: TriggerSource | undefined
  readonly scheduledAt?: number | undefined
  /** Who triggers, for the audit log (manual triggers only). Defaults to "library". */
  readonly by?: string | undefined
  /**
   * The run's params in their encoded form (JSON, as `POST /jobs/:jobType` takes them), checked
   * against the job's `params` schema (JobParams.decode): InvalidInput "params" when they do not
   * match or the job declares none. Stored with the trigger and given again to its retries.
   */
  readonly params?: unknown
}

/** Who acts, for the audit log. */
export interface ActorOptions {
  /** Defaults to "library"; the HTTP API passes the caller's identity. */
  readonly by?: string | undefined
}

export interface PauseOptions {
  /** Why (at most 1 KiB of UTF-8); shown with the pause. */
  readonly note?: string | undefined
  /** Who pauses; the HTTP API passes its authorize hook's identity. Defaults to "library". */
  readonly by?: string | undefined
  /** The pause ends by itself at this instant (must be in the future); none: until resumed. */
  readonly until?: Date | undefined
  /** Refuse manual triggers too. Defaults to false: an operator can still run the job by hand. */
  readonly blockManual?: boolean | undefined
}

/** What a pause or resume changed: the pause in force before, and after. */
export interface PauseChange {
  readonly previous: Option.Option<Pause>
  readonly current: Option.Option<Pause>
  /** false: the same note, `until` and `blockManual` were in force before (or no pause, on resume). */
  readonly changed: boolean
}

/** What a manager gives its jobs besides their own requirements. */
export type Provided = JobManager | LockRepository | StatusRepository

/** Bounds of list queries (ha-jobs' default page is 20). */
export const MaxListLimit = 1000
export const DefaultListLimit = 20

/** The registry of jobs on this instance: trigger, cancel, query, shut down. */
export class JobManager extends Context.Tag("effect-ha-jobs/JobManager")<
  JobManager,
  {
    readonly instance: string
    /** Every registered job type, in registration order. */
    readonly jobTypes: ReadonlyArray<JobType>
    readonly job: (jobType: string) => Effect.Effect<ResolvedJob, UnknownJobType>
    /** Starts a new trigger (fresh trigger id); InvalidInput when its params do not fit the job. */
    readonly trigger: (
      jobType: string,
      options?: TriggerOptions,
    ) => Effect.Effect<TriggerResult, UnknownJobType | InvalidInput>
    /**
     * Runs an existing trigger again, with a new job id and the trigger's params as stored (what the
     * supervisor's retries do).
     */
    readonly retrigger: (
      jobType: string,
      triggerId: string,
      attempt: number,
      options?: { readonly params?: unknown },
    ) => Effect.Effect<TriggerResult, UnknownJobType | InvalidInput>
    /**
     * Cancels the job type's execution wherever it runs: at once when local, else through the store
     * within one renewal interval.
     */
    readonly cancel: (
      jobType: string,
      options?: ActorOptions,
    ) => Effect.Effect<void, UnknownJobType | StoreError>
    /**
     * Pauses the job type cluster-wide (kept in the store, so it survives restarts): no cron slot,
     * catch-up, continuous restart or supervisor retry starts until resumed or `until`; a manual
     * trigger only when not `blockManual`. A running continuous execution stops (CANCELED, reason
     * "paused"; at once when local, else within its watchEvery) and starts again on resume; other
     * running executions finish. Pausing a paused job type replaces its note, `until` and
     * `blockManual`. Both are logged; `previous` tells whether anything changed.
     */
    readonly pause: (
      jobType: string,
      options?: PauseOptions,
    ) => Effect.Effect<PauseChange, UnknownJobType | InvalidInput | StoreError>
    /** Ends the job type's pause; resuming a job type that is not paused changes nothing. */
    readonly resume: (
      jobType: string,
      options?: ActorOptions,
    ) => Effect.Effect<PauseChange, UnknownJobType | StoreError>
    /** The job type's pause, when one is in force. */
    readonly paused: (jobType: string) => Effect.Effect<Option.Option<Pause>, UnknownJobType | StoreError>
    /**
     * The audit log: every manual trigger, cancel, pause and resume, by whom, newest first; of one
     * job type or of all; `before` is an entry id cursor for the next page.
     */
    readonly auditLog: (options?: {
      readonly jobType?: string | undefined
      readonly limit?: number | undefined
      readonly before?: string | undefined
    }) => Effect.Effect<ReadonlyArray<AuditEntry>, UnknownJobType | InvalidInput | StoreError>
    /**
     * Where this instance's scheduler and supervisor report decisions that are not executions (a
     * missed slot, an overlap, a declined catch-up, ...): written to the store in the background.
     */
    readonly eventLog: JobEvents.JobEventLog
    /** A job type's events, newest first; `before` is an event id cursor for the next page. */
    readonly events: (
      jobType: string,
      options?: { readonly limit?: number | undefined; readonly before?: string | undefined },
    ) => Effect.Effect<ReadonlyArray<JobEvent>, UnknownJobType | InvalidInput | StoreError>
    /** Latest status of each execution, newest first; `before` is a job id cursor for the next page. */
    readonly list: (
      jobType: string,
      options?: { readonly limit?: number | undefined; readonly before?: string | undefined },
    ) => Effect.Effect<ReadonlyArray<JobStatus>, UnknownJobType | InvalidInput | StoreError>
    readonly latest: (jobType: string) => Effect.Effect<Option.Option<JobStatus>, UnknownJobType | StoreError>
    readonly status: (
      jobType: string,
      jobId: string,
    ) => Effect.Effect<Option.Option<JobStatus>, UnknownJobType | InvalidInput | StoreError>
    /**
     * The statuses of one execution, newest first: at most `limit` (default and most 1,000), from
     * `before` (the previous page's `next`) on.
     */
    readonly history: (
      jobType: string,
      jobId: string,
      options?: { readonly limit?: number | undefined; readonly before?: string | undefined },
    ) => Effect.Effect<HistoryPage, UnknownJobType | InvalidInput | StoreError>
    /**
     * Runs the job type's past cron slots in [from, to] that nobody claimed (at most
     * MaxBackfillSlots), one after another in the background on this instance, each claimed first
     * (`triggerSource: "backfill"`, `scheduledAt` = the slot); returns the plan at once. `dryRun`:
     * the plan only, nothing claimed. Cancelling the job type while one of its slots runs stops the
     * rest; so does a pause with `blockManual`. Audited when asked and when it ends.
     */
    readonly backfill: (
      jobType: string,
      options: BackfillOptions,
    ) => Effect.Effect<BackfillPlan, UnknownJobType | InvalidInput | StoreError>
    /** Executions running on this instance. */
    readonly running: Effect.Effect<ReadonlyArray<Execution>>
    /** Waits for a local execution to end and yields its final status (none if not running here). */
    readonly awaitExecution: (jobId: string) => Effect.Effect<Option.Option<JobStatus>>
    /** What closing the manager's scope does, callable early: refuse triggers, stop running jobs. */
    readonly shutdown: Effect.Effect<void>
  }
>() {}

const decode = <A, I>(schema: Schema.Schema<A, I>, field: string, value: unknown) =>
  Schema.decodeUnknown(schema)(value).pipe(
    Effect.mapError(
      (e) => new InvalidInput({ field, message: ParseResult.TreeFormatter.formatErrorSync(e) }),
    ),
  )

/** What a manual trigger did, in the audit log's words. */
const triggerOutcome = (result: TriggerResult): string => {
  switch (result._tag) {
    case "Started":
      return `started ${result.jobId}`
    case "Locked":
      return `locked by ${result.jobType} ${result.jobId}`
    case "Failed":
      return `failed: ${result.message}`
    case "Paused":
      return "refused: paused"
  }
}

/**
 * Validates the jobs and starts the manager in the current scope. Closing the scope shuts it down:
 * running jobs get the grace period, then are interrupted, recorded CANCELED (reason shutdown) and
 * their leases released, so another instance can take over at once.
 */
export const make = <const Jobs extends Iterable<Any<any>>, R = Exclude<Requirements<Jobs>, Provided>>(
  jobs: Jobs,
  options: JobManagerOptions = {},
): Effect.Effect<
  JobManager["Type"],
  InvalidJobDefinition,
  Scope.Scope | JobRunner | StatusRepository | LockRepository | R
> =>
  Effect.gen(function* () {
    const registry = new Map<JobType, ResolvedJob>()
    for (const job of jobs) {
      const resolved = resolve(job, options.compat)
      if (Either.isLeft(resolved)) return yield* resolved.left
      if (registry.has(resolved.right.type))
        return yield* new InvalidJobDefinition({
          jobType: resolved.right.type,
          message: `job "${resolved.right.type}" is defined twice`,
        })
      registry.set(resolved.right.type, resolved.right)
    }
    const runner = yield* JobRunner
    // Bounded here, so the jobs (the supervisor too), the scheduler and the HTTP API get bounded calls.
    const statuses = boundStatuses(yield* StatusRepository)
    const locks = boundLocks(yield* LockRepository)
    // Jobs get the manager's context plus the manager and repositories (a job may trigger others).
    let services = (yield* Effect.context<R>()) as Context.Context<never>
    const instance = options.instance ?? `${os.hostname()}:${process.pid}`
    const grace = Duration.decode(options.shutdownGrace ?? Duration.zero)
    const startTimeout = Duration.decode(options.startTimeout ?? JobRunnerLayer.DefaultStartTimeout)

    const scope = yield* Effect.scope
    // Closed after the executions' scope (created later): their last decisions are written too.
    const eventLog = yield* JobEvents.make(statuses, instance)
    // Created before the shutdown finalizer, so it closes after it: executions end gracefully first.
    const executionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    /**
     * The executions running here, each with a fiber that awaits it: an entry leaves the map when
     * its execution ends, and the map interrupts what is left when the execution scope closes. Keyed
     * by the execution itself (by reference), so its record lives exactly as long as its entry.
     */
    const executions = yield* FiberMap.make<Execution, JobStatus>().pipe(Scope.extend(executionScope))
    const runningNow = () => Array.from(executions, ([execution]) => execution)
    const closing = yield* Ref.make(false)
    /**
     * The local guard in front of the store: the execution of each lock type that is starting or
     * has not ended on this instance. While one has not ended (even after its lease was lost, until
     * the job fiber has stopped) no other starts here, whatever the store says.
     */
    const local = new Map<LockType, { readonly jobType: JobType; readonly jobId: JobId }>()

    const job = (jobType: string) =>
      Effect.suspend(() => {
        const found = registry.get(jobType as JobType)
        return found ? Effect.succeed(found) : Effect.fail(UnknownJobType.of(jobType))
      })

    const start = (
      resolved: ResolvedJob,
      triggerId: TriggerId,
      attempt: number,
      opts: TriggerOptions,
      params: Option.Option<JobParams.TriggerParams>,
    ) =>
      Effect.gen(function* () {
        if (yield* Ref.get(closing))
          return TriggerResult.Failed({
            message: "the job manager is shutting down",
            storeUnavailable: false,
          })
        // Read on every trigger, not cached: a pause holds on every instance from its write on.
        // Before the local guard, which must be checked and taken without a yield in between.
        // Inside the start timeout: a hung read leaves the start the rest of it, not a second one.
        const askedAt = yield* Clock.currentTimeMillis
        const pause = yield* Effect.either(pauseInForce(resolved.type).pipe(bounded("paused", startTimeout)))
        const startLeft = Duration.millis(
          Math.max(0, Duration.toMillis(startTimeout) - ((yield* Clock.currentTimeMillis) - askedAt)),
        )
        if (Either.isLeft(pause))
          return TriggerResult.Failed({
            message: `could not read whether the job type is paused: ${pause.left.message}`,
            storeUnavailable: true,
          })
        // An operator's runs (by hand, or a backfill) go on unless the pause blocks them too.
        const source = opts.source ?? "manual"
        const byOperator = source === "manual" || source === "backfill"
        if (Option.isSome(pause.right) && (!byOperator || pause.right.value.blockManual))
          return TriggerResult.Paused({ pause: pause.right.value })
        const busy = local.get(resolved.lockType)
        if (busy !== undefined) return TriggerResult.Locked(busy)
        const jobId = yield* makeJobId
        local.set(resolved.lockType, { jobType: resolved.type, jobId })
        const free = Effect.sync(() => {
          if (local.get(resolved.lockType)?.jobId === jobId) local.delete(resolved.lockType)
        })
        const result = yield* runner
          .start(
            resolved,
            {
              triggerId,
              attempt,
              source: opts.source ?? "manual",
              scheduledAt: opts.scheduledAt,
              params: Option.getOrUndefined(params),
              instance,
              jobId,
              startTimeout: startLeft,
            },
            services,
            executionScope,
          )
          .pipe(
            Effect.onExit((exit) =>
              Exit.isSuccess(exit) && exit.value._tag === "Started" ? Effect.void : free,
            ),
          )
        switch (result._tag) {
          case "Locked":
            return TriggerResult.Locked({ jobType: result.holder.jobType, jobId: result.holder.jobId })
          case "Failed":
            return TriggerResult.Failed({
              message: result.message,
              storeUnavailable: result.storeUnavailable,
            })
          case "Started": {
            const execution = result.execution
            // `set`, not `run`: once the map is closed (a start that ends after the shutdown) `run`
            // would interrupt the caller, `set` interrupts the watcher, as forking into the closed
            // execution scope would.
            // The trigger's last failure is an event too: "why did it stop retrying?".
            const watched = Effect.tap(execution.await, (final) =>
              StatusTransitions.noMoreRetries({ job: resolved, attempt }, final.jobState)
                ? eventLog.emit({
                    jobType: resolved.type,
                    kind: "retries-exhausted",
                    reason: `trigger ${triggerId}, job ${final.jobId}: ${final.reason ?? "failed"}`,
                  })
                : Effect.void,
            )
            yield* Effect.uninterruptible(
              Effect.flatMap(Effect.forkDaemon(Effect.ensuring(watched, free)), (watcher) =>
                FiberMap.set(executions, execution, watcher),
              ),
            )
            return TriggerResult.Started({ jobType: resolved.type, jobId: execution.jobId, triggerId })
          }
        }
      })

    const localOf = (jobType: JobType) => Effect.sync(() => runningNow().filter((e) => e.jobType === jobType))

    /**
     * Appends an operator action to the audit log. The action has happened: a store that cannot take
     * the entry costs the entry (logged), never the action.
     */
    const audit = (
      action: AuditAction,
      jobType: JobType,
      by: string | undefined,
      detail: string,
      outcome: string,
    ) =>
      Effect.gen(function* () {
        const entry = new AuditEntry({
          id: yield* makeAuditId,
          at: new Date(yield* Clock.currentTimeMillis),
          instance,
          action,
          jobType,
          identity: by ?? "library",
          detail: truncateUtf8(detail, MaxAuditDetailBytes),
          outcome: truncateUtf8(outcome, MaxAuditDetailBytes),
        })
        yield* statuses.record(entry)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("could not write the audit log entry").pipe(
            Effect.annotateLogs({ action, jobType, error: failureMessage(cause) }),
          ),
        ),
      )

    const pauseInForce = (jobType: JobType) =>
      Effect.flatMap(locks.paused(jobType), (stored) =>
        Effect.map(Clock.currentTimeMillis, (now) => Option.filter(stored, (p) => inForce(p, now))),
      )

    /** Cancels the job type's execution: at once when local, else through the store's cancel request. */
    const cancelExecution = (resolved: ResolvedJob) =>
      Effect.zipRight(
        Effect.flatMap(localOf(resolved.type), (running) =>
          Effect.forEach(running, (e) => e.stop("cancelled"), { discard: true }),
        ),
        Effect.asVoid(locks.requestCancel(resolved.lockType, resolved.type)),
      )

    const pauseOptions = (resolved: ResolvedJob, options: PauseOptions) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const note = options.note ?? ""
        const bytes = Buffer.byteLength(note, "utf8")
        if (bytes > MaxNoteBytes)
          return yield* new InvalidInput({
            field: "note",
            message: `note is ${bytes} bytes; at most ${MaxNoteBytes} bytes (UTF-8) are kept: shorten it`,
          })
        const until = options.until
        if (until !== undefined && !(until.getTime() > now))
          return yield* new InvalidInput({
            field: "until",
            message: Number.isNaN(until.getTime())
              ? "until is not a valid instant"
              : `until (${until.toISOString()}) is not in the future: give a later instant, or none to pause until resumed`,
          })
        return new Pause({
          jobType: resolved.type,
          note,
          by: options.by ?? "library",
          instance,
          since: new Date(now),
          until: Option.fromNullable(until),
          blockManual: options.blockManual ?? false,
        })
      })

    /** Starts one slot of a backfill, waiting (1 s apart, up to 10 minutes) while its lock is held. */
    const startSlot = (resolved: ResolvedJob, slot: number) =>
      Effect.gen(function* () {
        const giveUpAt = (yield* Clock.currentTimeMillis) + 10 * 60_000
        while (true) {
          const options = { source: "backfill", scheduledAt: slot } as const
          const result = yield* start(resolved, yield* makeTriggerId, 1, options, Option.none())
          if (result._tag !== "Locked" || (yield* Clock.currentTimeMillis) >= giveUpAt) return result
          yield* Effect.sleep("1 second")
        }
      })

    /** Runs a backfill's slots in order; ends at the first one that does not start or is cancelled. */
    const runBackfill = (resolved: ResolvedJob, plan: Backfill.BackfillPlan, by: string | undefined) =>
      Effect.gen(function* () {
        let ran = 0
        let skipped = 0
        let stopped = Option.none<string>()
        for (const entry of plan.slots) {
          const slot = entry.slot.getTime()
          if (entry.action === "skip") {
            skipped++
            continue
          }
          // Claimed like a cron slot: a slot the scheduler's catch-up (or another backfill) took
          // meanwhile is skipped, and this one is never run twice.
          const claim = { jobType: resolved.type, slot, instance, claimId: crypto.randomUUID() }
          const claimed = yield* Effect.either(locks.claimSlot(claim))
          if (Either.isLeft(claimed)) {
            stopped = Option.some(`claiming ${entry.slot.toISOString()} failed: ${claimed.left.message}`)
            break
          }
          if (!claimed.right) {
            skipped++
            continue
          }
          const result = yield* startSlot(resolved, slot)
          if (result._tag !== "Started") {
            stopped = Option.some(
              `${entry.slot.toISOString()} claimed but not run: ${triggerOutcome(result)}`,
            )
            break
          }
          ran++
          const end = yield* awaitLocal(result.jobId)
          if (Option.isSome(end) && end.value.jobState === "CANCELED") {
            stopped = Option.some(end.value.reason ?? "cancelled")
            break
          }
        }
        const outcome = Option.match(stopped, {
          onNone: () => `finished: ran ${ran}, skipped ${skipped}`,
          onSome: (why) => `stopped after ${ran} runs (${skipped} skipped): ${why}`,
        })
        yield* Effect.logInfo(`backfill ${outcome}`).pipe(Effect.annotateLogs({ jobType: resolved.type }))
        yield* audit("backfill", resolved.type, by, Backfill.describePlan(plan), outcome)
      }).pipe(
        Effect.catchAllCause((cause) =>
          audit(
            "backfill",
            resolved.type,
            by,
            Backfill.describePlan(plan),
            `failed: ${failureMessage(cause)}`,
          ),
        ),
      )

    /** Waits for a local execution to end and yields its final status (none if not running here). */
    const awaitLocal = (jobId: string) =>
      Effect.suspend(() => {
        const execution = runningNow().find((e) => e.jobId === jobId)
        return execution ? Effect.asSome(execution.await) : Effect.succeedNone
      })

    const shutdown = Effect.gen(function* () {
      yield* Ref.set(closing, true)
      const running = runningNow()
      if (running.length === 0) return
      if (Duration.toMillis(grace) > 0)
        yield* Effect.forEach(running, (e) => e.await, { concurrency: "unbounded", discard: true }).pipe(
          Effect.timeoutOption(grace),
        )
      yield* Effect.forEach(running, (e) => Effect.zipRight(e.stop("shutdown"), e.await), {
        concurrency: "unbounded",
        discard: true,
      })
    })
    yield* Effect.addFinalizer(() => shutdown)

    const limitOf = (limit: number | undefined) => {
      const value = limit ?? DefaultListLimit
      return Number.isInteger(value) && value >= 1 && value <= MaxListLimit
        ? Effect.succeed(value)
        : Effect.fail(
            new InvalidInput({
              field: "limit",
              message: `limit must be an integer between 1 and ${MaxListLimit}, got ${value}`,
            }),
          )
    }

    const manager: JobManager["Type"] = JobManager.of({
      instance,
      jobTypes: [...registry.keys()],
      job,
      trigger: (jobType, opts = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const params = yield* JobParams.decode(resolved, opts.params)
          const result = yield* start(resolved, yield* makeTriggerId, 1, opts, params)
          // An operator's trigger; cron, catch-up and continuous starts are the library's own.
          if ((opts.source ?? "manual") === "manual")
            yield* audit(
              "trigger",
              resolved.type,
              opts.by,
              Option.match(params, {
                onNone: () => "",
                onSome: (p) => `params ${JSON.stringify(p.encoded)}`,
              }),
              triggerOutcome(result),
            )
          return result
        }),
      retrigger: (jobType, triggerId, attempt, options = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const id = yield* decode(TriggerId, "triggerId", triggerId)
          if (!Number.isInteger(attempt) || attempt < 1)
            return yield* new InvalidInput({
              field: "attempt",
              message: `attempt must be >= 1, got ${attempt}`,
            })
          const params = yield* JobParams.decode(resolved, options.params)
          return yield* start(resolved, id, attempt, { source: "retry" }, params)
        }),
      cancel: (jobType, options = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const done = yield* Effect.either(cancelExecution(resolved))
          const outcome = Either.match(done, {
            onLeft: (e) => `failed: ${e.message}`,
            onRight: () => "requested",
          })
          yield* audit("cancel", resolved.type, options.by, "", outcome)
          return yield* done
        }),
      pause: (jobType, options = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const pause = yield* pauseOptions(resolved, options)
          const now = yield* Clock.currentTimeMillis
          const previous = Option.filter(yield* locks.pause(pause), (p) => inForce(p, now))
          // A continuous job is not restarted while paused, so it stops: here at once, on another
          // instance by that instance's watch loop (Scheduler), within its watchEvery. Other jobs
          // finish the run they are in.
          if (Option.isSome(resolved.continuous))
            yield* Effect.forEach(yield* localOf(resolved.type), (e) => e.stop("paused"), { discard: true })
          yield* Effect.logInfo("job type paused").pipe(
            Effect.annotateLogs({ jobType: resolved.type, by: pause.by, note: pause.note }),
          )
          const changed = Option.match(previous, { onNone: () => true, onSome: (p) => !samePause(p, pause) })
          yield* audit(
            "pause",
            resolved.type,
            pause.by,
            JSON.stringify({
              note: pause.note,
              until: Option.getOrNull(pause.until)?.toISOString() ?? null,
              blockManual: pause.blockManual,
            }),
            changed ? "paused" : "no change",
          )
          return { previous, current: Option.some(pause), changed }
        }),
      resume: (jobType, options = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const now = yield* Clock.currentTimeMillis
          const previous = Option.filter(yield* locks.resume(resolved.type), (p) => inForce(p, now))
          if (Option.isSome(previous))
            yield* Effect.logInfo("job type resumed").pipe(Effect.annotateLogs({ jobType: resolved.type }))
          yield* audit(
            "resume",
            resolved.type,
            options.by,
            "",
            Option.isSome(previous) ? "resumed" : "no change",
          )
          return { previous, current: Option.none(), changed: Option.isSome(previous) }
        }),
      paused: (jobType) => Effect.flatMap(job(jobType), (resolved) => pauseInForce(resolved.type)),
      auditLog: (opts = {}) =>
        Effect.gen(function* () {
          const jobType = opts.jobType === undefined ? undefined : (yield* job(opts.jobType)).type
          const limit = yield* limitOf(opts.limit)
          const before = opts.before === undefined ? undefined : yield* decode(AuditId, "before", opts.before)
          return yield* statuses.auditLog({ jobType, limit, before })
        }),
      eventLog,
      events: (jobType, opts = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const limit = yield* limitOf(opts.limit)
          const before = opts.before === undefined ? undefined : yield* decode(EventId, "before", opts.before)
          return yield* statuses.events({ jobType: resolved.type, limit, before })
        }),
      list: (jobType, opts = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const limit = yield* limitOf(opts.limit)
          const before = opts.before === undefined ? undefined : yield* decode(JobId, "before", opts.before)
          return yield* statuses.list(resolved.type, { limit, before })
        }),
      latest: (jobType) =>
        Effect.flatMap(job(jobType), (resolved) =>
          Effect.map(statuses.list(resolved.type, { limit: 1 }), (rows) => Option.fromNullable(rows[0])),
        ),
      status: (jobType, jobId) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          return yield* statuses.get(resolved.type, yield* decode(JobId, "jobId", jobId))
        }),
      history: (jobType, jobId, opts = {}) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const id = yield* decode(JobId, "jobId", jobId)
          // One execution's history usually fits one page: the default is the most, not a list's 20.
          const limit = yield* limitOf(opts.limit ?? MaxListLimit)
          const before =
            opts.before === undefined ? undefined : yield* decode(HistoryCursor, "before", opts.before)
          return yield* statuses.history(resolved.type, id, { limit, before })
        }),
      backfill: (jobType, options) =>
        Effect.gen(function* () {
          const resolved = yield* job(jobType)
          const slots = yield* Backfill.slotsOf(resolved, options, yield* Clock.currentTimeMillis)
          const claims = yield* Effect.forEach(slots, (slot) => locks.slotClaim(resolved.type, slot), {
            concurrency: 8,
          })
          const plan: Backfill.BackfillPlan = {
            jobType: resolved.type,
            from: options.from,
            to: options.to,
            dryRun: options.dryRun ?? false,
            slots: slots.map((slot, i) => ({
              slot: new Date(slot),
              action: Option.isSome(claims[i]!) ? "skip" : "run",
              claimedBy: Option.map(claims[i]!, (c) => c.instance),
            })),
          }
          yield* audit(
            "backfill",
            resolved.type,
            options.by,
            Backfill.describePlan(plan),
            plan.dryRun ? "dry run: nothing ran" : "started",
          )
          // In the manager's scope: a shutdown interrupts it (the slot running then ends CANCELED).
          if (!plan.dryRun) yield* Effect.forkIn(runBackfill(resolved, plan, options.by), scope)
          return plan
        }),
      running: Effect.sync(runningNow),
      awaitExecution: awaitLocal,
      shutdown,
    })
    services = services.pipe(
      Context.add(JobManager, manager),
      Context.add(LockRepository, locks),
      Context.add(StatusRepository, statuses),
    ) as Context.Context<never>
    return manager
  })

/** The manager as a layer; its scope is the layer's. */
export const layer = <const Jobs extends Iterable<Any<any>>, R = Exclude<Requirements<Jobs>, Provided>>(
  jobs: Jobs,
  options?: JobManagerOptions,
): Layer.Layer<JobManager, InvalidJobDefinition, JobRunner | StatusRepository | LockRepository | R> =>
  Layer.scoped(JobManager, make<Jobs, R>(jobs, options))

/** The manager with its runner and leases: needs only the two repositories (a store layer). */
export const layerWithRunner = <
  const Jobs extends Iterable<Any<any>>,
  R = Exclude<Requirements<Jobs>, Provided>,
>(
  jobs: Jobs,
  options?: JobManagerOptions,
): Layer.Layer<JobManager, InvalidJobDefinition, StatusRepository | LockRepository | R> =>
  layer<Jobs, R>(jobs, options).pipe(Layer.provide(JobRunnerLayer.layer), Layer.provide(LeaseLayer.layer))
