import { Context, type Effect, type Option } from "effect"
import type { AuditEntry } from "../domain/Audit.js"
import { InvalidInput, type StoreError } from "../domain/Errors.js"
import type { AuditId, EventId, HistoryCursor, JobId } from "../domain/Ids.js"
import type { InstanceSeen } from "../domain/Instance.js"
import type { JobEvent } from "../domain/JobEvent.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { JobType } from "../domain/Names.js"

export interface ListOptions {
  /** At most this many executions (callers validate 1..1000). */
  readonly limit: number
  /** Cursor: only executions started before this one (strictly smaller job id). */
  readonly before?: JobId | undefined
}

/** One page of an execution's status history, newest first. */
export interface HistoryPage {
  readonly statuses: ReadonlyArray<JobStatus>
  /** Where the next (older) page starts: none when this page holds the oldest status. */
  readonly next: Option.Option<HistoryCursor>
}

/** A history cursor some other store made (each store makes its own kind: HistoryCursor). */
export const foreignCursor = (cursor: string | undefined) =>
  new InvalidInput({
    field: "before",
    message: `history cursor "${cursor}" was not made by this store: start without it and follow each page's next`,
  })

/**
 * The store port for statuses: an append-only history per execution and the latest status of each
 * execution, listed newest-started first; the audit log of operator actions; each job type's
 * events (the library's decisions about slots and triggers that are not executions); and the
 * instances' heartbeats.
 */
export class StatusRepository extends Context.Tag("effect-ha-jobs/StatusRepository")<
  StatusRepository,
  {
    /** Appends to the execution's history and makes it its latest status. */
    readonly save: (status: JobStatus) => Effect.Effect<void, StoreError>
    /** Latest status of each execution of a job type, newest job id first. */
    readonly list: (
      jobType: JobType,
      options: ListOptions,
    ) => Effect.Effect<ReadonlyArray<JobStatus>, StoreError>
    /** Latest status of one execution. */
    readonly get: (jobType: JobType, jobId: JobId) => Effect.Effect<Option.Option<JobStatus>, StoreError>
    /**
     * The statuses written for one execution, newest first, at most `limit` (callers validate
     * 1..1000); `before` (a page's `next`) pages. A cursor this store did not make is InvalidInput.
     */
    readonly history: (
      jobType: JobType,
      jobId: JobId,
      options: { readonly limit: number; readonly before?: HistoryCursor | undefined },
    ) => Effect.Effect<HistoryPage, StoreError | InvalidInput>
    /**
     * Executions whose latest status is PENDING (RUNNING, PREPARING), newest job id first, paged
     * like `list`, so a supervisor can cover all of them in bounded queries.
     */
    readonly listPending: (
      jobType: JobType,
      options: ListOptions,
    ) => Effect.Effect<ReadonlyArray<JobStatus>, StoreError>
    /** Appends one operator action to the audit log (kept as long as statuses are). */
    readonly record: (entry: AuditEntry) => Effect.Effect<void, StoreError>
    /**
     * The audit log, newest id first: of one job type, or of all; `before` (an entry id) pages, like
     * `list`. At most `limit` entries (callers validate 1..1000).
     */
    readonly auditLog: (options: {
      readonly jobType?: JobType | undefined
      readonly limit: number
      readonly before?: AuditId | undefined
    }) => Effect.Effect<ReadonlyArray<AuditEntry>, StoreError>
    /**
     * Appends one event; recording the same id again replaces it (one row: a coalesced event that
     * grew). Kept as long as statuses are.
     */
    readonly recordEvent: (event: JobEvent) => Effect.Effect<void, StoreError>
    /**
     * An instance's heartbeat: it is alive now, by the store's clock (`seenAt`). The same instance
     * announcing again replaces its row.
     */
    readonly announce: (beat: {
      readonly instance: string
      readonly startedAt: Date
      readonly everyMs: number
    }) => Effect.Effect<void, StoreError>
    /**
     * The instances seen within InstanceRetentionMs, by name, and the store's time now (to tell who
     * is gone without trusting the reader's clock).
     */
    readonly instances: Effect.Effect<
      { readonly now: Date; readonly instances: ReadonlyArray<InstanceSeen> },
      StoreError
    >
    /** A job type's events, newest id first; `before` (an event id) pages. At most `limit` (1..1000). */
    readonly events: (options: {
      readonly jobType: JobType
      readonly limit: number
      readonly before?: EventId | undefined
    }) => Effect.Effect<ReadonlyArray<JobEvent>, StoreError>
  }
>() {}
