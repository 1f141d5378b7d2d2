/**
 * The SQLite store under its first names, kept for one release: the same API, implemented by
 * SqliteStore on the SQL store. New code imports SqliteStore (`layerFromEnv()` for the environment).
 */
import * as SqliteStore from "./SqliteStore.js"

/** @deprecated Use `SqliteStore.SqliteOptions`. */
export type SqliteOptions = SqliteStore.SqliteOptions

/** @deprecated Use `SqliteStore.DefaultFilename`. */
export const DefaultFilename = SqliteStore.DefaultFilename

/** @deprecated Use `SqliteStore.layer(options)`. */
export const layer = SqliteStore.layer

/** @deprecated Use `SqliteStore.layerFromEnv()` (the file from `HA_JOBS_SQLITE_PATH`). */
export const layerConfig = SqliteStore.layerFromEnv()
