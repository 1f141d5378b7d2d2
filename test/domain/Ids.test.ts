import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import { JobId, makeJobId, timestampOf } from "../../src/domain/Ids.js"

describe("Ids", () => {
  it.effect("job ids are version 7 UUIDs that sort by creation, even within one millisecond", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const ids: Array<string> = []
      for (let i = 0; i < 1000; i++) ids.push(yield* makeJobId)
      yield* TestClock.adjust("1 millis")
      ids.push(yield* makeJobId)
      assert.deepStrictEqual([...ids].sort(), ids)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.strictEqual(timestampOf(ids[0]!), 1_700_000_000_000)
      assert.strictEqual(timestampOf(ids.at(-1)!), 1_700_000_000_001)
      assert.isTrue(ids.every((id) => Either.isRight(Schema.decodeUnknownEither(JobId)(id))))
    }),
  )

  it("rejects malformed and non-time-ordered ids", () => {
    for (const bad of ["", "42", "not-a-uuid", "6f1c2a3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"]) {
      const result = Schema.decodeUnknownEither(JobId)(bad)
      assert.isTrue(Either.isLeft(result), bad)
    }
  })
})
