import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Ref, Schedule, Schema, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as JobParams from "../../src/core/JobParams.js"
import { memoryStores, nodeOn } from "../support/harness.js"

// A manual run with params: checked against the job's schema, given to the job decoded, stored
// encoded with every status of the trigger and given again to its retries.
const Params = Schema.Struct({ day: Schema.Date, ids: Schema.optional(Schema.Array(Schema.Int)) })

/** A job recording the params each run saw; fails its first `failures` runs. */
const recording = (type: string, failures = 0) =>
  Effect.gen(function* () {
    const seen = yield* Ref.make<Array<Option.Option<typeof Params.Type>>>([])
    const job = Job.make({
      type,
      params: Params,
      retries: 2,
      retryBackoff: Schedule.spaced("10 seconds"),
      run: Effect.gen(function* () {
        const params = yield* JobParams.get(Params)
        const runs = yield* Ref.updateAndGet(seen, (all) => [...all, params])
        if (runs.length <= failures) return yield* Effect.fail("feed down")
      }),
    })
    return { job, seen }
  })

const settle = Effect.repeatN(TestClock.adjust("1 second"), 2)

describe("run now with params", () => {
  it.scoped("params are decoded for the job, stored encoded on every status of the trigger", () =>
    Effect.gen(function* () {
      const { job, seen } = yield* recording("report")
      const { manager } = yield* nodeOn(yield* memoryStores, [job])
      const started = yield* manager.trigger("report", { params: { day: "2026-11-01", extra: "dropped" } })
      assert.strictEqual(started._tag, "Started")
      yield* settle
      const [params] = yield* Ref.get(seen)
      assert.deepStrictEqual(params, Option.some({ day: new Date("2026-11-01") }))
      const [run] = yield* manager.list("report")
      const { statuses: history } = yield* manager.history("report", run!.jobId)
      assert.isAbove(history.length, 1)
      // The schema's encoding of the decoded value: one spelling of the day, unknown keys gone.
      for (const s of history) assert.deepStrictEqual(s.params, { day: "2026-11-01T00:00:00.000Z" })
    }),
  )

  it.scoped("without params (manual without a body, cron): the job sees none and no params are stored", () =>
    Effect.gen(function* () {
      const { job, seen } = yield* recording("plain")
      const { manager } = yield* nodeOn(yield* memoryStores, [job])
      yield* manager.trigger("plain")
      yield* settle
      assert.deepStrictEqual(yield* Ref.get(seen), [Option.none()])
      const [run] = yield* manager.list("plain")
      assert.isUndefined(run!.params)
    }),
  )

  it.scoped(
    "params that do not fit, params for a job without a schema, oversized params: refused, nothing runs",
    () =>
      Effect.gen(function* () {
        const { job, seen } = yield* recording("strict")
        const none = Job.make({ type: "no-params", run: Effect.void })
        const { manager } = yield* nodeOn(yield* memoryStores, [job, none])
        const refused = (jobType: string, params: unknown) =>
          Effect.map(Effect.either(manager.trigger(jobType, { params })), (r) =>
            Either.isLeft(r) && r.left._tag === "InvalidInput" ? [r.left.field, r.left.message] : ["ran", ""],
          )
        const [field, message] = yield* refused("strict", { day: "not a day" })
        assert.strictEqual(field, "params")
        assert.include(message, "day")
        const [, noSchema] = yield* refused("no-params", { day: "2026-11-01" })
        assert.include(noSchema, 'job type "no-params" takes no params')
        const ids = Array.from({ length: 3000 }, (_, i) => i)
        const [, tooBig] = yield* refused("strict", { day: "2026-11-01", ids })
        assert.include(tooBig, `limit of ${JobParams.MaxParamsBytes}`)
        yield* settle
        assert.deepStrictEqual(yield* Ref.get(seen), [])
        assert.deepStrictEqual(yield* manager.list("strict"), [])
        assert.deepStrictEqual(yield* manager.list("no-params"), [])
      }),
  )

  it.scoped("the supervisor's retries run with the trigger's params", () =>
    Effect.gen(function* () {
      const { job, seen } = yield* recording("flaky-report", 2)
      const { manager } = yield* nodeOn(yield* memoryStores, [job], { supervisor: { cron: "0/5 * * * * ?" } })
      const first = yield* manager.trigger("flaky-report", { params: { day: "2026-11-02" } })
      assert.strictEqual(first._tag, "Started")
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("5 seconds")
      const day = Option.some({ day: new Date("2026-11-02") })
      // Red when the supervisor retries without the stored params: the retries see none.
      assert.deepStrictEqual(yield* Ref.get(seen), [day, day, day])
      const runs = yield* manager.list("flaky-report")
      assert.deepStrictEqual(
        runs.map((r) => [r.attempt, r.jobState, r.params]),
        [
          [3, "FINISHED", { day: "2026-11-02T00:00:00.000Z" }],
          [2, "FAILED", { day: "2026-11-02T00:00:00.000Z" }],
          [1, "FAILED", { day: "2026-11-02T00:00:00.000Z" }],
        ],
      )
    }),
  )

  it("the JSON Schema of a job's params, for the API and the dashboard", () => {
    const resolved = Either.getOrThrow(Job.resolve(Job.make({ type: "r", params: Params, run: Effect.void })))
    const schema = Option.getOrThrow(JobParams.jsonSchema(resolved)) as {
      properties?: Record<string, unknown>
    }
    assert.deepStrictEqual(Object.keys(schema.properties ?? {}), ["day", "ids"])
    const plain = Either.getOrThrow(Job.resolve(Job.make({ type: "p", run: Effect.void })))
    assert.isTrue(Option.isNone(JobParams.jsonSchema(plain)))
  })
})
