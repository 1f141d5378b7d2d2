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
import * as SqliteLocks from "./sqlite/SqliteLocks.js"
import * as SqliteStatuses from "./sqlite/SqliteStatuses.js"

export interface SqliteOptions {
  /** The database file; its directory is created if missing. */
  readonly filename: string
  /** How long a writer waits for another process' lock. Defaults to 5 seconds. */
  readonly busyTimeout?: Duration.DurationInput | undefined
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
 */
export const layer = (options: SqliteOptions): Layer.Layer<LockRepository | StatusRepository, StoreError> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const file = path.resolve(options.filename)
      const fail = (reason: unknown) =>
        new StoreError({
          operation: "open",
          message: `cannot use the SQLite database at ${file}: ${reason instanceof Error ? reason.message : String(reason)}${describeCause(reason)}`,
          cause: reason,
        })
      yield* Effect.try({ try: () => fs.mkdirSync(path.dirname(file), { recursive: true }), catch: fail })
      const client = yield* SqliteClient.make({ filename: file }).pipe(
        Effect.provide(Reactivity.layer),
        Effect.catchAllCause((cause) => Effect.fail(fail(Cause.squash(cause)))),
      )
      const sql = client as SqlClient.SqlClient
      const busyMs = Duration.toMillis(Duration.decode(options.busyTimeout ?? "5 seconds"))
      yield* sql.unsafe(`PRAGMA busy_timeout = ${Math.round(busyMs)}`).pipe(Effect.mapError(fail))
      yield* migrate(sql).pipe(Effect.mapError(fail))
      const clock = yield* Effect.clock
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
      return Context.make(LockRepository, SqliteLocks.make(sql, clock)).pipe(
        Context.add(StatusRepository, SqliteStatuses.make(sql)),
      )
    }),
  )

/** The file name from `HA_JOBS_SQLITE_PATH` (default ./data/ha-jobs.db). */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(Config.string("HA_JOBS_SQLITE_PATH").pipe(Config.withDefault(DefaultFilename)), (filename) =>
    layer({ filename }),
  ),
)

const describeCause = (e: unknown) => {
  const code = (e as { code?: unknown })?.code
  return typeof code === "string" ? ` (${code})` : ""
}
