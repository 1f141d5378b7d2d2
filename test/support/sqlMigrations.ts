import { Effect } from "effect"
import * as SqlMigrations from "../../src/stores/sql/SqlMigrations.js"

/**
 * The ids of the library's own SQL migrations for a dialect, read by the loader the store uses, so
 * tests that add a migration of their own or check what was recorded follow every new migration
 * file instead of hard-coding where the list ends. Apart from sqlDialects.ts: a SQLite-only test
 * need not reach PostgreSQL to know them.
 */
export const libraryMigrationIds = (dialect: SqlMigrations.Dialect): ReadonlyArray<number> =>
  Effect.runSync(SqlMigrations.fromDirectory(SqlMigrations.directory(dialect))).map(([id]) => id)

/** The newest of the library's migrations for a dialect (what the store says it knows). */
export const newestLibraryMigration = (dialect: SqlMigrations.Dialect): number =>
  Math.max(0, ...libraryMigrationIds(dialect))

/** The file name of a test's own migration, numbered right after the library's newest one. */
export const nextMigrationFile = (dialect: SqlMigrations.Dialect, name: string): string =>
  `${String(newestLibraryMigration(dialect) + 1).padStart(4, "0")}_${name}.sql`
