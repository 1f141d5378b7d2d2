import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { afterAll } from "vitest"
import { makeJobId } from "../../src/domain/Ids.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import { layer } from "../../src/layers/SqliteLayer.js"
import { LockRepository } from "../../src/services/LockRepository.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-sqlite-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const locksOn = (filename: string) =>
  Effect.map(Layer.build(layer({ filename })), (ctx) => Context.get(ctx, LockRepository))

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
      assert.include(error.message, `cannot use the SQLite database at ${file}`)
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
})
