import { assert } from "@effect/vitest"
import { Clock, Effect, Ref } from "effect"
import { JobContext } from "../../src/core/JobContext.js"

/** When one execution ran, on which instance, under which token (`end` once it was interrupted). */
export interface Interval {
  readonly instance: string
  readonly token: number
  readonly start: number
  end?: number
}

/** A job body that runs until interrupted and records its interval in `log`. */
export const recordInterval = (log: Ref.Ref<Array<Interval>>, instance: string) =>
  Effect.gen(function* () {
    const ctx = yield* JobContext
    const entry: Interval = { instance, token: ctx.fencingToken, start: yield* Clock.currentTimeMillis }
    yield* Ref.update(log, (l) => [...l, entry])
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.map(Clock.currentTimeMillis, (t) => {
          entry.end = t
        }),
      ),
    )
  })

/** Each interval ended before the next began, under a greater token. */
export const assertNoOverlap = (intervals: ReadonlyArray<Interval>) => {
  for (let i = 1; i < intervals.length; i++) {
    assert.isDefined(intervals[i - 1]!.end)
    assert.isAtMost(intervals[i - 1]!.end!, intervals[i]!.start)
    assert.isAbove(intervals[i]!.token, intervals[i - 1]!.token)
  }
}
