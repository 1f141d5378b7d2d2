import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { afterAll } from "vitest"
import { makeJobId } from "../../../src/domain/Ids.js"
import type { JobType, LockType } from "../../../src/domain/Names.js"
import { LockRepository } from "../../../src/ports/LockRepository.js"
import { layer } from "../../../src/stores/sqlite/SqliteLayer.js"
import { holdWriteLock, makeReadOnly, writeRandomBytes } from "../../support/sqliteFiles.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-sqlite-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const locksOn = (filename: string) =>
  Effect.map(Layer.build(layer({ filename })), (ctx) => Context.get(ctx, LockRepository))

/** Start-up errors are read in a log: one line, no stack, no "Failed to execute statement". */
const assertOneLine = (message: string) => {
  assert.notInclude(message, "\n")
  assert.notInclude(message, "Failed to")
}

describe("SqliteLayer", () => {
  it.scoped(
    "two connections to one file racing for a lock: exactly one wins each round, tokens increase",
    () =>
      Effect.gen(function* () {
        const file = path.join(dir, "race.db")
        const a = yield* locksOn(file)
        const b = yield* locksOn(file)
        const lockType = "race" as LockType
        let lastToken = 0
        for (let round = 0; round < 50; round++) {
          const ids = [yield* makeJobId, yield* makeJobId]
          const results = yield* Effect.all(
            [a, b].map((locks, i) =>
              locks.acquire({
                lockType,
                jobType: "race" as JobType,
                jobId: ids[i]!,
                ttl: Duration.seconds(30),
              }),
            ),
            { concurrency: "unbounded" },
          )
          const winners = results.flatMap((r, i) => (r._tag === "Acquired" ? [{ i, token: r.token }] : []))
          assert.strictEqual(winners.length, 1, `round ${round}`)
          const winner = winners[0]!
          assert.isAbove(winner.token, lastToken)
          lastToken = winner.token
          assert.isTrue(
            yield* [a, b][winner.i]!.release({ lockType, jobId: ids[winner.i]!, token: winner.token }),
          )
        }
      }),
  )

  it.scoped("an unwritable path is a StoreError naming the path", () =>
    Effect.gen(function* () {
      const blocker = path.join(dir, "not-a-dir")
      fs.writeFileSync(blocker, "x")
      const file = path.join(blocker, "ha-jobs.db")
      const error = yield* Effect.flip(Layer.build(layer({ filename: file })))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(
        error.message,
        `cannot use the SQLite database at ${file}: ${blocker} is a file, not a directory`,
      )
      assertOneLine(error.message)
    }),
  )

  it.scoped("a corrupt database file is a StoreError naming the path", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "corrupt.db")
      fs.writeFileSync(file, "this is not a database, just some text that is long enough ".repeat(100))
      const error = yield* Effect.flip(Layer.build(layer({ filename: file })))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, `cannot use the SQLite database at ${file}`)
      assert.match(error.message, /not a database/)
    }),
  )

  it.scoped("random bytes instead of a database: the cause first, one line, with the fix", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "random.db")
      writeRandomBytes(file)
      const error = yield* Effect.flip(Layer.build(layer({ filename: file })))
      assert.include(
        error.message,
        `cannot use the SQLite database at ${file}: file is not a database (SQLITE_NOTADB)`,
      )
      assert.include(error.message, "move it away")
      assertOneLine(error.message)
    }),
  )

  it.scoped("a read-only database file is a start-up error with SQLite's cause first", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "read-only.db")
      yield* Effect.scoped(Layer.build(layer({ filename: file })))
      makeReadOnly(file)
      const error = yield* Effect.flip(Layer.build(layer({ filename: file })))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(
        error.message,
        `cannot use the SQLite database at ${file}: attempt to write a readonly database (SQLITE_READONLY)`,
      )
      assert.include(error.message, "writable")
      assertOneLine(error.message)
    }),
  )

  it.scoped("a file whose write lock another process holds is a start-up error naming the lock", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "locked.db")
      yield* Effect.scoped(Layer.build(layer({ filename: file })))
      const holder = yield* Effect.acquireRelease(
        Effect.promise(() => holdWriteLock(file)),
        (h) => Effect.promise(h.release),
      )
      void holder
      const started = Date.now()
      const error = yield* Effect.flip(Layer.build(layer({ filename: file, busyTimeout: "300 millis" })))
      assert.isBelow(Date.now() - started, 3_000)
      assert.include(
        error.message,
        `cannot use the SQLite database at ${file}: database is locked (SQLITE_BUSY)`,
      )
      assert.include(error.message, "another process")
      assertOneLine(error.message)
    }),
  )
})
