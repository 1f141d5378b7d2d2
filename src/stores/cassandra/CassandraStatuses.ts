import type cassandra from "cassandra-driver"
import { Clock, Duration, Effect, Metric, Option } from "effect"
import { AuditEntry } from "../../domain/Audit.js"
import { CqlFailure, describeCause, StoreError } from "../../domain/Errors.js"
import {
  type AuditId,
  type EventId,
  type HistoryCursor,
  type JobId,
  makeJobId,
  timestampOf,
} from "../../domain/Ids.js"
import { InstanceRetentionMs } from "../../domain/Instance.js"
import { JobEvent } from "../../domain/JobEvent.js"
import { type ColumnCodecs, fromColumns, type JobStatus, toColumns } from "../../domain/JobStatus.js"
import { cassandraBatchUnlogged } from "../../domain/Metrics.js"
import type { JobType } from "../../domain/Names.js"
import { columnNames, statusFields } from "../../domain/StatusFields.js"
import { foreignCursor, type StatusRepository } from "../../ports/StatusRepository.js"
import {
  ClockSkewAllowance,
  dayOf,
  dayStart,
  makeLegacyLatest,
  previousDay,
  smallestIdOf,
} from "./CassandraBuckets.js"
import { describeFailure, type Row, type Session } from "./Driver.js"

/** A logged status batch waits this long at most before it is sent again unlogged (see writeStatus). */
const loggedBatchTimeout = Duration.seconds(2)
/** After a logged batch timed out, status writes go unlogged for this long (about a gossip conviction). */
const batchlogCooldownMs = 30_000

/** The Cassandra columns of each storage (StatusFields.ts); the driver converts numbers to bigint. */
export const cassandraCodecs: ColumnCodecs = {
  text: { write: (v: string) => v, read: (c: string) => c },
  int: { write: (v: number) => v, read: (c: number) => c },
  long: {
    write: (v: number) => v,
    read: (c: cassandra.types.Long | number) => (typeof c === "number" ? c : c.toNumber()),
  },
  timestamp: { write: (v: Date) => v, read: (c: Date) => c },
  json: { write: (v: unknown) => JSON.stringify(v), read: (c: string) => JSON.parse(c) as unknown },
}

/** The key columns of a status that every status table has (its partition key or clustering). */
const keyColumns: ReadonlyArray<string> = [statusFields.jobType.column, statusFields.jobId.column]

/** The status columns every status table has besides its key (Schema.ts checks them). */
export const valueColumns: ReadonlyArray<string> = columnNames(statusFields).filter(
  (c) => !keyColumns.includes(c),
)

const selected = [...keyColumns, ...valueColumns].join(", ")

/** Column values of a status, absent optional fields as `absent` (unset in history, null in latest). */
const valuesOf = (s: JobStatus, absent: null | undefined): ReadonlyArray<unknown> => {
  const row = toColumns(s, cassandraCodecs, absent)
  return valueColumns.map((c) => row[c])
}

const decode = (row: Row): Effect.Effect<JobStatus, StoreError> =>
  Effect.try({
    try: () => fromColumns((column) => row.get(column), cassandraCodecs),
    catch: (cause) =>
      StoreError.of(
        "decode status",
        `a stored status of job ${String(row.get("job_type"))}/${String(row.get("job_id"))} does not decode: ${describeCause(cause)}`,
        cause,
      ),
  })

/** The columns of an audit entry in audit_by_day and audit_by_type (migrations/cassandra/0006). */
const auditColumns = "id, at, instance, action, job_type, identity, detail, outcome"

const decodeAudit = (row: Row): Effect.Effect<AuditEntry, StoreError> =>
  Effect.try({
    try: () =>
      new AuditEntry({
        id: row.get("id") as AuditId,
        at: row.get("at") as Date,
        instance: row.get("instance") as string,
        action: row.get("action") as AuditEntry["action"],
        jobType: row.get("job_type") as JobType,
        identity: row.get("identity") as string,
        detail: (row.get("detail") as string | null) ?? "",
        outcome: row.get("outcome") as string,
      }),
    catch: (cause) =>
      StoreError.of(
        "decode audit entry",
        `a stored audit entry ${String(row.get("id"))} does not decode: ${describeCause(cause)}`,
        cause,
      ),
  })

