import type { ConnectionOptions } from "node:tls"
import { Reactivity } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Duration, Effect, Layer, Option, Redacted } from "effect"
import pg from "pg"
import { StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"
import type { LockRepository } from "../../ports/LockRepository.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import * as SqlStore from "../sql/SqlStore.js"
import { explain, target } from "./explain.js"

export interface PgStoreOptions {
  /**
   * postgres://user:password@host:5432/database. Its parts take precedence over the fields below
   * (node-postgres' rule); without either, the PG* environment variables and libpq's defaults apply.
   */
  readonly url?: string | Redacted.Redacted<string> | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted<string> | undefined
  readonly ssl?: boolean | ConnectionOptions | undefined
  /**
   * The schema of the tables (a lower-case SQL name), created if missing and made the connections'
   * search_path. By default the user's search_path decides (usually public).
   */
  readonly schema?: string | undefined
  /** How long connecting may take before the layer (or a call) fails. Defaults to 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Connections in the pool. Defaults to 10. */
  readonly maxConnections?: number | undefined
  /** Shown in pg_stat_activity. Defaults to "effect-ha-jobs". */
  readonly applicationName?: string | undefined
  /** Statuses older than this are deleted (ha-jobs kept 14 days). */
  readonly retention?: Duration.DurationInput | undefined
}

/** Where `layerFromEnv()` connects when neither DATABASE_URL nor a PG* variable is set. */
export const DefaultUrl = Env.PgDefaultUrl

const DefaultConnectTimeout = Duration.seconds(5)

const value = (s: string | Redacted.Redacted<string> | undefined) =>
  s === undefined || typeof s === "string" ? s : Redacted.value(s)

/** The pool, ended with the scope; the client built on it checked with one query. */
const client = (options: PgStoreOptions, connectTimeout: Duration.Duration) =>
  Effect.gen(function* () {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: value(options.url),
          host: options.host,
          port: options.port,
          database: options.database,
          user: options.username,
          password: value(options.password),
          ssl: options.ssl,
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          max: options.maxConnections ?? 10,
          application_name: options.applicationName ?? "effect-ha-jobs",
          ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
        })
        // An idle connection the server closed (a restart, pg_terminate_backend): the pool drops it
        // and the next call opens another. Unhandled, the event would end the process.
        pool.on("error", () => {})
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("1 second")),
    )
    const sql = yield* PgClient.fromPool({ acquire: Effect.succeed(pool) }).pipe(
      Effect.provide(Reactivity.layer),
    )
    // The server answers at all, within the connect timeout (a paused server accepts and says nothing).
    yield* sql`SELECT 1`.pipe(
      Effect.timeoutFail({
        duration: Duration.sum(connectTimeout, Duration.seconds(1)),
        onTimeout: () => new Error(`no answer within ${Duration.format(connectTimeout)} (timeout)`),
      }),
    )
    if (options.schema !== undefined) {
      // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the right to create one even when it exists.
      const found = yield* sql`SELECT 1 FROM pg_namespace WHERE nspname = ${options.schema}`
      if (found.length === 0) yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(options.schema)}`
    }
    return sql
  })

/**
 * Both repositories on PostgreSQL, through the SQL store on a pool of its own: leases decided by one
 * statement each, expiry judged by the server's clock. Migrates the schema at start. A server it
 * cannot reach or use fails here within seconds, with the cause first and what to do about it.
 */
export const layer = (options: PgStoreOptions): Layer.Layer<LockRepository | StatusRepository, StoreError> =>
  layerWith(options, undefined)

/** `setting` names where the options came from (environment variables), for the messages. */
const layerWith = (options: PgStoreOptions, setting: string | undefined) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const at = target(value(options.url), options)
      const connectTimeout = Duration.decode(options.connectTimeout ?? DefaultConnectTimeout)
      const fail = (reason: unknown) =>
        StoreError.of(
          "open",
          `cannot use PostgreSQL at ${at.display}${setting === undefined ? "" : ` (${setting})`}: ${explain(reason, at, setting)}`,
          reason,
        )
      if (at.invalid !== undefined) return yield* Effect.fail(fail(at.invalid))
      if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema))
        return yield* Effect.fail(
          fail(`schema "${options.schema}" is not a lower-case SQL name (a-z, 0-9, _; at most 63)`),
        )
      const sql = yield* client(options, connectTimeout).pipe(Effect.mapError(fail))
      const name = `PostgreSQL at ${at.display}${options.schema === undefined ? "" : `, schema ${options.schema}`}`
      const stores = yield* SqlStore.make(sql, { retention: options.retention, name }).pipe(
        Effect.mapError(fail),
      )
      return SqlStore.context(stores)
    }),
  )

/** The options read from a Config (Effect's meaning of `layerConfig`). */
export const layerConfig = (
  config: Config.Config.Wrap<PgStoreOptions>,
): Layer.Layer<LockRepository | StatusRepository, StoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/**
 * `DATABASE_URL`; without it the PG* variables (PGHOST, PGUSER...), as psql reads them; without
 * those, postgres://postgres@127.0.0.1:5432/postgres. `HA_JOBS_PG_SCHEMA` names a schema.
 */
const fromEnv = Effect.gen(function* () {
  const url = yield* Env.DatabaseUrl.config
  const schema = yield* Env.PgSchema.config
  const pgSet = yield* Effect.forEach(Env.PgConnection, (variable) => variable.config)
  const viaPg = Option.isNone(url) && pgSet.some(Option.isSome)
  const options: PgStoreOptions = {
    ...(viaPg ? {} : { url: Option.getOrElse(url, () => Redacted.make(DefaultUrl)) }),
    ...(Option.isSome(schema) ? { schema: schema.value } : {}),
  }
  return {
    options,
    setting: Option.isSome(url) ? Env.DatabaseUrl.name : viaPg ? "PG* variables" : undefined,
  }
})

/** The store from the environment (see `fromEnv`), named in the messages. */
export const layerFromEnv = (): Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> => Layer.unwrapEffect(Effect.map(fromEnv, ({ options, setting }) => layerWith(options, setting)))

/** What `layerFromEnv` would use, for start-up messages (no password). */
export const describeFromEnv: Effect.Effect<string, ConfigError.ConfigError> = Effect.map(
  fromEnv,
  ({ options }) =>
    `PostgreSQL at ${target(value(options.url), options).display}${options.schema === undefined ? "" : `, schema ${options.schema}`}`,
)
