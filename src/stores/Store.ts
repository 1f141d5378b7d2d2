/**
 * src/stores: one folder per store (memory; sql with sqlite and pg; cassandra), each providing
 * both ports with the store's name. May import: `domain`, `ports`, `Env`. (docs/architecture.md)
 *
 * This module: the store the environment names — one program, any store, chosen at start.
 */
import { type ConfigError, Effect, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import * as Env from "../Env.js"
import type { LockRepository } from "../ports/LockRepository.js"
import type { StatusRepository } from "../ports/StatusRepository.js"
import * as CassandraStore from "./cassandra/CassandraStore.js"
import * as MemoryStore from "./memory/MemoryStore.js"
import * as PgStore from "./pg/PgStore.js"
import * as SqliteStore from "./sqlite/SqliteStore.js"

/**
 * The store named by `HA_JOBS_STORE`, built when the layer is: sqlite (the default;
 * `SqliteStore.layerFromEnv()`, `HA_JOBS_SQLITE_PATH`), postgres (`PgStore.layerFromEnv()`,
 * `DATABASE_URL` or the PG* variables, `HA_JOBS_PG_SCHEMA`), memory (`MemoryStore.layer`) or
 * cassandra (`CassandraStore.layerFromEnv()`, `CASSANDRA_*`). Another value is a ConfigError.
 */
export const layerFromEnv = (): Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> =>
  Layer.unwrapEffect(
    Effect.map(Env.Store.config, (kind) =>
      kind === "memory"
        ? MemoryStore.layer
        : kind === "cassandra"
          ? CassandraStore.layerFromEnv()
          : kind === "postgres"
            ? PgStore.layerFromEnv()
            : SqliteStore.layerFromEnv(),
    ),
  )

/** One line about the store `layerFromEnv()` would build, for start-up messages (no secrets). */
export const describeFromEnv: Effect.Effect<string, ConfigError.ConfigError> = Effect.flatMap(
  Env.Store.config,
  (kind) =>
    kind === "memory"
      ? Effect.succeed("in-memory store (nothing survives a restart)")
      : kind === "cassandra"
        ? CassandraStore.describeFromEnv
        : kind === "postgres"
          ? PgStore.describeFromEnv
          : SqliteStore.describeFromEnv,
)