/** The columns of a job event in events_by_type (migrations/cassandra/0008). */
const eventColumns = "id, at, job_type, kind, instance, reason, count, from_at, to_at"

const decodeEvent = (row: Row): Effect.Effect<JobEvent, StoreError> =>
  Effect.try({
    try: () =>
      new JobEvent({
        id: row.get("id") as EventId,
        at: row.get("at") as Date,
        jobType: row.get("job_type") as JobType,
        kind: row.get("kind") as JobEvent["kind"],
        instance: row.get("instance") as string,
        reason: row.get("reason") as string,
        count: row.get("count") as number,
        from: row.get("from_at") as Date,
        to: row.get("to_at") as Date,
      }),
    catch: (cause) =>
      StoreError.of(
        "decode job event",
        `a stored job event ${String(row.get("id"))} does not decode: ${describeCause(cause)}`,
        cause,
      ),
  })

/** A bigint column as a number (the driver answers a Long). */
const longOf = (v: unknown): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : (v as cassandra.types.Long).toNumber()

/** A latest-status row with its status id (time-ordered): the later of two copies wins. */
interface Latest {
  readonly status: JobStatus
  readonly statusId: string
}

const decodeLatest = (row: Row): Effect.Effect<Latest, StoreError> =>
  Effect.map(decode(row), (status) => ({ status, statusId: String(row.get("status_id")) }))

/**
 * Two newest-first lists as one, newest first, at most `limit`: an execution in both (written by the
 * former layout, then by this one, or the reverse during a rolling upgrade) once, its later status.
 */
export const mergeNewestFirst = (
  a: ReadonlyArray<Latest>,
  b: ReadonlyArray<Latest>,
  limit: number,
): Array<Latest> => {
  const out: Array<Latest> = []
  let i = 0
  let j = 0
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i]
    const y = b[j]
    if (y === undefined || (x !== undefined && x.status.jobId > y.status.jobId)) {
      out.push(x!)
      i++
    } else if (x === undefined || y.status.jobId > x.status.jobId) {
      out.push(y)
      j++
    } else {
      out.push(x.statusId >= y.statusId ? x : y)
      i++
      j++
    }
  }
  return out
}

/**
 * Statuses in `status_history` (one partition per execution), `status_by_day` (one partition per job
 * type and UTC day, the buckets that have rows listed in `status_days`: why in CassandraBuckets.ts)
 * and `status_pending`, see migrations/cassandra/0002 and 0004. Every row has the retention as TTL.
 * Rows of the former layout (`status_latest`, month buckets) are still read while they can live
 * (CassandraBuckets.ts). The audit log is in `audit_by_day` and `audit_by_type` (migration 0006),
 * job events in `events_by_type` (migration 0008), with the same TTL, in day partitions like
 * `status_by_day`.
 */
