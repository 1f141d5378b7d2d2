import { Duration, Effect } from "effect"
import { StoreError } from "../../domain/Errors.js"
import { timestampOf } from "../../domain/Ids.js"
import type { JobType } from "../../domain/Names.js"
import { describeDriverError, describeFailure, type Session } from "./Driver.js"

/**
 * The buckets that bound the partitions of the latest-status tables (migrations/cassandra/0004).
 *
 * Why day buckets plus an index. The latest status of each execution lives in `status_by_day`,
 * partitioned by (job type, UTC day of the job id, yyyymmdd). Cassandra's guidance is ~100k rows
 * (~100 MB) per partition; a day holds at most 86,400 executions of a job triggered every second (the
 * fastest cron rate), where the former month buckets of `status_latest` held 2.6 million (bytes are
 * bounded only through rows: ~90 MB a day at ~1 KiB a status, more with large contents). Hour
 * buckets would bound bytes 24 times tighter, but a page of a job that runs every minute would then
 * touch up to 17 partitions instead of one; a day keeps a page of every job at one or two partition
 * reads. The cost of small buckets is the walk over empty ones (a job run once a week would read 14
 * empty days for its first page); `status_days` removes it: one row per (job type, day that has
 * executions), written in the save's logged batch with the same TTL, so it lists exactly the buckets
 * that may hold live rows (its row outlives the bucket's last row, never the reverse). A page is then
 * one read of the index (at most retention-in-days tiny rows) plus one read per non-empty day until
 * the page is full.
 */

/** The day bucket of a job id's timestamp (UTC), as yyyymmdd. */
export const dayOf = (millis: number): number => {
  const d = new Date(millis)
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()
}

/** The first millisecond of a day bucket (UTC). */
export const dayStart = (day: number): number =>
  Date.UTC(Math.floor(day / 10_000), (Math.floor(day / 100) % 100) - 1, day % 100)

/** The day bucket before `day`. */
export const previousDay = (day: number): number => dayOf(dayStart(day) - 1)

/** The month bucket of the former layout (`status_latest`, migration 0002), as yyyymm. */
export const monthOf = (millis: number): number => {
  const d = new Date(millis)
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1
}

export const previousMonth = (month: number): number =>
  month % 100 === 1 ? (Math.floor(month / 100) - 1) * 100 + 12 : month - 1

/** The smallest version 7 UUID text of a millisecond: every job id made at or after it sorts above. */
export const smallestIdOf = (millis: number): string => {
  const hex = Math.max(0, Math.floor(millis)).toString(16).padStart(12, "0")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`
}

/** Above every job id (ids are lower-case hex). */
export const AboveEveryId = "g"

/**
 * The former layout of the latest statuses: `status_latest`, one partition per job type and UTC month
 * (migration 0002), written by the versions before migration 0004. Nothing is copied: its rows expire
 * by their TTL (the retention), so it is read, besides `status_by_day`, for the executions that
 * version may have written: job ids before `applied_at` of migration 0004 (recorded by the migrator in
 * `schema_version`) plus one retention, which leaves the old version's instances one retention to be
 * replaced after the migration. Once the retention horizon passes that point (two retentions after
 * the migration) listing reads this table no more. A keyspace whose migrations 0002 and 0004 were
 * applied by the same run never had the former layout: it is never read. Without the migrator's
 * record (a keyspace migrated by hand) it is always read, at one or two month partitions a page.
 */

/** The versions of migrations/cassandra that created `status_latest` and `status_by_day`. */
const FormerLayoutVersion = 2
const DayBucketsVersion = 4
/** CassandraMigrator's scope in `schema_version`. */
const MigratorScope = "effect-ha-jobs"

/**
 * Job ids (and audit entry ids) come from every instance's clock: start listing a little in the future
 * so an execution started (an action recorded) on a slightly-ahead instance just after a month (day)
 * boundary is not missed.
 */
export const ClockSkewAllowance = Duration.toMillis(Duration.minutes(5))

export interface LegacyListOptions {
  readonly limit: number
  readonly before: string | undefined
  /** The smallest job id listed (older executions are listed from status_pending). */
  readonly horizon: string
  readonly now: number
}

type Read<A> = (
  operation: string,
  query: string,
  params: ReadonlyArray<unknown>,
) => Effect.Effect<ReadonlyArray<A>, StoreError>

/** Reads of `status_latest`: `columns` selected, rows made by `read`. */
export const makeLegacyLatest = <A>(
  session: Session,
  retentionMs: number,
  columns: string,
  read: Read<A>,
) => {
  const latest = session.table("status_latest")
  const q = {
    list: `SELECT ${columns} FROM ${latest} WHERE job_type = ? AND bucket = ? AND job_id >= ? AND job_id < ? LIMIT ?`,
    get: `SELECT ${columns} FROM ${latest} WHERE job_type = ? AND bucket = ? AND job_id = ?`,
    migrations: `SELECT version, applied_by, applied_at FROM ${session.table("schema_version")} WHERE scope = ?`,
  }
  let known: number | undefined

  /** Job ids from this time on have no row in status_latest. */
  const legacyUntil: Effect.Effect<number, StoreError> = Effect.suspend(() =>
    known !== undefined
      ? Effect.succeed(known)
      : session.execute(q.migrations, [MigratorScope], { idempotent: true }).pipe(
          Effect.map((rs) => {
            const applied = new Map(
              rs.rows.map((r) => [
                Number(r.get("version")),
                { by: String(r.get("applied_by")), at: (r.get("applied_at") as Date).getTime() },
              ]),
            )
            const former = applied.get(FormerLayoutVersion)
            const days = applied.get(DayBucketsVersion)
            if (days === undefined) return Number.POSITIVE_INFINITY
            return former?.by === days.by ? Number.NEGATIVE_INFINITY : days.at + retentionMs
          }),
          Effect.catchIf(
            (failure) => /unconfigured table|does not exist/i.test(describeDriverError(failure.cause)),
            () => Effect.succeed(Number.POSITIVE_INFINITY),
          ),
          StoreError.refail("read the migrations applied", describeFailure),
          Effect.tap((until) => {
            known = until
          }),
        ),
  )

  /** The newest rows of status_latest from `horizon` to `before` (excluded), at most `limit`. */
  const list = (jobType: JobType, o: LegacyListOptions): Effect.Effect<Array<A>, StoreError> =>
    Effect.gen(function* () {
      const end = yield* legacyUntil
      if (end <= timestampOf(o.horizon)) return []
      const endId = Number.isFinite(end) ? smallestIdOf(end) : AboveEveryId
      const upper = o.before !== undefined && o.before < endId ? o.before : endId
      if (upper <= o.horizon) return []
      const topMs = Math.min(
        upper === AboveEveryId ? Infinity : timestampOf(upper),
        o.now + ClockSkewAllowance,
      )
      const bottom = monthOf(timestampOf(o.horizon))
      const out: Array<A> = []
      for (let month = monthOf(topMs); month >= bottom && out.length < o.limit; month = previousMonth(month))
        out.push(
          ...(yield* read("list statuses", q.list, [jobType, month, o.horizon, upper, o.limit - out.length])),
        )
      return out
    })

  /** The row of one execution in status_latest, when it may have one. */
  const get = (jobType: JobType, jobId: string): Effect.Effect<ReadonlyArray<A>, StoreError> =>
    Effect.flatMap(legacyUntil, (end) =>
      timestampOf(jobId) >= end
        ? Effect.succeed([])
        : read("get status", q.get, [jobType, monthOf(timestampOf(jobId)), jobId]),
    )

  return { list, get }
}
