import type { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { JobId, TriggerId } from "../../domain/Ids.js"
import type { JobResult, JobState, TriggerSource } from "../../domain/JobState.js"
import { JobStatus } from "../../domain/JobStatus.js"
import type { JobType, LockType } from "../../domain/Names.js"
import { type ListOptions, StatusRepository } from "../../services/StatusRepository.js"
import { storeError } from "./storeError.js"

// PostgreSQL returns BIGINT columns as strings, SQLite as numbers: every number goes through Number().
type Int = number | string

interface StatusRow {
  readonly trigger_id: string
  readonly job_type: string
  readonly job_id: string
  readonly lock_type: string
  readonly job_state: string
  readonly job_result: string
  readonly job_status_ts: Int
  readonly content: string | null
  readonly fencing_token: Int | null
  readonly attempt: Int
  readonly trigger_source: string
  readonly reason: string | null
  readonly scheduled_at: Int | null
  readonly instance: string | null
}

const columns = (s: JobStatus) => ({
  trigger_id: s.triggerId,
  job_type: s.jobType,
  job_id: s.jobId,
  lock_type: s.lockType,
  job_state: s.jobState,
  job_result: s.jobResult,
  job_status_ts: s.jobStatusTs.getTime(),
  // JSON as text: read back exactly as written, in every dialect.
  content: s.content === undefined ? null : JSON.stringify(s.content),
  fencing_token: s.fencingToken ?? null,
  attempt: s.attempt,
  trigger_source: s.triggerSource,
  reason: s.reason ?? null,
  scheduled_at: s.scheduledAt?.getTime() ?? null,
  instance: s.instance ?? null,
})

const fromRow = (r: StatusRow): JobStatus =>
  new JobStatus({
    triggerId: r.trigger_id as TriggerId,
    jobType: r.job_type as JobType,
    jobId: r.job_id as JobId,
    lockType: r.lock_type as LockType,
    jobState: r.job_state as JobState,
    jobResult: r.job_result as JobResult,
    jobStatusTs: new Date(Number(r.job_status_ts)),
    attempt: Number(r.attempt),
    triggerSource: r.trigger_source as TriggerSource,
    ...(r.content === null ? {} : { content: JSON.parse(r.content) as unknown }),
    ...(r.fencing_token === null ? {} : { fencingToken: Number(r.fencing_token) }),
    ...(r.reason === null ? {} : { reason: r.reason }),
    ...(r.scheduled_at === null ? {} : { scheduledAt: new Date(Number(r.scheduled_at)) }),
    ...(r.instance === null ? {} : { instance: r.instance }),
  })

const decodeRows = (operation: string) => (rows: ReadonlyArray<StatusRow>) =>
  Effect.try({ try: () => rows.map(fromRow), catch: (e) => storeError(operation, e) })

/**
 * Statuses in two tables, for every SQL dialect: the history (append-only) and the latest status per
 * execution. Job ids are time-ordered text, compared byte-wise (PostgreSQL's columns say COLLATE "C").
 */
export const make = (sql: SqlClient.SqlClient) => {
  const latest = (
    operation: string,
    jobType: JobType,
    { limit, before }: ListOptions,
    pendingOnly: boolean,
  ) =>
    sql<StatusRow>`
      SELECT * FROM ha_executions
      WHERE job_type = ${jobType}
        ${before === undefined ? sql`` : sql`AND job_id < ${before}`}
        ${pendingOnly ? sql`AND job_result = 'PENDING'` : sql``}
      ORDER BY job_id DESC LIMIT ${limit}`.pipe(
      Effect.mapError((e) => storeError(operation, e)),
      Effect.flatMap(decodeRows(operation)),
    )

  return StatusRepository.of({
    save: (status) => {
      const row = columns(status)
      // Both writes or neither: the history and the latest status must agree.
      return sql
        .withTransaction(
          Effect.zipRight(
            sql`INSERT INTO ha_status_history ${sql.insert(row)}`,
            sql`INSERT INTO ha_executions ${sql.insert(row)}
                ON CONFLICT (job_type, job_id) DO UPDATE SET
                  trigger_id = excluded.trigger_id, lock_type = excluded.lock_type,
                  job_state = excluded.job_state, job_result = excluded.job_result,
                  job_status_ts = excluded.job_status_ts, content = excluded.content,
                  fencing_token = excluded.fencing_token, attempt = excluded.attempt,
                  trigger_source = excluded.trigger_source, reason = excluded.reason,
                  scheduled_at = excluded.scheduled_at, instance = excluded.instance`,
          ),
        )
        .pipe(
          Effect.asVoid,
          Effect.mapError((e) => storeError("save", e)),
        )
    },
    list: (jobType, options) => latest("list", jobType, options, false),
    listPending: (jobType, options) => latest("listPending", jobType, options, true),
    get: (jobType, jobId) =>
      sql<StatusRow>`SELECT * FROM ha_executions WHERE job_type = ${jobType} AND job_id = ${jobId}`.pipe(
        Effect.mapError((e) => storeError("get", e)),
        Effect.flatMap(decodeRows("get")),
        Effect.map((rows) => Option.fromNullable(rows[0])),
      ),
    history: (jobType, jobId, limit) =>
      sql<StatusRow>`
        SELECT * FROM ha_status_history WHERE job_type = ${jobType} AND job_id = ${jobId}
        ORDER BY id DESC LIMIT ${limit}`.pipe(
        Effect.mapError((e) => storeError("history", e)),
        Effect.flatMap(decodeRows("history")),
      ),
  })
}
