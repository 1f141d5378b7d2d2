import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { describeCause, innermostCause, StoreError } from "../../domain/Errors.js"
import { splitStatements } from "./splitStatements.js"

/**
 * Where the applied migrations are recorded. Not Effect's default table: an application sharing its
 * database (and client) with us may run its own migrations with Effect's Migrator, whose ids would
 * collide with ours.
 */
export const Table = "ha_jobs_migrations"

export type Dialect = "sqlite" | "pg"

// dist/stores/sql/*.js finds it at the same place as src/stores/sql/*.ts: migrations/ ships beside dist/.
const root = fileURLToPath(new URL("../../../migrations/", import.meta.url))

/** The library's migrations for a dialect: migrations/sqlite/ or migrations/postgres/. */
export const directory = (dialect: Dialect): string =>
  path.join(root, dialect === "pg" ? "postgres" : "sqlite")

/** One file is one migration: PostgreSQL takes the whole script at once; SQLite one statement at a time. */
const script = (text: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () => Effect.asVoid(sql.unsafe(text)),
      orElse: () => Effect.forEach(splitStatements(text), (s) => sql.unsafe(s), { discard: true }),
    }),
  )

/** Migrations from the files `NNNN_name.sql` in `dir`, in the order of NNNN (their id). */
export const fromDirectory = (dir: string): Migrator.Loader =>
  Effect.try({
    try: () =>
      fs
        .readdirSync(dir)
        .flatMap((file): Array<Migrator.ResolvedMigration> => {
          const match = /^(\d+)_(.+)\.sql$/.exec(file)
          if (match === null) return []
          const text = fs.readFileSync(path.join(dir, file), "utf8")
          return [[Number(match[1]), match[2]!, Effect.succeed(script(text))]]
        })
        .sort(([a], [b]) => a - b),
    catch: (cause) =>
      new Migrator.MigrationError({
        reason: "import-error",
        message: `cannot read the migrations in ${dir}: ${describeCause(innermostCause(cause))}`,
        cause,
      }),
  })

const Lock = `${Table}_lock`

/**
 * Serialises instances that start together, and creates the table the Migrator records in (the same
 * columns it would create). PostgreSQL: a transaction-scoped advisory lock, so the table's creation
 * cannot race. SQLite: a write that takes the file's write lock at once; a deferred transaction would
 * read first and learn of another process' migration only when its own write fails.
 */
const lockAndEnsureTable = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({
    pg: () =>
      Effect.zipRight(
        sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ${`.${Lock}`}))`,
        sql`CREATE TABLE IF NOT EXISTS ${sql(Table)} (
              migration_id integer PRIMARY KEY,
              created_at timestamptz NOT NULL DEFAULT now(),
              name text NOT NULL)`,
      ),
    orElse: () =>
      Effect.zipRight(
        sql`CREATE TABLE IF NOT EXISTS ${sql(Table)} (
              migration_id integer PRIMARY KEY NOT NULL,
              created_at datetime NOT NULL DEFAULT current_timestamp,
              name VARCHAR(255) NOT NULL)`,
        sql`DELETE FROM ${sql(Table)} WHERE 0`,
      ),
  })

const migrator = Migrator.make({})

/**
 * Applies the migrations of `loader` not yet recorded in `Table`, each once, all in one transaction
 * with the recording (both dialects have transactional DDL), so a process stopped midway leaves the
 * schema as it was. A database migrated further than `loader` knows is refused: this version would
 * misread it.
 */
export const run = (
  sql: SqlClient.SqlClient,
  loader: Migrator.Loader,
): Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, StoreError> =>
  Effect.gen(function* () {
    const migrations = yield* loader
    const newest = migrations.reduce((max, [id]) => Math.max(max, id), 0)
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* lockAndEnsureTable(sql)
        const applied = yield* migrator({ loader: Effect.succeed(migrations), table: Table })
        const rows = yield* sql<{ id: number | string; name: string }>`
          SELECT migration_id AS id, name FROM ${sql(Table)} ORDER BY migration_id DESC LIMIT 1`
        const recorded = Number(rows[0]?.id ?? 0)
        if (recorded > newest)
          return yield* StoreError.of(
            "migrate",
            `the database's schema is at migration ${recorded} (${rows[0]?.name}), newer than this version of effect-ha-jobs knows (${newest}); upgrade effect-ha-jobs on this instance, or use another database`,
          )
        // The Migrator takes a failed write of its record for another instance migrating, and
        // returns; the lock above rules that out, so this is a write the database refused.
        if (recorded < newest)
          return yield* StoreError.of(
            "migrate",
            `migration ${newest} could not be recorded in ${Table} (it holds ${recorded}); check that the database is writable`,
          )
        return applied
      }),
    )
  }).pipe(
    Effect.provideService(SqlClient.SqlClient, sql),
    // The Migrator turns a failing migration into a defect; here it is the store's typed error.
    Effect.catchAllDefect((defect) => Effect.fail(defect)),
    StoreError.refail("migrate", (e) =>
      e instanceof Migrator.MigrationError
        ? e.cause === undefined
          ? e.message
          : `${e.message}: ${describeCause(innermostCause(e.cause))}`
        : describeCause(innermostCause(e)),
    ),
  )
