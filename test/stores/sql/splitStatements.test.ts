import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as SqlMigrations from "../../../src/stores/sql/SqlMigrations.js"
import { splitStatements } from "../../../src/stores/sql/splitStatements.js"

describe("splitStatements (SQLite migration files)", () => {
  it("splits at semicolons outside quotes and comments, and drops comments and empty statements", () => {
    const script = `-- a comment; with a semicolon
CREATE TABLE a (x TEXT DEFAULT 'a;b', "we;ird" INTEGER); /* block; comment */
INSERT INTO a VALUES ('it''s; fine', 1);;
-- trailing comment`
    assert.deepStrictEqual(splitStatements(script), [
      `CREATE TABLE a (x TEXT DEFAULT 'a;b', "we;ird" INTEGER)`,
      `INSERT INTO a VALUES ('it''s; fine', 1)`,
    ])
  })

  it("splits the library's own SQLite migration into its eight statements", () => {
    const file = path.join(SqlMigrations.directory("sqlite"), "0001_init.sql")
    const statements = splitStatements(fs.readFileSync(file, "utf8"))
    assert.strictEqual(statements.length, 8)
    assert.isTrue(statements.every((s) => /^CREATE (TABLE|INDEX) IF NOT EXISTS ha_/.test(s)))
  })
})
