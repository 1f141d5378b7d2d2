import type { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { AuditEntry } from "../../domain/Audit.js"
import { StoreError } from "../../domain/Errors.js"
import type { HistoryCursor } from "../../domain/Ids.js"
import { InstanceRetentionMs } from "../../domain/Instance.js"
import { JobEvent } from "../../domain/JobEvent.js"
import { type ColumnCodecs, fromColumns, type JobStatus, toColumns } from "../../domain/JobStatus.js"
import type { JobType } from "../../domain/Names.js"
import { columnNames, statusFields } from "../../domain/StatusFields.js"
import { foreignCursor, type ListOptions, StatusRepository } from "../../ports/StatusRepository.js"
import type { Now } from "./SqlLocks.js"

// PostgreSQL returns BIGINT columns as strings, SQLite as numbers: every number goes through Number().
/** The SQL columns of each storage (StatusFields.ts): times as epoch milliseconds, JSON as text. */
export const sqlCodecs: ColumnCodecs = {
  text: { write: (v: string) => v, read: (c: string) => c },
  int: { write: (v: number) => v, read: (c: number | string) => Number(c) },
  long: { write: (v: number) => v, read: (c: number | string) => Number(c) },
  timestamp: { write: (v: Date) => v.getTime(), read: (c: number | string) => new Date(Number(c)) },
  // JSON as text: read back exactly as written, in every dialect.
  json: { write: (v: unknown) => JSON.stringify(v), read: (c: string) => JSON.parse(c) as unknown },
}

type StatusRow = Readonly<Record<string, unknown>>

/** The row of a status in both status tables (a column per field of StatusFields.ts). */
export const columns = (s: JobStatus) => toColumns(s, sqlCodecs)

const fromRow = (r: StatusRow): JobStatus => fromColumns((column) => r[column], sqlCodecs)

/** Every column but the key is replaced when the latest status of an execution is written again. */
const keyColumns = new Set([statusFields.jobType.column, statusFields.jobId.column])
export const updatedColumns = columnNames(statusFields).filter((c) => !keyColumns.has(c))

const decodeRows = (operation: string) => (rows: ReadonlyArray<StatusRow>) =>
  Effect.try({ try: () => rows.map(fromRow), catch: (e) => StoreError.fromUnknown(operation, e) })

/** The row of an audit entry in ha_audit (migrations/<dialect>/0004_audit.sql): `at` in epoch ms. */
const auditRow = (e: AuditEntry) => ({
  id: e.id,
  at: e.at.getTime(),
  instance: e.instance,
  action: e.action,
  job_type: e.jobType,
  identity: e.identity,
  detail: e.detail,
  outcome: e.outcome,
})

const fromAuditRow = (r: StatusRow): AuditEntry =>
  new AuditEntry({
    id: r.id as AuditEntry["id"],
    at: new Date(Number(r.at)),
    instance: r.instance as string,
    action: r.action as AuditEntry["action"],
    jobType: r.job_type as AuditEntry["jobType"],
    identity: r.identity as string,
    detail: r.detail as string,
    outcome: r.outcome as string,
  })

/** The row of a job event in ha_events (migrations/<dialect>/0006_events.sql): times in epoch ms. */
const eventRow = (e: JobEvent) => ({
  id: e.id,
  at: e.at.getTime(),
  job_type: e.jobType,
  kind: e.kind,
  instance: e.instance,
  reason: e.reason,
  count: e.count,
  from_at: e.from.getTime(),
  to_at: e.to.getTime(),
})

const fromEventRow = (r: StatusRow): JobEvent =>
  new JobEvent({
    id: r.id as JobEvent["id"],
    at: new Date(Number(r.at)),
    jobType: r.job_type as JobEvent["jobType"],
    kind: r.kind as JobEvent["kind"],
    instance: r.instance as string,
    reason: r.reason as string,
    count: Number(r.count),
    from: new Date(Number(r.from_at)),
    to: new Date(Number(r.to_at)),
  })

/**
 * Statuses in two tables, for every SQL dialect: the history (append-only) and the latest status per
 * execution. Job ids are time-ordered text, compared byte-wise (PostgreSQL's columns say COLLATE "C").
 * The audit log in ha_audit and job events in ha_events, one row each, by the same kind of id.
 */
export const make = (sql: SqlClient.SqlClient, now: Now) => {
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
      StoreError.refail(operation),
      Effect.flatMap(decodeRows(operation)),
    )

  const upsert = sql.unsafe(updatedColumns.map((c) => `${c} = excluded.${c}`).join(", "))

  return StatusRepository.of({
    save: (status) => {
      const row = columns(status)
      // Both writes or neither: the history and the latest status must agree.
      return sql
        .withTransaction(
          Effect.zipRight(
            sql`INSERT INTO ha_status_history ${sql.insert(row)}`,
            sql`INSERT INTO ha_executions ${sql.insert(row)}
                ON CONFLICT (job_type, job_id) DO UPDATE SET ${upsert}`,
          ),
        )
        .pipe(Effect.asVoid, StoreError.refail("save"))
    },
    list: (jobType, options) => latest("list", jobType, options, false),
    listPending: (jobType, options) => latest("listPending", jobType, options, true),
    get: (jobType, jobId) =>
      sql<StatusRow>`SELECT * FROM ha_executions WHERE job_type = ${jobType} AND job_id = ${jobId}`.pipe(
        StoreError.refail("get"),
        Effect.flatMap(decodeRows("get")),
        Effect.map((rows) => Option.fromNullable(rows[0])),
      ),
    // The cursor is the row id (ha_status_history.id, increasing in write order); one row more than
    // asked for says whether there is a next page.
    history: (jobType, jobId, { limit, before }) =>
      Effect.gen(function* () {
        if (before !== undefined && !/^\d+$/.test(before)) return yield* foreignCursor(before)
        const n = Math.max(0, Math.floor(limit))
        const rows = yield* sql<StatusRow>`
          SELECT * FROM ha_status_history WHERE job_type = ${jobType} AND job_id = ${jobId}
            ${before === undefined ? sql`` : sql`AND id < ${Number(before)}`}
          ORDER BY id DESC LIMIT ${n + 1}`.pipe(StoreError.refail("history"))
        const page = rows.slice(0, n)
        const statuses = yield* decodeRows("history")(page)
        const last = page.at(-1)
        return {
          statuses,
          next:
            rows.length > n && last !== undefined
              ? Option.some(String(last.id) as HistoryCursor)
              : Option.none(),
        }
      }),
    // The same entry recorded again (a retry whose first answer was lost) is kept once.
    record: (entry) =>
      sql`INSERT INTO ha_audit ${sql.insert(auditRow(entry))} ON CONFLICT (id) DO NOTHING`.pipe(
        Effect.asVoid,
        StoreError.refail("record"),
      ),
    auditLog: ({ jobType, limit, before }) =>
      sql<StatusRow>`
        SELECT * FROM ha_audit
        WHERE ${sql.and([
          ...(jobType === undefined ? [] : [sql`job_type = ${jobType}`]),
          ...(before === undefined ? [] : [sql`id < ${before}`]),
        ])}
        ORDER BY id DESC LIMIT ${Math.max(0, Math.floor(limit))}`.pipe(
        StoreError.refail("auditLog"),
        Effect.flatMap((rows) =>
          Effect.try({
            try: () => rows.map(fromAuditRow),
            catch: (e) => StoreError.fromUnknown("auditLog", e),
          }),
        ),
      ),
    // One row per instance, replaced; rows not seen for a day go with the next heartbeat.
    announce: ({ instance, startedAt, everyMs }) =>
      Effect.gen(function* () {
        const t = yield* now
        yield* sql`
          INSERT INTO ha_instances (instance, started_at, seen_at, every_ms)
          VALUES (${instance}, ${startedAt.getTime()}, ${t}, ${everyMs})
          ON CONFLICT (instance) DO UPDATE
          SET started_at = excluded.started_at, seen_at = excluded.seen_at, every_ms = excluded.every_ms`
        yield* sql`DELETE FROM ha_instances WHERE seen_at < ${t} - ${InstanceRetentionMs}`
      }).pipe(StoreError.refail("announce")),
    instances: Effect.gen(function* () {
      const t = yield* now
      const [clock] = yield* sql<{ readonly now: number | string }>`SELECT ${t} AS now`
      const at = Number(clock!.now)
      const rows = yield* sql<StatusRow>`
        SELECT * FROM ha_instances WHERE seen_at >= ${at - InstanceRetentionMs} ORDER BY instance`
      return {
        now: new Date(at),
        instances: rows.map((r) => ({
          instance: r.instance as string,
          startedAt: new Date(Number(r.started_at)),
          seenAt: new Date(Number(r.seen_at)),
          everyMs: Number(r.every_ms),
        })),
      }
    }).pipe(StoreError.refail("instances")),
    // The same event recorded again replaces it: a coalesced event grows (count, to, at) under its id.
    recordEvent: (event) =>
      sql`INSERT INTO ha_events ${sql.insert(eventRow(event))}
        ON CONFLICT (id) DO UPDATE SET at = excluded.at, count = excluded.count, to_at = excluded.to_at`.pipe(
        Effect.asVoid,
        StoreError.refail("recordEvent"),
      ),
    events: ({ jobType, limit, before }) =>
      sql<StatusRow>`
        SELECT * FROM ha_events
        WHERE job_type = ${jobType} ${before === undefined ? sql`` : sql`AND id < ${before}`}
        ORDER BY id DESC LIMIT ${Math.max(0, Math.floor(limit))}`.pipe(
        StoreError.refail("events"),
        Effect.flatMap((rows) =>
          Effect.try({
            try: () => rows.map(fromEventRow),
            catch: (e) => StoreError.fromUnknown("events", e),
          }),
        ),
      ),
  })
}
