import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, type Layer, Redacted } from "effect"
import { afterAll } from "vitest"
import type * as SqlMigrations from "../../src/stores/sql/SqlMigrations.js"
import { admin, url } from "../setup/postgres.js"

/**
 * The SQL store's two dialects for tests that run on both, each database reached through an app's
 * own client (as SqlStore.layer takes it): a fresh SQLite file, or a fresh PostgreSQL schema
 * (dropped after the file's tests).
 */
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-migrations-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** One database to migrate: a fresh one per call of `fresh`, reached through an app's own client. */
export interface Dialect {
  readonly name: SqlMigrations.Dialect
  readonly fresh: () => Effect.Effect<Layer.Layer<SqlClient.SqlClient, unknown>>
}

let n = 0
export const sqlite: Dialect = {
  name: "sqlite",
  fresh: () => Effect.sync(() => SqliteClient.layer({ filename: path.join(tmp, `db-${++n}.db`) })),
}

const schemas: Array<string> = []
export const postgres: Dialect = {
  name: "pg",
  fresh: () =>
    Effect.promise(async () => {
      const schema = `ha_jobs_test_mig_${Date.now().toString(36)}_${++n}`
      schemas.push(schema)
      await admin((c) => c.query(`CREATE SCHEMA ${schema}`))
      // The application's client, its search_path on the test schema.
      const u = new URL(url)
      u.searchParams.set("options", `-c search_path=${schema}`)
      return PgClient.layer({ url: Redacted.make(u.toString()) })
    }),
}
afterAll(() =>
  admin(async (c) => {
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
  }),
)
