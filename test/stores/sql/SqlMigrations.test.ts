import * as fs from "node:fs"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { makeJobId } from "../../../src/domain/Ids.js"
import type { JobType } from "../../../src/domain/Names.js"
import { StatusRepository } from "../../../src/ports/StatusRepository.js"
import * as SqlMigrations from "../../../src/stores/sql/SqlMigrations.js"
import * as SqlStore from "../../../src/stores/sql/SqlStore.js"
import { describePostgres } from "../../setup/postgres.js"
import { type Dialect, postgres, sqlite, tmp } from "../../support/sqlDialects.js"
import {
  libraryMigrationIds,
  newestLibraryMigration,
  nextMigrationFile,
} from "../../support/sqlMigrations.js"
import { statusOf } from "../../support/statuses.js"

/** A migrations folder: the library's for the dialect, plus `extra` files. */
const folder = (dialect: Dialect, extra: Record<string, string> = {}) => {
  const dir = fs.mkdtempSync(path.join(tmp, "dir-"))
  fs.cpSync(SqlMigrations.directory(dialect.name), dir, { recursive: true })
  for (const [file, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, file), text)
  return dir
}

/** Starts the store on `client` (one start), runs `body` with it and the client, stops it. */
const start = <A, E>(
  client: Layer.Layer<SqlClient.SqlClient, unknown>,
  migrations: string | undefined,
  body: Effect.Effect<A, E, SqlClient.SqlClient | StatusRepository> = Effect.void as never,
) =>
  Effect.scoped(
    Effect.flatMap(
      Layer.build(
        SqlStore.layer(
          migrations === undefined ? {} : { migrations: SqlMigrations.fromDirectory(migrations) },
        ).pipe(Layer.provideMerge(client)),
      ),
      (ctx) => Effect.provide(body, ctx),
    ),
  )

const recorded = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ id: number | string }>`SELECT migration_id AS id FROM ha_jobs_migrations ORDER BY migration_id`,
    (rows) => rows.map((r) => Number(r.id)),
  ),
)

const columns = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql.onDialectOrElse({
        pg: () =>
          sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
                                WHERE table_schema = current_schema() AND table_name = ${table}`,
        orElse: () => sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`,
      }),
      (rows) => rows.map((r) => r.name),
    ),
  )

const suite = (dialect: Dialect) => {
  // The library's own migrations, and the id a test's added migration gets: right after them.
  const own = libraryMigrationIds(dialect.name)
  const newest = newestLibraryMigration(dialect.name)
  const added = newest + 1
  it.scoped("a migration added later (ALTER TABLE) runs once; two restarts leave it and the data be", () =>
    Effect.gen(function* () {
      // Every start builds its own client on the same database: a restart.
      const db = yield* dialect.fresh()
      const jobType = "mig" as JobType
      const status = yield* statusOf(jobType, yield* makeJobId, "FINISHED", 1_000)
      yield* start(
        db,
        undefined,
        Effect.flatMap(StatusRepository, (s) => s.save(status)),
      )
      const dir = folder(dialect, {
        [nextMigrationFile(dialect.name, "note")]: "ALTER TABLE ha_executions ADD COLUMN note text;\n",
      })
      for (let run = 0; run < 3; run++) {
        const [ids, cols, read] = yield* start(
          db,
          dir,
          Effect.all([
            recorded,
            columns("ha_executions"),
            Effect.flatMap(StatusRepository, (s) => s.get(jobType, status.jobId)),
          ]),
        )
        assert.deepStrictEqual(ids, [...own, added], `run ${run}`)
        assert.strictEqual(cols.filter((c) => c === "note").length, 1)
        assert.deepStrictEqual(read, Option.some(status))
      }
      // This version's own migrations end before the added one: it refuses a schema it would misread.
      const error = (yield* Effect.flip(start(db, undefined))) as { _tag: string; message: string }
      assert.strictEqual(error._tag, "StoreError")
      assert.include(
        error.message,
        `the database's schema is at migration ${added} (note), newer than this version of effect-ha-jobs knows (${newest})`,
      )
    }),
  )

  it.scoped("a migration failing midway changes nothing; once fixed it runs", () =>
    Effect.gen(function* () {
      const db = yield* dialect.fresh()
      yield* start(db, undefined)
      const dir = folder(dialect, {
        [nextMigrationFile(dialect.name, "broken")]:
          "ALTER TABLE ha_executions ADD COLUMN first_half text;\nALTER TABLE no_such_table ADD COLUMN x text;\n",
      })
      const error = yield* Effect.flip(start(db, dir))
      const message = (error as { message: string }).message
      assert.include(message, `Migration "${added}_broken" failed`)
      assert.include(message, "no_such_table")
      assert.notInclude(message, "\n")
      const [ids, cols] = yield* start(db, undefined, Effect.all([recorded, columns("ha_executions")]))
      assert.deepStrictEqual(ids, own)
      assert.notInclude(cols, "first_half")
      fs.writeFileSync(
        path.join(dir, nextMigrationFile(dialect.name, "broken")),
        "ALTER TABLE ha_executions ADD COLUMN first_half text;\n",
      )
      const [fixed, fixedCols] = yield* start(db, dir, Effect.all([recorded, columns("ha_executions")]))
      assert.deepStrictEqual(fixed, [...own, added])
      assert.include(fixedCols, "first_half")
    }),
  )

  // PostgreSQL only (not even listed for SQLite, so CI shows no skip): fibers of one process take
  // turns on a SQLite file's one connection, so this cannot race there; SqliteStore.test.ts starts
  // real processes together instead.
  if (dialect.name === "pg")
    it.scoped("instances starting together on an empty database all start, and migrate once", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh()
        // Each start builds a client of its own, as separate instances have.
        yield* Effect.forEach([1, 2, 3, 4], () => start(db, undefined), { concurrency: "unbounded" })
        assert.deepStrictEqual(yield* start(db, undefined, recorded), own)
      }),
    )
}

describe("SQL store migrations: SQLite", () => suite(sqlite))
describePostgres("SQL store migrations: PostgreSQL", () => suite(postgres))
