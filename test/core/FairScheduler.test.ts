import { assert, describe, it } from "@effect/vitest"
import { Effect, FiberRef, Ref, Scheduler, TestClock } from "effect"
import { FairScheduler, fair } from "../../src/core/FairScheduler.js"
import * as Job from "../../src/core/Job.js"
import { memoryStores, nodeOn } from "../support/harness.js"

/** Busy for `ms` of wall-clock time: a task that does not yield. */
const spin = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end);
}

/**
 * Three tasks of 60 ms each (longer than a 50 ms slice, so a delay of the process can only make a
 * slice end sooner, never later) on `scheduler`, and a setImmediate callback queued before them.
 */
const order = (scheduler: Scheduler.Scheduler) =>
  new Promise<ReadonlyArray<string>>((resolve) => {
    const seen: Array<string> = []
    const push = (name: string) => {
      seen.push(name)
      if (seen.length === 4) resolve(seen)
    }
    setImmediate(() => push("other"))
    for (const name of ["a", "b", "c"])
      scheduler.scheduleTask(() => {
        spin(60)
        seen.push(name)
        if (seen.length === 4) resolve(seen)
      }, 0)
    setTimeout(() => resolve(seen), 2_000)
  })

describe("FairScheduler", () => {
  it("runs its queue in slices: once 50 ms have passed, the rest waits behind what the event loop has queued", async () => {
    assert.deepStrictEqual(await order(new FairScheduler(50)), ["a", "other", "b", "c"])
    // Without slices (what a microtask-only scheduler does): everything queued waits for all three.
    assert.deepStrictEqual(await order(new FairScheduler(Number.POSITIVE_INFINITY)), ["a", "b", "c", "other"])
  })

  it.scoped("cron slots and the jobs they start run on it, unless the scheduler option names another", () =>
    Effect.gen(function* () {
      const seen = yield* Ref.make<Array<Scheduler.Scheduler>>([])
      const other = yield* Ref.make<Array<Scheduler.Scheduler>>([])
      /** A job every second that records the scheduler it runs on. */
      const recording = (into: Ref.Ref<Array<Scheduler.Scheduler>>) =>
        Job.make({
          type: "tick",
          cron: "* * * * * ?",
          run: Effect.flatMap(FiberRef.get(FiberRef.currentScheduler), (s) =>
            Ref.update(into, (all) => [...all, s]),
          ),
        })
      yield* nodeOn(yield* memoryStores, [recording(seen)])
      yield* TestClock.adjust("2 seconds")
      yield* nodeOn(yield* memoryStores, [recording(other)], {
        scheduler: { effectScheduler: Scheduler.defaultScheduler },
      })
      yield* TestClock.adjust("2 seconds")
      const ran = yield* Ref.get(seen)
      assert.isAbove(ran.length, 0)
      assert.isTrue(ran.every((s) => s === fair))
      const ranOther = yield* Ref.get(other)
      assert.isAbove(ranOther.length, 0)
      assert.isTrue(ranOther.every((s) => s === Scheduler.defaultScheduler))
    }),
  )
})
