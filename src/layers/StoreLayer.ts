import { Config, type ConfigError, Effect, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { LockRepository } from "../services/LockRepository.js"
import type { StatusRepository } from "../services/StatusRepository.js"
import * as CassandraLayer from "./CassandraLayer.js"
import { MemoryLayer } from "./MemoryLayer.js"
import * as SqliteLayer from "./SqliteLayer.js"

export const StoreKind = Config.literal(
  "sqlite",
  "memory",
  "cassandra",
)("HA_JOBS_STORE").pipe(Config.withDefault("sqlite"))

/** The store named by `HA_JOBS_STORE`: sqlite (default, at `HA_JOBS_SQLITE_PATH`), memory or cassandra (`CASSANDRA_*`). */
export const layerConfig: Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> = Layer.unwrapEffect(
  Effect.map(StoreKind, (kind) =>
    kind === "memory"
      ? MemoryLayer
      : kind === "cassandra"
        ? CassandraLayer.layerConfig
        : SqliteLayer.layerConfig,
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
  const file = yield* Config.string("HA_JOBS_SQLITE_PATH").pipe(
    Config.withDefault(SqliteLayer.DefaultFilename),
  )
  return `SQLite at ${file}`
})
