import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Option, Ref, Scope, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { makeFaultyLocks } from "../support/FaultyLocks.js"
import { memoryStores, nodeOn } from "../support/harness.js"
import { assertNoOverlap, type Interval, recordInterval } from "../support/intervals.js"

/** A continuous consumer that records when it held the lease, per instance. */
const consumer = (log: Ref.Ref<Array<Interval>>, instance: string) =>
  Job.make({
    type: "consumer",
    continuous: true,
    lease: { ttl: "30 seconds" },
    run: recordInterval(log, instance),
  })

describe("Scheduler: continuous jobs", () => {
  it.scoped(
    "the holder's store link dies: another instance takes over within ttl + one watch, never overlapping",
    () =>
      Effect.gen(function* () {
        const shared = yield* makeFaultyLocks // a's view of the store, which we can cut
        const log = yield* Ref.make<Array<Interval>>([])
        yield* nodeOn(
          { lockRepository: shared.locks, statusRepository: shared.statusRepository },
          [consumer(log, "a")],
          {
            instance: "a",
          },
        )
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(
          (yield* Ref.get(log)).map((i) => i.instance),
          ["a"],
        )
        const b = yield* nodeOn(
          { lockRepository: shared.inner, statusRepository: shared.statusRepository },
          [consumer(log, "b")],
          { instance: "b" },
        )
        yield* Ref.set(shared.mode, { _tag: "down" }) // a's store link is dead (like a crash)
        for (let i = 0; i < 40; i++) yield* TestClock.adjust("1 second")
        const intervals = yield* Ref.get(log)
        assert.deepStrictEqual(
          intervals.map((i) => i.instance),
          ["a", "b"],
        )
        // a acquired at 0 s: the store keeps its lease until 30 s; b's watch runs every second.
        assert.isAtLeast(intervals[1]!.start, 30_000)
        assert.isAtMost(intervals[1]!.start, 31_000)
        assertNoOverlap(intervals)
        assert.strictEqual(Option.getOrThrow(yield* b.manager.latest("consumer")).triggerSource, "continuous")
      }),
  )

  it.effect("the holder shuts down: another instance takes over within one second", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const log = yield* Ref.make<Array<Interval>>([])
      const scopeA = yield* Scope.make()
      yield* nodeOn(stores, [consumer(log, "a")], { instance: "a" }).pipe(Scope.extend(scopeA))
      yield* TestClock.adjust("500 millis")
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* nodeOn(stores, [consumer(log, "b")], { instance: "b" })
          yield* TestClock.adjust("10 seconds")
          yield* Scope.close(scopeA, Exit.void)
          const stoppedAt = yield* Clock.currentTimeMillis
          yield* TestClock.adjust("1 second")
          const intervals = yield* Ref.get(log)
          assert.deepStrictEqual(
            intervals.map((i) => i.instance),
            ["a", "b"],
          )
          assert.isAtMost(intervals[1]!.start - stoppedAt, 1_000)
          assertNoOverlap(intervals)
        }),
      )
    }),
  )

  it.scoped("a user's cancel sticks until the next manual trigger; a failure restarts after the delay", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const runs = yield* Ref.make(0)
      const failing = yield* Ref.make(false)
      const job = Job.make({
        type: "consumer",
        continuous: { watchEvery: "1 second", restartDelay: "10 seconds" },
        run: Effect.gen(function* () {
          yield* Ref.update(runs, (n) => n + 1)
          if (yield* Ref.get(failing)) return yield* Effect.fail("broker down")
          return yield* Effect.never
        }),
      })
      const { manager } = yield* nodeOn(stores, [job])
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* manager.cancel("consumer")
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(runs), 1)
      yield* Ref.set(failing, true)
      yield* manager.trigger("consumer") // fails at once
      for (let i = 0; i < 9; i++) yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(runs), 2)
      for (let i = 0; i < 2; i++) yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(runs), 3)
    }),
  )
})
