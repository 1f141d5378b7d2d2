import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Job from "../../src/core/Job.js"
import type { LockType } from "../../src/domain/Names.js"
import { managerOn, memoryStores } from "../support/harness.js"

const ok = Job.make({ type: "ok", run: Effect.void })

describe("JobManager bad input", () => {
  const definitions: Array<[string, Job.Job<any, any, never>, RegExp]> = [
    ["an empty name", Job.make({ type: "", run: Effect.void }), /job type must not be empty/],
    [
      "an over-long name",
      Job.make({ type: "x".repeat(101), run: Effect.void }),
      /at most 100 characters, got 101/,
    ],
    [
      "an ill-formed name",
      Job.make({ type: "a/b", run: Effect.void }),
      /"a\/b" must start with a letter or digit/,
    ],
    ["an ill-formed lock type", Job.make({ type: "a", lockType: " x", run: Effect.void }), /lock type " x"/],
    [
      "a sub-second lease",
      Job.make({ type: "a", lease: { ttl: "999 millis" }, run: Effect.void }),
      /at least 1 second/,
    ],
    [
      "a non-positive lease",
      Job.make({ type: "a", lease: { ttl: 0 }, run: Effect.void }),
      /must be positive/,
    ],
    ["a bad content bound", Job.make({ type: "a", maxContentBytes: 0, run: Effect.void }), /maxContentBytes/],
    [
      "both Quartz day fields set",
      Job.make({ type: "a", cron: "0 * * * * *", run: Effect.void }),
      /job "a": invalid cron expression "0 \* \* \* \* \*": Quartz syntax needs '\?'/,
    ],
    [
      "a cron that is not one",
      Job.make({ type: "a", cron: "foo", run: Effect.void }),
      /"foo": expected 5 fields/,
    ],
    ["a second out of range", Job.make({ type: "a", cron: "61 * * * * ?", run: Effect.void }), /second: 61/],
    [
      "a cron that never fires",
      Job.make({ type: "a", cron: "0 0 12 31 2 ?", run: Effect.void }),
      /never fires/,
    ],
    [
      "an unknown time zone",
      Job.make({ type: "a", cron: "0 0 12 * * ?", timeZone: "Nowhere", run: Effect.void }),
      /unknown time zone "Nowhere"/,
    ],
    [
      "negative retries",
      Job.make({ type: "a", retries: -1, run: Effect.void }),
      /retries must be an integer/,
    ],
  ]
  for (const [label, job, message] of definitions)
    it.scoped(`a job with ${label} is refused at start with a typed error`, () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const error = yield* Effect.flip(managerOn(stores, [ok, job]))
        assert.strictEqual((error as { _tag: string })._tag, "InvalidJobDefinition")
        assert.match((error as { message: string }).message, message)
      }),
    )

  it.scoped("a job type defined twice is refused", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const error = yield* Effect.flip(managerOn(stores, [ok, ok]))
      assert.deepStrictEqual(
        [(error as { _tag: string })._tag, (error as { message: string }).message],
        ["InvalidJobDefinition", 'job "ok" is defined twice'],
      )
    }),
  )

  it.scoped(
    "unknown job types, malformed ids and limits out of range are typed errors; nothing is written",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const m = yield* managerOn(stores, [ok])
        const unknown = [
          m.trigger("nope"),
          m.cancel("nope"),
          m.list("nope"),
          m.latest("nope"),
          m.status("nope", "x"),
          m.history("nope", "x"),
          m.retrigger("nope", "x", 2),
        ]
        for (const call of unknown) {
          const error = yield* Effect.flip(call as Effect.Effect<unknown, { _tag: string; message: string }>)
          assert.deepStrictEqual([error._tag, error.message], ["UnknownJobType", 'unknown job type "nope"'])
        }
        const invalid: Array<[Effect.Effect<unknown, unknown>, string, RegExp]> = [
          [m.status("ok", "not-an-id"), "jobId", /"not-an-id" is not a time-ordered/],
          [
            m.history("ok", "6f1c2a3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"),
            "jobId",
            /not a time-ordered \(version 7\) UUID/,
          ],
          [m.list("ok", { limit: 0 }), "limit", /between 1 and 1000, got 0/],
          [m.list("ok", { limit: 1001 }), "limit", /got 1001/],
          [m.list("ok", { limit: 2.5 }), "limit", /got 2.5/],
          [m.list("ok", { before: "zzz" }), "before", /"zzz"/],
          [m.retrigger("ok", "bad", 2), "triggerId", /"bad"/],
          [m.retrigger("ok", "0190d7a2-0000-7000-8000-000000000000", 0), "attempt", />= 1/],
        ]
        for (const [call, field, message] of invalid) {
          const error = (yield* Effect.flip(call)) as { _tag: string; field: string; message: string }
          assert.deepStrictEqual([error._tag, error.field], ["InvalidInput", field])
          assert.match(error.message, message)
        }
        assert.deepStrictEqual(yield* m.list("ok"), [])
        assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("ok" as LockType)))
        assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("nope" as LockType)))
      }),
  )
})
