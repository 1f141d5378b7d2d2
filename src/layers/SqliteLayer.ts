/**
 * The SQLite store under its first name: the same API, now implemented by SqliteStore on the SQL
 * store. New code imports SqliteStore.
 */
import * as SqliteStore from "./SqliteStore.js"

export { DefaultFilename, layer, type SqliteOptions } from "./SqliteStore.js"

/** The file name from `HA_JOBS_SQLITE_PATH` (default ./data/ha-jobs.db): SqliteStore.layerFromEnv(). */
export const layerConfig = SqliteStore.layerFromEnv()
