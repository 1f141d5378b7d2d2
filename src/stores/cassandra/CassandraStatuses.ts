import type cassandra from "cassandra-driver"
import { Clock, Duration, Effect, Metric, Option } from "effect"
import { CqlFailure, describeCause, StoreError } from "../../domain/Errors.js"
import { type JobId, makeJobId, timestampOf } from "../../domain/Ids.js"
import { type ColumnCodecs, fromColumns, type JobStatus, toColumns } from "../../domain/JobStatus.js"
import { cassandraBatchUnlogged } from "../../domain/Metrics.js"
import type { JobType } from "../../domain/Names.js"
import { columnNames, statusFields } from "../../domain/StatusFields.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import { dayOf, dayStart, makeLegacyLatest, smallestIdOf } from "./CassandraBuckets.js"
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
 * (CassandraBuckets.ts).
 */
export const makeStatuses = (session: Session): StatusRepository["Type"] => {
  const history = session.table("status_history")
  const byDay = session.table("status_by_day")
  const days = session.table("status_days")
  const pending = session.table("status_pending")
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
    history: `SELECT ${selected} FROM ${history} WHERE job_type = ? AND job_id = ? LIMIT ?`,
  }

  const execute = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: true }).pipe(StoreError.refail(operation, describeFailure))
  const read = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute(operation, query, params), (rs) => Effect.forEach(rs.rows, decode))
  const readLatest = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    Effect.flatMap(execute(operation, query, params), (rs) => Effect.forEach(rs.rows, decodeLatest))

  const legacy = makeLegacyLatest(session, retentionMs, withId, readLatest)

  // Until when status writes skip the batchlog (0: they use it): see writeStatus.
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
   */
  const writeStatus = (
    queries: ReadonlyArray<{ readonly query: string; readonly params: ReadonlyArray<unknown> }>,
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const unlogged = Metric.increment(cassandraBatchUnlogged).pipe(
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
                error: describeFailure(failure, "save status"),
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

  const historyOf: StatusRepository["Type"]["history"] = (jobType: JobType, jobId: JobId, limit: number) =>
    limit < 1 ? Effect.succeed([]) : read("status history", q.history, [jobType, jobId, Math.floor(limit)])

  return { save, list, get, history: historyOf, listPending }
}
