import { assert, describe, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { defaultLeaseTtl, makeLeaseTiming } from "../../src/domain/LeaseTiming.js"

describe("LeaseTiming", () => {
  it("defaults to a 15 s lease, renewing every third", () => {
    const t = Either.getOrThrow(makeLeaseTiming())
    assert.deepStrictEqual(
      [t.ttl, t.renewEvery, t.retryEvery, t.margin].map(Duration.toMillis),
      [15_000, 5_000, 1_500, 1_500],
    )
  })

  it("the ha-jobs mode defaults to ha-jobs' 60 s lock; a ttl set by the job wins in both", () => {
    const t = Either.getOrThrow(makeLeaseTiming({}, defaultLeaseTtl("ha-jobs")))
    assert.deepStrictEqual(
      [t.ttl, t.renewEvery, t.retryEvery, t.margin].map(Duration.toMillis),
      [60_000, 20_000, 6_000, 6_000],
    )
    const set = Either.getOrThrow(makeLeaseTiming({ ttl: "9 seconds" }, defaultLeaseTtl("ha-jobs")))
    assert.strictEqual(Duration.toMillis(set.ttl), 9_000)
  })

  it("derives the other intervals from a custom ttl", () => {
    const t = Either.getOrThrow(makeLeaseTiming({ ttl: "9 seconds" }))
    assert.deepStrictEqual([t.renewEvery, t.margin].map(Duration.toMillis), [3_000, 900])
  })

  const rejected: Array<[string, Parameters<typeof makeLeaseTiming>[0], RegExp]> = [
    ["sub-second ttl", { ttl: "500 millis" }, /at least 1 second/],
    ["zero ttl", { ttl: 0 }, /positive/],
    ["negative ttl", { ttl: -5 }, /positive/],
    ["infinite ttl", { ttl: Duration.infinity }, /finite/],
    ["margin of half the ttl", { ttl: "10 seconds", margin: "5 seconds" }, /less than half/],
    ["renewal too late", { ttl: "10 seconds", renewEvery: "9500 millis" }, /shorter than ttl minus margin/],
    ["not a duration", { ttl: "soon" as Duration.DurationInput }, /not a duration/],
  ]
  for (const [label, options, message] of rejected)
    it(`rejects ${label} with a message`, () => {
      const result = makeLeaseTiming(options)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.match(result.left, message)
    })
})
