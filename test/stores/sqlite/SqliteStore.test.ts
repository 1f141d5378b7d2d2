import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Context, Duration, Effect, Layer, Option, TestClock } from "effect"
import { afterAll } from "vitest"
import { makeJobId } from "../../../src/domain/Ids.js"
import type { JobType, LockType } from "../../../src/domain/Names.js"
import { LockRepository } from "../../../src/ports/LockRepository.js"
import { StatusRepository } from "../../../src/ports/StatusRepository.js"
import * as SqlMigrations from "../../../src/stores/sql/SqlMigrations.js"
import * as SqliteStore from "../../../src/stores/sqlite/SqliteStore.js"
import { libraryMigrationIds, nextMigrationFile } from "../../support/sqlMigrations.js"
import { statusOf } from "../../support/statuses.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-sqlite-store-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const storesOn = (filename: string, options: Partial<SqliteStore.SqliteOptions> = {}) =>
  Effect.map(Layer.build(SqliteStore.layer({ filename, ...options })), (ctx) => ({
    locks: Context.get(ctx, LockRepository),
    statuses: Context.get(ctx, StatusRepository),
  }))

const recorded = (file: string) => {
  const db = new Database(file, { readonly: true })
  try {
    return (
      db.prepare("SELECT migration_id FROM ha_jobs_migrations ORDER BY 1").all() as Array<{
        migration_id: number
      }>
    ).map((r) => r.migration_id)
  } finally {
    db.close()
  }
}

describe("SqliteStore", () => {
  it.scoped("a file made by the version before the migrator upgrades in place, keeping its data", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "legacy.db")
      const jobType = "legacy" as JobType
      const status = yield* statusOf(jobType, yield* makeJobId, "FINISHED", 1_700_000_000_000, {
        fencingToken: 41,
      })
      const db = new Database(file)
      db.pragma("journal_mode = WAL")
      db.exec(
        fs.readFileSync(
          fileURLToPath(new URL("fixtures/sqlite-before-migrator.sql", import.meta.url)),
          "utf8",
        ),
      )
      db.prepare("INSERT INTO ha_locks (lock_type, last_token) VALUES ('legacy', 41)").run()
      db.prepare("INSERT INTO ha_slots VALUES ('legacy', 1800000000000, 'old-host', 1)").run()
      const row = {
        trigger_id: status.triggerId,
        job_type: jobType,
        job_id: status.jobId,
        lock_type: status.lockType,
        job_state: status.jobState,
        job_result: status.jobResult,
        job_status_ts: status.jobStatusTs.getTime(),
        fencing_token: 41,
        attempt: 1,
        trigger_source: "manual",
      }
      for (const table of ["ha_status_history", "ha_executions"])
        db.prepare(
          `INSERT INTO ${table} (${Object.keys(row).join(", ")}) VALUES (${Object.keys(row)
            .map((k) => `@${k}`)
            .join(", ")})`,
        ).run(row)
      db.close()

      // Two restarts first: the upgrade happens once.
      for (let start = 0; start < 2; start++) yield* Effect.scoped(storesOn(file))
      const { locks, statuses } = yield* storesOn(file)
      const acquired = yield* locks.acquire({
        lockType: "legacy" as LockType,
        jobType,
        jobId: yield* makeJobId,
        ttl: Duration.seconds(30),
      })
      assert.deepStrictEqual(acquired, { _tag: "Acquired", token: 42 })
      assert.deepStrictEqual(yield* statuses.get(jobType, status.jobId), Option.some(status))
      assert.deepStrictEqual(yield* locks.lastSlot(jobType), Option.some(1_800_000_000_000))
      // Its slot claim has no claim id (NULL): no claim now, a retry or not, is taken for it.
      assert.isFalse(
        yield* locks.claimSlot({ jobType, slot: 1_800_000_000_000, instance: "old-host", claimId: "legacy" }),
      )
      assert.deepStrictEqual(recorded(file), libraryMigrationIds("sqlite"))
    }),
  )

  it.scoped(
    "history older than the retention is deleted by the store's clock, from a minute after start",
    () =>
      Effect.gen(function* () {
        const file = path.join(dir, "retention.db")
        const { statuses } = yield* storesOn(file, { retention: "1 day" })
        const jobType = "retained" as JobType
        const old = yield* statusOf(jobType, yield* makeJobId, "FINISHED", 0)
        yield* statuses.save(old)
        yield* TestClock.adjust("30 seconds")
        assert.isTrue(Option.isSome(yield* statuses.get(jobType, old.jobId)))
        const fresh = yield* statusOf(jobType, yield* makeJobId, "FINISHED", Duration.toMillis("2 days"))
        yield* statuses.save(fresh)
        // Hourly runs (jittered) pass the day at which `old` expires; `fresh` is not due by then.
        yield* TestClock.adjust("2 days")
        assert.isTrue(Option.isNone(yield* statuses.get(jobType, old.jobId)))
        assert.isTrue(Option.isSome(yield* statuses.get(jobType, fresh.jobId)))
      }),
  )

  it.live(
    "processes starting together on a file with a new migration: all start, the migration runs once",
    () =>
      Effect.gen(function* () {
        const file = path.join(dir, "together.db")
        yield* Effect.scoped(storesOn(file))
        const folder = fs.mkdtempSync(path.join(dir, "migrations-"))
        fs.cpSync(SqlMigrations.directory("sqlite"), folder, { recursive: true })
        // Long enough (a few hundred ms of writing) for the others to try meanwhile.
        fs.writeFileSync(
          path.join(folder, nextMigrationFile("sqlite", "filler")),
          `ALTER TABLE ha_executions ADD COLUMN filler_note text;
           CREATE TABLE ha_filler AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000)
             SELECT x, hex(randomblob(16)) AS y FROM c;`,
        )
        const startAt = Date.now() + 4_000
        const script = fileURLToPath(new URL("../../support/sqliteStoreProcess.ts", import.meta.url))
        const results = yield* Effect.forEach(
          [1, 2, 3, 4],
          () =>
            Effect.promise(() =>
              promisify(execFile)(
                process.execPath,
                ["--import", "tsx", script, file, folder, String(startAt)],
                {
                  encoding: "utf8",
                  timeout: 60_000,
                },
              ),
            ).pipe(
              Effect.map(({ stdout }) => JSON.parse(stdout.trim().split("\n").pop()!) as { ok: boolean }),
            ),
          { concurrency: "unbounded" },
        )
        assert.deepStrictEqual(results, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }])
        const own = libraryMigrationIds("sqlite")
        assert.deepStrictEqual(recorded(file), [...own, own[own.length - 1]! + 1])
      }),
    60_000,
  )
})
