import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, TestClock } from "effect"
import { claimRetry } from "../../src/core/Scheduler.js"

/** When each attempt of an always-failing claim starts, retried until `giveUpIn` from now. */
const attemptTimes = (giveUpIn: number) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const times: Array<number> = []
    const attempt = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      times.push(now - start)
      return Effect.fail("refused")
    })
    const fiber = yield* Effect.fork(Effect.retry(attempt, claimRetry(start + giveUpIn)))
    yield* TestClock.adjust("1 minute")
    const exit = yield* Fiber.await(fiber)
    assert.isTrue(Exit.isFailure(exit))
    return times
  })

describe("Scheduler.claimRetry", () => {
  it.effect("200 ms, doubling, at most 5 s apart, while the next attempt starts before the deadline", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(
        yield* attemptTimes(30_000),
        [0, 200, 600, 1_400, 3_000, 6_200, 11_200, 16_200, 21_200, 26_200],
      )
    }),
  )

  it.effect("no attempt starts at or after the deadline", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* attemptTimes(16_200), [0, 200, 600, 1_400, 3_000, 6_200, 11_200])
      assert.deepStrictEqual(yield* attemptTimes(200), [0])
    }),
  )
})
