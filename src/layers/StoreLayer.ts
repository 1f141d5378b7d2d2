import { Config, type ConfigError, Effect, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { LockRepository } from "../services/LockRepository.js"
import type { StatusRepository } from "../services/StatusRepository.js"
import * as CassandraLayer from "./CassandraLayer.js"
import { MemoryLayer } from "./MemoryLayer.js"
import * as PgStore from "./PgStore.js"
import * as SqliteStore from "./SqliteStore.js"

export const StoreKind = Config.literal(
  "sqlite",
  "memory",
  "cassandra",
  "postgres",
)("HA_JOBS_STORE").pipe(Config.withDefault("sqlite"))

/**
 * The store named by `HA_JOBS_STORE`: sqlite (default, at `HA_JOBS_SQLITE_PATH`), memory, cassandra
 * (`CASSANDRA_*`) or postgres (`DATABASE_URL` or the PG* variables, `HA_JOBS_PG_SCHEMA`).
 */
export const layerConfig: Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> = Layer.unwrapEffect(
  Effect.map(StoreKind, (kind) =>
    kind === "memory"
      ? MemoryLayer
      : kind === "cassandra"
        ? CassandraLayer.layerConfig
        : kind === "postgres"
          ? PgStore.layerFromEnv()
          : SqliteStore.layerFromEnv(),
  ),
)

/** A one-line description of the configured store, for start-up messages. */
export const describe = Effect.gen(function* () {
  const kind = yield* StoreKind
  if (kind === "memory") return "in-memory store (nothing survives a restart)"
  if (kind === "cassandra") {
    const points = yield* Config.string("CASSANDRA_CONTACT_POINTS").pipe(Config.withDefault("?"))
    const keyspace = yield* Config.string("CASSANDRA_KEYSPACE").pipe(Config.withDefault("ha_jobs"))
    return `Cassandra at ${points}, keyspace ${keyspace}`
  }
  if (kind === "postgres") return yield* PgStore.describeFromEnv
  const file = yield* Config.string("HA_JOBS_SQLITE_PATH").pipe(
    Config.withDefault(SqliteStore.DefaultFilename),
  )
  return `SQLite at ${file}`
})
