import * as fs from "node:fs"
import * as path from "node:path"
import { Reactivity } from "@effect/experimental"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Config, type ConfigError, Duration, Effect, Layer } from "effect"
import { describeCause, innermostCause, StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"
import type { LockRepository } from "../../ports/LockRepository.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import * as SqlStore from "../sql/SqlStore.js"
import * as Busy from "./busy.js"

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

/** The file of `layerFromEnv()` when HA_JOBS_SQLITE_PATH is unset. */
export const DefaultFilename = Env.SqlitePath.default

/**
 * Both repositories on one SQLite file (WAL mode), through the SQL store on a client of its own.
 * Several processes on one host may share the file: every lease operation is a single atomic
 * statement, so they get real mutual exclusion. A file it cannot write fails here, with SQLite's
 * cause first and what to do about it.
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
      const fail = (reason: unknown) =>
        StoreError.of(
          "open",
          `cannot use the SQLite database at ${file}${setting === undefined ? "" : ` (${setting})`}: ${explain(reason, busyTimeout, setting)}`,
          reason,
        )
      yield* Effect.try({ try: () => ensureDirectory(path.dirname(file)), catch: fail })
      const client = yield* SqliteClient.make({ filename: file }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.catchAllCause((cause) => Effect.fail(fail(Cause.squash(cause)))),
      )
      yield* client
        .unsafe(`PRAGMA busy_timeout = ${Math.round(Duration.toMillis(statementWait))}`)
        .pipe(Effect.mapError(fail))
      const stores = yield* SqlStore.make(client, {
        retention: options.retention,
        busyTimeout,
        name: `SQLite at ${file}`,
      }).pipe(Effect.mapError(fail))
      return SqlStore.context(stores)
    }),
  )

/** The options read from a Config (Effect's meaning of `layerConfig`). */
export const layerConfig = (
  config: Config.Config.Wrap<SqliteOptions>,
): Layer.Layer<LockRepository | StatusRepository, StoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/** The file name from `HA_JOBS_SQLITE_PATH` (default ./data/ha-jobs.db), named in the messages. */
export const layerFromEnv = (): Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> =>
  Layer.unwrapEffect(
    Effect.map(Env.SqlitePath.config, (filename) => layerWith({ filename }, Env.SqlitePath.name)),
  )

/** What `layerFromEnv` would use, for start-up messages. */
export const describeFromEnv: Effect.Effect<string, ConfigError.ConfigError> = Effect.map(
  Env.SqlitePath.config,
  (file) => `SQLite at ${file}`,
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
    throw new DirectoryError(`cannot create the directory ${dir}: ${describeCause(innermostCause(e))}`)
  }
}

const statOrUndefined = (p: string) => {
  try {
    return fs.statSync(p)
  } catch {
    return undefined
  }
}

/**
 * SQLite's (or the file system's) cause first, then what to do about it; for a failure without such
 * a cause (a migration the schema refused, a schema too new), the store's own message.
 */
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
  const cause = describeCause(innermostCause(reason))
  if (fix !== undefined) return `${cause}; ${fix}`
  return reason instanceof StoreError ? reason.message : cause
}

/** The driver's or the file system's error code (SQLITE_BUSY, EACCES...), if any. */
const codeOf = (e: unknown): string | undefined => {
  const code = (innermostCause(e) as { code?: unknown } | null | undefined)?.code
  return typeof code === "string" ? code : undefined
}
