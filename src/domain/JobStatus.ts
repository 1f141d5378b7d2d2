/**
 * src/domain: what the library talks about, as definitions without behaviour — ids, names, job
 * states, the status and its fields, outcomes, cron parsing, lease timing, every public error
 * (Errors.ts) and every metric (Metrics.ts). May import: nothing. (docs/architecture.md)
 *
 * This module: one status of one execution, as every store keeps it.
 */
import { Schema } from "effect"
import { stateToResult } from "./JobState.js"
import {
  fieldEntries,
  type StatusFieldName,
  type Storage,
  type StorageValues,
  schemaFieldsOf,
  statusFields,
} from "./StatusFields.js"

/**
 * One status of one execution. Its fields are declared once, in StatusFields.ts (with their
 * meanings); the field names are ha-jobs' (triggerId, jobType, jobId, jobState, jobResult,
 * jobStatusTs, content), the rest is what ha-jobs could not tell.
 */
export class JobStatus extends Schema.Class<JobStatus>("JobStatus")(schemaFieldsOf(statusFields)) {}

/** What a writer of a status chooses; the result and the time are not its choice. */
export type JobStatusFields = Omit<ConstructorParameters<typeof JobStatus>[0], "jobResult" | "jobStatusTs">

/** A status written at `now` (epoch millis): its result always follows from its state. */
export const statusAt = (now: number, fields: JobStatusFields): JobStatus =>
  new JobStatus({ ...fields, jobResult: stateToResult(fields.jobState), jobStatusTs: new Date(now) })

const entries = fieldEntries(statusFields)

/** A store's conversion of a field value to and from its column value (never called on absent values). */
export interface ColumnCodec<A> {
  readonly write: (value: A) => unknown
  readonly read: (column: never) => A
}

/** A store's codec for each storage of StatusFields.ts. */
export type ColumnCodecs = { readonly [S in Storage]: ColumnCodec<StorageValues[S]> }

/**
 * The column values of a status, in StatusFields' order, keyed by column; an absent optional field
 * as `absent` (NULL, or a driver's "unset").
 */
export const toColumns = (
  status: JobStatus,
  codecs: ColumnCodecs,
  absent: null | undefined = null,
): Record<string, unknown> => {
  const row: Record<string, unknown> = {}
  for (const [name, field] of entries) {
    const value = status[name]
    row[field.column] = value === undefined ? absent : codecs[field.storage].write(value as never)
  }
  return row
}

/**
 * A status from its columns (`get(column)`); NULL (or undefined) is an absent optional field. The
 * constructor validates every field (a stored value the Schema rejects throws).
 */
export const fromColumns = (get: (column: string) => unknown, codecs: ColumnCodecs): JobStatus => {
  const fields: Partial<Record<StatusFieldName, unknown>> = {}
  for (const [name, field] of entries) {
    const value = get(field.column)
    if (value !== null && value !== undefined) fields[name] = codecs[field.storage].read(value as never)
  }
  return new JobStatus(fields as ConstructorParameters<typeof JobStatus>[0])
}