export const makeStatuses = (session: Session): StatusRepository["Type"] => {
  const history = session.table("status_history")
  const byDay = session.table("status_by_day")
  const days = session.table("status_days")
  const pending = session.table("status_pending")
  const auditByDay = session.table("audit_by_day")
  const auditByType = session.table("audit_by_type")
  const eventsByType = session.table("events_by_type")
  const instances = session.table("instances")
  const retentionMs = Duration.toMillis(session.config.statusRetention)
  const ttlS = Math.ceil(retentionMs / 1000)
  const markers = (n: number) => Array.from({ length: n }, () => "?").join(", ")
  const withId = `${selected}, status_id`
  const q = {
    insertHistory: `INSERT INTO ${history} (job_type, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(3 + valueColumns.length)}) USING TTL ?`,
    insertLatest: `INSERT INTO ${byDay} (job_type, day, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(4 + valueColumns.length)}) USING TTL ?`,
    insertDay: `INSERT INTO ${days} (job_type, day) VALUES (?, ?) USING TTL ?`,
    insertPending: `INSERT INTO ${pending} (job_type, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(3 + valueColumns.length)}) USING TTL ?`,
    deletePending: `DELETE FROM ${pending} WHERE job_type = ? AND job_id = ?`,
    days: `SELECT day FROM ${days} WHERE job_type = ? AND day >= ? AND day <= ?`,
    list: `SELECT ${withId} FROM ${byDay} WHERE job_type = ? AND day = ? LIMIT ?`,
    listBefore: `SELECT ${withId} FROM ${byDay} WHERE job_type = ? AND day = ? AND job_id < ? LIMIT ?`,
    listPending: `SELECT ${selected} FROM ${pending} WHERE job_type = ? LIMIT ?`,
    listPendingBefore: `SELECT ${selected} FROM ${pending} WHERE job_type = ? AND job_id < ? LIMIT ?`,
    get: `SELECT ${withId} FROM ${byDay} WHERE job_type = ? AND day = ? AND job_id = ?`,
    history: `SELECT ${withId} FROM ${history} WHERE job_type = ? AND job_id = ? LIMIT ?`,
    historyBefore: `SELECT ${withId} FROM ${history} WHERE job_type = ? AND job_id = ? AND status_id < ? LIMIT ?`,
    insertAuditByDay: `INSERT INTO ${auditByDay} (day, ${auditColumns}) VALUES (${markers(9)}) USING TTL ?`,
    insertAuditByType: `INSERT INTO ${auditByType} (job_type, day, id, at, instance, action, identity, detail, outcome) VALUES (${markers(9)}) USING TTL ?`,
    auditByDay: `SELECT ${auditColumns} FROM ${auditByDay} WHERE day = ? LIMIT ?`,
    auditByDayBefore: `SELECT ${auditColumns} FROM ${auditByDay} WHERE day = ? AND id < ? LIMIT ?`,
    auditByType: `SELECT ${auditColumns} FROM ${auditByType} WHERE job_type = ? AND day = ? LIMIT ?`,
    auditByTypeBefore: `SELECT ${auditColumns} FROM ${auditByType} WHERE job_type = ? AND day = ? AND id < ? LIMIT ?`,
    insertEvent: `INSERT INTO ${eventsByType} (day, ${eventColumns}) VALUES (${markers(10)}) USING TTL ?`,
    events: `SELECT ${eventColumns} FROM ${eventsByType} WHERE job_type = ? AND day = ? LIMIT ?`,
    eventsBefore: `SELECT ${eventColumns} FROM ${eventsByType} WHERE job_type = ? AND day = ? AND id < ? LIMIT ?`,
    announce: `INSERT INTO ${instances} (cluster, instance, started_at, seen_at, every_ms) VALUES (0, ?, ?, toTimestamp(now()), ?) USING TTL ${Math.ceil(InstanceRetentionMs / 1000)}`,
    instances: `SELECT instance, started_at, seen_at, every_ms FROM ${instances} WHERE cluster = 0`,
    now: "SELECT toTimestamp(now()) AS now FROM system.local",
  }

  const execute = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: true }).pipe(StoreError.refail(operation, describeFailure))
  const read = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute(operation, query, params), (rs) => Effect.forEach(rs.rows, decode))
  const readLatest = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute(operation, query, params), (rs) => Effect.forEach(rs.rows, decodeLatest))

  const legacy = makeLegacyLatest(session, retentionMs, withId, readLatest)

  // Until when status (and audit) writes skip the batchlog (0: they use it): see writeStatus.
  let batchlogSuspectUntil = 0

  /**
   * One status's rows in one batch, one timestamp. Logged (all or none) as a rule. But a logged batch
   * also needs its batchlog written to two other nodes, chosen among those the failure detector
   * believes alive: for the ~10-30 s after a node dies or is cut off, before gossip convicts it, every
   * logged batch times out while single writes at LOCAL_QUORUM and unlogged batches still succeed
   * (measured on the three-node cluster: 9 of 9 logged batches timed out in the 22 s after a kill -9,
   * 0 of 9 unlogged ones). So a logged batch that times out is sent again unlogged (every statement
   * is idempotent and carries the same values; a late replay of the logged one has the older
   * timestamp and cannot undo a newer status), and for the next `batchlogCooldownMs` status writes go
   * unlogged at once. Unlogged, a status half written by a coordinator dying mid-batch is possible
   * (the supervisor still finds the execution through its pending row, written in the same batch).
   * An audit entry's two rows go the same way (`audit`: not counted in cassandraBatchUnlogged, which
   * counts status writes); unlogged, one of its two rows may be missing.
   */
  const writeStatus = (
    queries: ReadonlyArray<{ readonly query: string; readonly params: ReadonlyArray<unknown> }>,
    audit = false,
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const unlogged = (audit ? Effect.void : Metric.increment(cassandraBatchUnlogged)).pipe(
        Effect.zipRight(session.batch(queries, { logged: false })),
      )
      if (now < batchlogSuspectUntil) return yield* unlogged
      return yield* session.batch(queries).pipe(
        // Bounded here, not by the request timeout: the driver sends an idempotent batch that timed
        // out to the next node, and the next, each as stuck as the first.
        Effect.timeoutFail({
          duration: loggedBatchTimeout,
          onTimeout: () =>
            new CqlFailure({
              cause: new Error(`no answer to the logged batch within ${Duration.format(loggedBatchTimeout)}`),
              outcomeUnknown: true,
            }),
        }),
        Effect.catchIf(
          (failure) => failure.outcomeUnknown,
          (failure) =>
            Effect.logInfo(
              "Cassandra logged batch timed out; status writes skip the batchlog for a while",
            ).pipe(
              Effect.annotateLogs({
                error: describeFailure(failure, audit ? "record audit entry" : "save status"),
                seconds: batchlogCooldownMs / 1000,
              }),
              Effect.zipRight(
                Effect.sync(() => {
                  batchlogSuspectUntil = now + batchlogCooldownMs
                }),
              ),
              Effect.zipRight(unlogged),
            ),
        ),
      )
    })

  const save: StatusRepository["Type"]["save"] = (status) =>
    Effect.gen(function* () {
      // Time-ordered and unique per status: keeps the order of statuses with equal timestamps.
      const statusId = yield* makeJobId
      const day = dayOf(timestampOf(status.jobId))
      // null, not unset: a field the previous latest status had must not survive.
      const latestValues = [...valuesOf(status, null), ttlS]
      // One batch, one timestamp: history, latest, the day index and pending never disagree.
      yield* writeStatus([
        {
          query: q.insertHistory,
          params: [status.jobType, status.jobId, statusId, ...valuesOf(status, undefined), ttlS],
        },
        { query: q.insertLatest, params: [status.jobType, day, status.jobId, statusId, ...latestValues] },
        { query: q.insertDay, params: [status.jobType, day, ttlS] },
        status.jobResult === "PENDING"
          ? { query: q.insertPending, params: [status.jobType, status.jobId, statusId, ...latestValues] }
          : { query: q.deletePending, params: [status.jobType, status.jobId] },
      ]).pipe(StoreError.refail("save status", describeFailure))
    })

  const pendingPage = (jobType: JobType, limit: number, before: string | undefined) =>
    before === undefined
      ? read("list pending statuses", q.listPending, [jobType, limit])
      : read("list pending statuses", q.listPendingBefore, [jobType, before, limit])

  /**
   * Newest execution first: reads the days that have rows from `status_days` (one query), from the
   * cursor's (or the newest) day down to the oldest day the retention can still hold, then those days
   * newest first until the page is full. Executions started before that horizon whose rows are still
   * alive because they still run (a continuous job writing progress) are pending: they come last,
   * from status_pending, in one more query.
   */
  const list: StatusRepository["Type"]["list"] = (jobType, { limit, before }) =>
    Effect.gen(function* () {
      if (limit < 1) return []
      // Wall-clock time, like the server's TTLs that bound what is left (not Effect's Clock, which a
      // test may have replaced).
      const now = Date.now()
      const oldest = dayOf(now - retentionMs)
      const horizon = smallestIdOf(dayStart(oldest))
      const cursorDay = before === undefined ? undefined : dayOf(timestampOf(before))
      // No upper bound without a cursor: a job id from an instance whose clock is ahead is listed too.
      const index = yield* execute("list statuses", q.days, [jobType, oldest, cursorDay ?? 99_991_231])
      const fresh: Array<Latest> = []
      for (const row of index.rows) {
        if (fresh.length >= limit) break
        const day = Number(row.get("day"))
        const remaining = limit - fresh.length
        fresh.push(
          ...(day === cursorDay
            ? yield* readLatest("list statuses", q.listBefore, [jobType, day, before, remaining])
            : yield* readLatest("list statuses", q.list, [jobType, day, remaining])),
        )
      }
      const former = yield* legacy.list(jobType, { limit, before, horizon, now })
      const out = mergeNewestFirst(fresh, former, limit).map((l) => l.status)
      if (out.length < limit)
        out.push(
          ...(yield* pendingPage(
            jobType,
            limit - out.length,
            before !== undefined && before < horizon ? before : horizon,
          )),
        )
      return out
    })

  const listPending: StatusRepository["Type"]["listPending"] = (jobType, { limit, before }) =>
    limit < 1 ? Effect.succeed([]) : pendingPage(jobType, Math.floor(limit), before)

  const get: StatusRepository["Type"]["get"] = (jobType, jobId) =>
    Effect.gen(function* () {
      const fresh = yield* readLatest("get status", q.get, [jobType, dayOf(timestampOf(jobId)), jobId])
      const former = yield* legacy.get(jobType, jobId)
      return Option.fromNullable(mergeNewestFirst(fresh, former, 1)[0]?.status)
    })

  // The cursor is the status id (the clustering key, newest first); one row more than asked for
  // says whether there is a next page.
  const historyOf: StatusRepository["Type"]["history"] = (
    jobType: JobType,
    jobId: JobId,
    { limit, before },
  ) =>
    Effect.gen(function* () {
      if (before !== undefined && !/^[0-9a-f]{8}-/.test(before)) return yield* foreignCursor(before)
      const n = Math.floor(limit)
      if (n < 1) return { statuses: [], next: Option.none() }
      const rows = yield* before === undefined
        ? readLatest("status history", q.history, [jobType, jobId, n + 1])
        : readLatest("status history", q.historyBefore, [jobType, jobId, before, n + 1])
      const page = rows.slice(0, n)
      const last = page.at(-1)
      return {
        statuses: page.map((r) => r.status),
        next:
          rows.length > n && last !== undefined ? Option.some(last.statusId as HistoryCursor) : Option.none(),
      }
    })

  /**
   * Both rows of an entry in one batch, like a status's (writeStatus). Its day is the UTC day of its
   * id, not of `at`: the day a listing looks in for an id (the cursor's) is always the entry's.
   */
  const record: StatusRepository["Type"]["record"] = (entry) => {
    const day = dayOf(timestampOf(entry.id))
    const values = [entry.at, entry.instance, entry.action]
    const rest = [entry.identity, entry.detail, entry.outcome, ttlS]
    return writeStatus(
      [
        { query: q.insertAuditByDay, params: [day, entry.id, ...values, entry.jobType, ...rest] },
        { query: q.insertAuditByType, params: [entry.jobType, day, entry.id, ...values, ...rest] },
      ],
      true,
    ).pipe(Effect.asVoid, StoreError.refail("record audit entry", describeFailure))
  }

  const readAudit = (query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute("audit log", query, params), (rs) => Effect.forEach(rs.rows, decodeAudit))

  /**
   * Newest id first: the day partitions from the cursor's day (or today, plus the clock skew
   * allowance: an entry from an instance whose clock is a little ahead) back to the oldest day the
   * retention can still hold, one query each, until the page is full.
   */
  const auditLog: StatusRepository["Type"]["auditLog"] = ({ jobType, limit, before }) =>
    Effect.gen(function* () {
      const max = Math.floor(limit)
      if (!(max >= 1)) return []
      // Wall-clock time, like the server's TTLs (see list).
      const now = Date.now()
      const newest = dayOf(now + ClockSkewAllowance)
      const cursorDay = before === undefined ? newest : dayOf(timestampOf(before))
      const oldest = dayOf(now - retentionMs)
      const out: Array<AuditEntry> = []
      for (let day = Math.min(cursorDay, newest); day >= oldest && out.length < max; day = previousDay(day)) {
        const remaining = max - out.length
        const page =
          jobType === undefined
            ? before === undefined
              ? readAudit(q.auditByDay, [day, remaining])
              : readAudit(q.auditByDayBefore, [day, before, remaining])
            : before === undefined
              ? readAudit(q.auditByType, [jobType, day, remaining])
              : readAudit(q.auditByTypeBefore, [jobType, day, before, remaining])
        out.push(...(yield* page))
      }
      return out
    })

  /**
   * One row, one insert (idempotent: the same event written again is the same row). Its day is the
   * UTC day of its id, like an audit entry's (see record).
   */
  const recordEvent: StatusRepository["Type"]["recordEvent"] = (event) =>
    execute("record job event", q.insertEvent, [
      dayOf(timestampOf(event.id)),
      event.id,
      event.at,
      event.jobType,
      event.kind,
      event.instance,
      event.reason,
      event.count,
      event.from,
      event.to,
      ttlS,
    ]).pipe(Effect.asVoid)

  const readEvents = (query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute("job events", query, params), (rs) => Effect.forEach(rs.rows, decodeEvent))

  /** Newest id first, walking the day partitions like auditLog (of one job type). */
  const events: StatusRepository["Type"]["events"] = ({ jobType, limit, before }) =>
    Effect.gen(function* () {
      const max = Math.floor(limit)
      if (!(max >= 1)) return []
      // Wall-clock time, like the server's TTLs (see list).
      const now = Date.now()
      const newest = dayOf(now + ClockSkewAllowance)
      const cursorDay = before === undefined ? newest : dayOf(timestampOf(before))
      const oldest = dayOf(now - retentionMs)
      const out: Array<JobEvent> = []
      for (let day = Math.min(cursorDay, newest); day >= oldest && out.length < max; day = previousDay(day)) {
        const remaining = max - out.length
        out.push(
          ...(yield* before === undefined
            ? readEvents(q.events, [jobType, day, remaining])
            : readEvents(q.eventsBefore, [jobType, day, before, remaining])),
        )
      }
      return out
    })

  // The coordinator's clock stamps each heartbeat and says what time it is now: who is gone is
  // judged by one clock (the cluster's), not by the instances' own.
  const announce: StatusRepository["Type"]["announce"] = ({ instance, startedAt, everyMs }) =>
    execute("announce", q.announce, [instance, startedAt, everyMs]).pipe(Effect.asVoid)

  const listInstances: StatusRepository["Type"]["instances"] = Effect.gen(function* () {
    const [clock, rows] = yield* Effect.all(
      [execute("instances", q.now, []), execute("instances", q.instances, [])],
      {
        concurrency: 2,
      },
    )
    const now = clock.rows[0]?.get("now")
    return {
      now: now instanceof Date ? now : new Date(),
      instances: rows.rows.map((r) => ({
        instance: String(r.get("instance")),
        startedAt: r.get("started_at") as Date,
        seenAt: r.get("seen_at") as Date,
        everyMs: longOf(r.get("every_ms")),
      })),
    }
  })

  return {
    save,
    list,
    get,
    history: historyOf,
    listPending,
    record,
    auditLog,
    recordEvent,
    events,
    announce,
    instances: listInstances,
  }
}
