import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Reactivity } from "@effect/experimental"
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Config, Context, Duration, Effect, Layer, Schedule } from "effect"
import { StoreError } from "../domain/Errors.js"
import { LockRepository } from "../services/LockRepository.js"
import { StatusRepository } from "../services/StatusRepository.js"
import * as StoreBounds from "../services/StoreBounds.js"
import * as StoreProbe from "./StoreProbe.js"
import * as Busy from "./sqlite/busy.js"
import * as SqliteLocks from "./sqlite/SqliteLocks.js"
import * as SqliteStatuses from "./sqlite/SqliteStatuses.js"
import { innermost, rootCause, storeError } from "./sqlite/storeError.js"

export interface SqliteOptions {
  /** The database file; its directory is created if missing. */
  readonly filename: string
  /**
   * How long a store call waits for another process' write lock before it fails with a StoreError
   * ("database is locked"). Defaults to 5 seconds. The wait is retries scheduled by Effect, so it
   * does not block the event loop.
   */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /**
   * How long one statement may block the event loop waiting for that lock (SQLite's busy_timeout)
   * before it is retried off the event loop. Defaults to 10 ms.
   */
  readonly statementWait?: Duration.DurationInput | undefined
  /** Statuses older than this are deleted (ha-jobs kept 14 days). */
  readonly retention?: Duration.DurationInput | undefined
}

export const DefaultFilename = "./data/ha-jobs.db"

const migrationsDir = fileURLToPath(new URL("../../migrations/sqlite/", import.meta.url))

/** Applies migrations/sqlite/*.sql in order; every statement is idempotent (IF NOT EXISTS). */
const migrate = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    const files = fs
      .readdirSync(migrationsDir)
      .filter((f) => /^\d+_.*\.sql$/.test(f))
      .sort()
    for (const file of files) {
      const text = fs.readFileSync(path.join(migrationsDir, file), "utf8")
      const statements = text
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
        .filter((s) => s.length > 0)
      for (const statement of statements) yield* sql.unsafe(statement)
    }
  })

/**
 * Both repositories on one SQLite file (WAL mode). Several processes on one host may share the
 * file: every lease operation is a single atomic statement, so they get real mutual exclusion.
 * A file it cannot write fails here, with SQLite's cause first and what to do about it.
 */
export const layer = (options: SqliteOptions): Layer.Layer<LockRepository | StatusRepository, StoreError> =>
  layerWith(options, undefined)

/** `setting` names where the file name came from (an environment variable), for the messages. */
const layerWith = (options: SqliteOptions, setting: string | undefined) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const file = path.resolve(options.filename)
      const busyTimeout = Duration.decode(options.busyTimeout ?? Busy.DefaultBusyTimeout)
      const statementWait = Duration.decode(options.statementWait ?? Busy.DefaultStatementWait)
      const whileBusy = Busy.whileBusy(busyTimeout)
      const fail = (reason: unknown) =>
        new StoreError({
          operation: "open",
          message: `cannot use the SQLite database at ${file}${setting === undefined ? "" : ` (${setting})`}: ${explain(reason, busyTimeout, setting)}`,
          cause: reason,
        })
      yield* Effect.try({ try: () => ensureDirectory(path.dirname(file)), catch: fail })
      const client = yield* SqliteClient.make({ filename: file }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.catchAllCause((cause) => Effect.fail(fail(Cause.squash(cause)))),
      )
      const sql = client as SqlClient.SqlClient
      yield* sql
        .unsafe(`PRAGMA busy_timeout = ${Math.round(Duration.toMillis(statementWait))}`)
        .pipe(Effect.mapError(fail))
      yield* migrate(sql).pipe(
        Effect.mapError((e) => storeError("migrate", e)),
        whileBusy("migrate"),
        Effect.mapError((e) => fail(e.cause ?? e.message)),
      )
      const clock = yield* Effect.clock
      const locks = StoreBounds.mapLocks(SqliteLocks.make(sql, clock), whileBusy)
      const statuses = StoreBounds.mapStatuses(SqliteStatuses.make(sql), whileBusy)
      // A file SQLite opens read-only, one whose write lock another process holds, or one corrupt
      // where the leases live opens and migrates without a write; only a write tells.
      yield* StoreProbe.check(locks, statuses).pipe(Effect.mapError((e) => fail(e.cause ?? e.message)))
      const retentionMs = Duration.toMillis(Duration.decode(options.retention ?? "14 days"))
      // Expire old history, like Cassandra's TTL does; hourly is plenty.
      yield* Effect.gen(function* () {
        const cutoff = (yield* clock.currentTimeMillis) - retentionMs
        yield* sql`DELETE FROM ha_status_history WHERE job_status_ts < ${cutoff}`
        yield* sql`DELETE FROM ha_executions WHERE job_status_ts < ${cutoff} AND job_result <> 'PENDING'`
        yield* sql`DELETE FROM ha_slots WHERE slot < ${cutoff}`
      }).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning("SQLite retention cleanup failed").pipe(Effect.annotateLogs("error", e.message)),
        ),
        Effect.repeat(Schedule.spaced("1 hour")),
        Effect.forkScoped,
      )
      return Context.make(LockRepository, locks).pipe(
        Context.add(StatusRepository, statuses),
        Context.add(StoreProbe.StoreName, `SQLite at ${file}`),
      )
    }),
  )

