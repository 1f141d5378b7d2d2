import { Schema } from "effect"
import { JobId, TriggerId } from "./Ids.js"
import { JobResult, JobState, TriggerSource } from "./JobState.js"
import { JobType, LockType } from "./Names.js"

/**
 * How a field is stored; every store has one codec per storage (SqlStatuses.ts, cassandra/Statuses.ts):
 * - `text`: a string column;
 * - `int` / `long`: a 32-bit / 64-bit integer column (PostgreSQL returns bigint as text, Cassandra as Long);
 * - `timestamp`: a Date, stored as epoch milliseconds (SQL) or a timestamp (Cassandra), ISO-8601 in JSON;
 * - `json`: any JSON value, stored as its text (read back exactly as written, in every store).
 */
export type Storage = keyof StorageValues

/** The domain value of each storage: a field's Schema must decode to it (checked by the helpers below). */
export interface StorageValues {
  readonly text: string
  readonly int: number
  readonly long: number
  readonly timestamp: Date
  readonly json: unknown
}

/** `S` when its values fit storage `T`, else a type error at the field's declaration. */
type Fitting<S extends Schema.Schema.Any, T extends Storage> =
  Schema.Schema.Type<S> extends StorageValues[T] ? S : never

/** One field of a status: its Schema, its column, how it is stored; absent values are NULL / omitted. */
export interface StatusField<S extends Schema.Schema.Any = Schema.Schema.Any, O extends boolean = boolean> {
  readonly schema: S
  readonly optional: O
  /** The column in every store (snake_case). */
  readonly column: string
  readonly storage: Storage
  /** ha-jobs' field: the JSON shows ha-jobs' fields first, in ha-jobs' order, then ours. */
  readonly haJobs: boolean
  /** For the API documentation. */
  readonly description?: string
}

type Options = { readonly haJobs?: boolean; readonly description?: string }

const required = <S extends Schema.Schema.Any, T extends Storage>(
  schema: Fitting<S, T>,
  column: string,
  storage: T,
  options: Options = {},
): StatusField<S, false> => ({ schema, optional: false, column, storage, haJobs: false, ...options })

const optional = <S extends Schema.Schema.Any, T extends Storage>(
  schema: Fitting<S, T>,
  column: string,
  storage: T,
  options: Options = {},
): StatusField<S, true> => ({ schema, optional: true, column, storage, haJobs: false, ...options })

/**
 * THE definition of a status: every field once, in the order of the status JSON. The domain class
 * (JobStatus), the SQL and Cassandra rows, the HTTP JSON schema and the dashboard's field list are
 * derived from it (test/domain/StatusFields.test.ts checks each). Adding a field is one entry here
 * plus a migration per store (migrations/sqlite, migrations/postgres, migrations/cassandra), which
 * that test also checks.
 */
export const statusFields = {
  triggerId: required(TriggerId, "trigger_id", "text", { haJobs: true }),
  jobType: required(JobType, "job_type", "text", { haJobs: true }),
  jobId: required(JobId, "job_id", "text", { haJobs: true }),
  jobState: required(JobState, "job_state", "text", { haJobs: true }),
  jobResult: required(JobResult, "job_result", "text", { haJobs: true }),
  jobStatusTs: required(Schema.Date, "job_status_ts", "timestamp", {
    haJobs: true,
    description: "When this status was written (ISO-8601, ms)",
  }),
  content: optional(Schema.Unknown, "content", "json", {
    haJobs: true,
    description: "JSON written by the job (progress or result); omitted when absent",
  }),
  lockType: required(LockType, "lock_type", "text"),
  fencingToken: optional(Schema.Number, "fencing_token", "long", {
    description: "The fencing token of the lease this execution ran under; absent when it never held one",
  }),
  attempt: required(Schema.Int, "attempt", "int", {
    description: "1 for the first execution of a trigger, 2 for its first retry, ...",
  }),
  triggerSource: required(TriggerSource, "trigger_source", "text"),
  scheduledAt: optional(Schema.Date, "scheduled_at", "timestamp", {
    description: "The cron slot this execution belongs to, for scheduled runs",
  }),
  params: optional(Schema.Unknown, "params", "json", {
    description:
      "The params the trigger was given (JSON, as the job's params schema encodes them), kept by its retries; omitted when none",
  }),
  instance: optional(Schema.String, "instance", "text", {
    description: "The instance that wrote this status",
  }),
  reason: optional(Schema.String, "reason", "text", {
    description:
      'Why the execution ended in this state: "lease lost", "shutdown", "cancelled", "paused", an error message...',
  }),
} as const satisfies Record<string, StatusField>

export type StatusFields = typeof statusFields
export type StatusFieldName = keyof StatusFields

// Consumers derive what they need from `statusFields` itself (not from values computed here), so a
// test can extend the one list and see every consumer follow (test/domain/StatusFields.test.ts).

/** The fields as [name, field] pairs, in order. */
export const fieldEntries = (fields: StatusFields): ReadonlyArray<readonly [StatusFieldName, StatusField]> =>
  Object.entries(fields) as ReadonlyArray<readonly [StatusFieldName, StatusField]>

/** The columns of a status in every store, in order. */
export const columnNames = (fields: StatusFields): ReadonlyArray<string> =>
  fieldEntries(fields).map(([, f]) => f.column)

/** The Schema struct fields of a field list (optional ones as `Schema.optional`). */
export type SchemaFieldsOf<F extends Record<string, StatusField>> = {
  readonly [K in keyof F]: F[K] extends StatusField<infer S, true>
    ? Schema.optional<S>
    : F[K] extends StatusField<infer S, false>
      ? S
      : never
}

export const schemaFieldsOf = <F extends Record<string, StatusField>>(fields: F): SchemaFieldsOf<F> =>
  Object.fromEntries(
    Object.entries(fields).map(([name, f]) => [name, f.optional ? Schema.optional(f.schema) : f.schema]),
  ) as SchemaFieldsOf<F>
