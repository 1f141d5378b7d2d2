import type cassandra from "cassandra-driver"
import { Duration, Effect, Option } from "effect"
import { describeCause, StoreError } from "../../domain/Errors.js"
import { type JobId, makeJobId, timestampOf } from "../../domain/Ids.js"
import { type ColumnCodecs, fromColumns, type JobStatus, toColumns } from "../../domain/JobStatus.js"
import type { JobType } from "../../domain/Names.js"
import { columnNames, statusFields } from "../../domain/StatusFields.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import { describeFailure, type Row, type Session } from "./Driver.js"

/** The bucket of an execution in `status_latest`: the UTC month of its job id's timestamp, as yyyymm. */
export const bucketOf = (millis: number): number => {
  const d = new Date(millis)
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1
}

/** The first millisecond of a bucket (UTC). */
export const bucketStart = (bucket: number): number =>
  Date.UTC(Math.floor(bucket / 100), (bucket % 100) - 1, 1)

/** The smallest version 7 UUID text of a millisecond: every job id made at or after it sorts above. */
export const smallestIdOf = (millis: number): string => {
  const hex = Math.max(0, millis).toString(16).padStart(12, "0")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`
}

export const previousBucket = (bucket: number): number =>
  bucket % 100 === 1 ? (Math.floor(bucket / 100) - 1) * 100 + 12 : bucket - 1

/**
 * Job ids come from every instance's clock: start listing a little in the future so an execution
 * started on a slightly-ahead instance just after a month boundary is not missed.
 */
const ClockSkewAllowance = Duration.toMillis(Duration.minutes(5))

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

const decodeAll = (rows: ReadonlyArray<Row>) => Effect.forEach(rows, decode)

/**
 * Statuses in `status_history` (one partition per execution) and `status_latest` (one partition per
 * job type and month), see migrations/cassandra/0002_statuses.cql. Every row has the retention as TTL.
 */
export const makeStatuses = (session: Session): StatusRepository["Type"] => {
  const history = session.table("status_history")
  const latest = session.table("status_latest")
  const pending = session.table("status_pending")
  const retentionMs = Duration.toMillis(session.config.statusRetention)
  const ttlS = Math.ceil(retentionMs / 1000)
  const markers = (n: number) => Array.from({ length: n }, () => "?").join(", ")
  const q = {
    insertHistory: `INSERT INTO ${history} (job_type, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(3 + valueColumns.length)}) USING TTL ?`,
    insertLatest: `INSERT INTO ${latest} (job_type, bucket, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(4 + valueColumns.length)}) USING TTL ?`,
    insertPending: `INSERT INTO ${pending} (job_type, job_id, status_id, ${valueColumns.join(", ")}) VALUES (${markers(3 + valueColumns.length)}) USING TTL ?`,
    deletePending: `DELETE FROM ${pending} WHERE job_type = ? AND job_id = ?`,
    list: `SELECT ${selected} FROM ${latest} WHERE job_type = ? AND bucket = ? LIMIT ?`,
    listBefore: `SELECT ${selected} FROM ${latest} WHERE job_type = ? AND bucket = ? AND job_id < ? LIMIT ?`,
    listPending: `SELECT ${selected} FROM ${pending} WHERE job_type = ? LIMIT ?`,
    listPendingBefore: `SELECT ${selected} FROM ${pending} WHERE job_type = ? AND job_id < ? LIMIT ?`,
    get: `SELECT ${selected} FROM ${latest} WHERE job_type = ? AND bucket = ? AND job_id = ?`,
    history: `SELECT ${selected} FROM ${history} WHERE job_type = ? AND job_id = ? LIMIT ?`,
  }

  const read = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: true }).pipe(
      StoreError.refail(operation, describeFailure),
      Effect.flatMap((rs) => decodeAll(rs.rows)),
    )

  const save: StatusRepository["Type"]["save"] = (status) =>
    Effect.gen(function* () {
      // Time-ordered and unique per status: keeps the order of statuses with equal timestamps.
      const statusId = yield* makeJobId
      const bucket = bucketOf(timestampOf(status.jobId))
      // null, not unset: a field the previous latest status had must not survive.
      const latestValues = [...valuesOf(status, null), ttlS]
      // One logged batch, one timestamp: history, latest and pending never disagree.
      yield* session
        .batch([
          {
            query: q.insertHistory,
            params: [status.jobType, status.jobId, statusId, ...valuesOf(status, undefined), ttlS],
          },
          {
            query: q.insertLatest,
            params: [status.jobType, bucket, status.jobId, statusId, ...latestValues],
          },
          status.jobResult === "PENDING"
            ? { query: q.insertPending, params: [status.jobType, status.jobId, statusId, ...latestValues] }
            : { query: q.deletePending, params: [status.jobType, status.jobId] },
        ])
        .pipe(StoreError.refail("save status", describeFailure))
    })

  const pendingPage = (jobType: JobType, limit: number, before: string | undefined) =>
    before === undefined
      ? read("list pending statuses", q.listPending, [jobType, limit])
      : read("list pending statuses", q.listPendingBefore, [jobType, before, limit])

  /**
   * Newest execution first: walks the month buckets of status_latest backwards from the cursor's
   * (or the current) one down to the oldest bucket the retention can still hold, at most
   * retention/month + 2 queries. Executions started before that horizon whose rows are still alive
   * because they still run (a continuous job writing progress) are pending: they come last, from
   * status_pending, in one more query.
   */
  const list: StatusRepository["Type"]["list"] = (jobType, { limit, before }) =>
    Effect.gen(function* () {
      if (limit < 1) return []
      // Wall-clock time, like the server's TTLs that bound what is left (not Effect's Clock, which a
      // test may have replaced).
      const now = Date.now()
      const cursorBucket = before === undefined ? undefined : bucketOf(timestampOf(before))
      const oldest = bucketOf(now - retentionMs)
      const out: Array<JobStatus> = []
      for (
        let bucket = cursorBucket ?? bucketOf(now + ClockSkewAllowance);
        bucket >= oldest && out.length < limit;
        bucket = previousBucket(bucket)
      ) {
        const remaining = limit - out.length
        const page =
          before !== undefined && bucket === cursorBucket
            ? yield* read("list statuses", q.listBefore, [jobType, bucket, before, remaining])
            : yield* read("list statuses", q.list, [jobType, bucket, remaining])
        out.push(...page)
      }
      if (out.length < limit) {
        const horizon = smallestIdOf(bucketStart(oldest))
        out.push(
          ...(yield* pendingPage(
            jobType,
            limit - out.length,
            before !== undefined && before < horizon ? before : horizon,
          )),
        )
      }
      return out
    })

  const listPending: StatusRepository["Type"]["listPending"] = (jobType, { limit, before }) =>
    limit < 1 ? Effect.succeed([]) : pendingPage(jobType, Math.floor(limit), before)

  const get: StatusRepository["Type"]["get"] = (jobType, jobId) =>
    read("get status", q.get, [jobType, bucketOf(timestampOf(jobId)), jobId]).pipe(
      Effect.map((rows) => Option.fromNullable(rows[0])),
    )

  const historyOf: StatusRepository["Type"]["history"] = (jobType: JobType, jobId: JobId, limit: number) =>
    limit < 1 ? Effect.succeed([]) : read("status history", q.history, [jobType, jobId, Math.floor(limit)])

  return { save, list, get, history: historyOf, listPending }
}
