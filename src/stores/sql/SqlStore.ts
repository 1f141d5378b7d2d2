import { SqlClient } from "@effect/sql"
import type * as Migrator from "@effect/sql/Migrator"
import { Context, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { StoreError } from "../../domain/Errors.js"
import type { LockRepository } from "../../ports/LockRepository.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import * as StoreBounds from "../../ports/StoreBounds.js"
import * as StoreProbe from "../../ports/StoreProbe.js"
import * as Busy from "../sqlite/busy.js"
import * as Retention from "./Retention.js"
import * as SqlLocks from "./SqlLocks.js"
import * as SqlMigrations from "./SqlMigrations.js"
import * as SqlStatuses from "./SqlStatuses.js"

export interface SqlStoreOptions {
  /** Statuses older than this are deleted (ha-jobs kept 14 days). */
  readonly retention?: Duration.DurationInput | undefined
  /**
   * SQLite: how long a call waits in all for another process' write lock, retried off the event
   * loop, before it fails. Defaults to 5 seconds. Keep the client's own PRAGMA busy_timeout short
   * (SqliteStore sets 10 ms): better-sqlite3 waits for it on the event loop.
   */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** The migrations to apply; by default the library's own for the client's dialect (migrations/). */
  readonly migrations?: Migrator.Loader | undefined
  /** What the store is, in messages and /health. */
  readonly name?: string | undefined
}

/**
 * The database's own clock in epoch milliseconds. clock_timestamp(), not now(): now() is the start
 * of the transaction, so a statement that waited for a row lock (PostgreSQL re-checks its WHERE on
 * the newest row after the wait) would judge expiry with a time from before the wait, and inside a
 * longer transaction with one from its start. clock_timestamp() is read when the row is examined;
 * each reading in a statement is at least as late as the one before, so a new expiry is computed no
 * earlier than the check it follows.
 */
export const PgNowMillis = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

/**
 * Every store call runs outside the caller's transaction. @effect/sql finds "the current transaction"
 * by one context tag shared by all clients: a job triggered inside an application's transaction would
 * otherwise run its lease statements on the application's connection (on another database, even),
 * and keeper fibers forked there would keep using a connection the transaction has given back.
 * A store call made inside a transaction of the same single-connection SQLite client waits for it.
 */
const outsideTransactions: StoreBounds.AroundCall = () => (effect) =>
  Effect.mapInputContext(effect, (ctx: Context.Context<never>) =>
    Context.omit(SqlClient.TransactionConnection)(ctx),
  )

/** The repositories on `client`, its schema migrated and a write checked; retention runs in the scope. */
export const make = (
  client: SqlClient.SqlClient,
  options: SqlStoreOptions = {},
): Effect.Effect<
  {
    readonly locks: LockRepository["Type"]
    readonly statuses: StatusRepository["Type"]
    readonly name: string
  },
  StoreError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    // Our statements name their columns: an application's client may transform names.
    const sql = client.withoutTransforms()
    const dialect = sql.onDialectOrElse({
      pg: () => "pg" as const,
      sqlite: () => "sqlite" as const,
      orElse: () => undefined,
    })
    if (dialect === undefined)
      return yield* StoreError.of("open", "the SQL store runs on SQLite and PostgreSQL clients only")
    const busy = Busy.whileBusy(Duration.decode(options.busyTimeout ?? Busy.DefaultBusyTimeout))
    const around: StoreBounds.AroundCall =
      dialect === "sqlite"
        ? (op) => (effect) => busy(op)(outsideTransactions(op)(effect))
        : outsideTransactions
    const loader = options.migrations ?? SqlMigrations.fromDirectory(SqlMigrations.directory(dialect))
    yield* around("migrate")(SqlMigrations.run(sql, loader))

    // SQLite has no server: one Effect clock, captured here, is the store's clock for every caller
    // (TestClock in tests). PostgreSQL judges expiry by its own clock, whatever the instances' say.
    const clock = yield* Effect.clock
    const now: SqlLocks.Now =
      dialect === "pg"
        ? Effect.succeed(sql.literal(PgNowMillis))
        : Effect.map(clock.currentTimeMillis, (ms) => sql`${ms}`)
    const locks = StoreBounds.mapLocks(SqlLocks.make(sql, now), around)
    const statuses = StoreBounds.mapStatuses(SqlStatuses.make(sql, now), around)
    // A database that opens and migrates may still refuse writes (a read-only or locked SQLite file,
    // a PostgreSQL user without rights on the tables): only a write tells.
    yield* StoreProbe.check(locks, statuses)

    const name = options.name ?? (dialect === "pg" ? "PostgreSQL" : "SQLite")
    const retentionMs = Duration.toMillis(Duration.decode(options.retention ?? "14 days"))
    // Expire old history, like Cassandra's TTL does; hourly is plenty. Status times are the writers'.
    // The first run waits a minute: a start is not slowed by a large delete, and instances started
    // together do not all delete at once.
    yield* Effect.flatMap(clock.currentTimeMillis, (now) => Retention.run(sql, now - retentionMs)).pipe(
      StoreError.refail("retention"),
      around("retention"),
      Effect.catchAll((e) =>
        Effect.logWarning(`${name}: retention cleanup failed`).pipe(Effect.annotateLogs("error", e.message)),
      ),
      Effect.repeat(Schedule.spaced("1 hour").pipe(Schedule.jittered)),
      Effect.delay("1 minute"),
      Effect.forkScoped,
    )
    return { locks, statuses, name }
  })

/**
 * Both repositories on the `SqlClient` in context (SQLite or PostgreSQL), so an application can share
 * the client it already has. Migrates the schema at start (recorded in ha_jobs_migrations).
 */
export const layer = (
  options: SqlStoreOptions = {},
): Layer.Layer<LockRepository | StatusRepository, StoreError, SqlClient.SqlClient> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const client = yield* SqlClient.SqlClient
      const stores = yield* make(client, options).pipe(
        Effect.mapError((e) =>
          StoreError.of(e.operation, `cannot use ${options.name ?? "the SQL store"}: ${e.message}`, e),
        ),
      )
      return context(stores)
    }),
  )

/** The repositories and the store's name, as a store layer provides them. */
export const context = (stores: Effect.Effect.Success<ReturnType<typeof make>>) =>
  StoreProbe.storeContext({ lockRepository: stores.locks, statusRepository: stores.statuses }, stores.name)
