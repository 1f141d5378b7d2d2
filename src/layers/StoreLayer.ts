import { Config, type ConfigError, Effect, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { LockRepository } from "../services/LockRepository.js"
import type { StatusRepository } from "../services/StatusRepository.js"
import { MemoryLayer } from "./MemoryLayer.js"
import * as SqliteLayer from "./SqliteLayer.js"

export const StoreKind = Config.literal(
  "sqlite",
  "memory",
)("HA_JOBS_STORE").pipe(Config.withDefault("sqlite"))

/** The store named by `HA_JOBS_STORE` (default sqlite, at `HA_JOBS_SQLITE_PATH`). */
export const layerConfig: Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> = Layer.unwrapEffect(
  Effect.map(StoreKind, (kind) => (kind === "memory" ? MemoryLayer : SqliteLayer.layerConfig)),
)

/** A one-line description of the configured store, for start-up messages. */
export const describe = Effect.gen(function* () {
  const kind = yield* StoreKind
  if (kind === "memory") return "in-memory store (nothing survives a restart)"
  const file = yield* Config.string("HA_JOBS_SQLITE_PATH").pipe(
    Config.withDefault(SqliteLayer.DefaultFilename),
  )
  return `SQLite at ${file}`
})