const PathSetting = "HA_JOBS_SQLITE_PATH"

/** The file name from `HA_JOBS_SQLITE_PATH` (default ./data/ha-jobs.db). */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(Config.string(PathSetting).pipe(Config.withDefault(DefaultFilename)), (filename) =>
    layerWith({ filename }, PathSetting),
  ),
)

/** A directory that is missing and cannot be created, or a file where a directory should be. */
class DirectoryError extends Error {}

/**
 * Creates `dir` and its missing parents, one level at a time. Not `mkdirSync(dir, { recursive })`:
 * under /proc, mkdir of a missing child fails with ENOENT although the parent exists, and Node's
 * recursive mkdir takes that for a missing parent and retries for good, at 100% CPU, deaf to SIGTERM.
 */
const ensureDirectory = (dir: string): void => {
  const stat = statOrUndefined(dir)
  if (stat?.isDirectory()) return
  if (stat !== undefined) throw new DirectoryError(`${dir} is a file, not a directory`)
  const parent = path.dirname(dir)
  if (parent !== dir) ensureDirectory(parent)
  try {
    fs.mkdirSync(dir)
  } catch (e) {
    if (statOrUndefined(dir)?.isDirectory()) return // another process made it meanwhile
    throw new DirectoryError(`cannot create the directory ${dir}: ${rootCause(e)}`)
  }
}

const statOrUndefined = (p: string) => {
  try {
    return fs.statSync(p)
  } catch {
    return undefined
  }
}

/** SQLite's (or the file system's) cause first, then what to do about it. */
const explain = (reason: unknown, busyTimeout: Duration.Duration, setting: string | undefined) => {
  const elsewhere = setting === undefined ? "use another file" : `set ${setting} to another file`
  const code = codeOf(reason) ?? ""
  const fix =
    reason instanceof DirectoryError
      ? `${elsewhere} in a writable directory`
      : code.startsWith("SQLITE_READONLY")
        ? `make the file, its directory and its -wal and -shm files writable by this process, or ${elsewhere}`
        : code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
          ? `another process held its write lock for longer than the busy timeout (${Duration.format(busyTimeout)}); stop it, or ${elsewhere}`
          : code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")
            ? `move it away or restore it from a backup, or ${elsewhere}`
            : undefined
  return fix === undefined ? rootCause(reason) : `${rootCause(reason)}; ${fix}`
}

/** The driver's or the file system's error code (SQLITE_BUSY, EACCES...), if any. */
const codeOf = (e: unknown): string | undefined => {
  const code = (innermost(e) as { code?: unknown } | null | undefined)?.code
  return typeof code === "string" ? code : undefined
}
