import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobManager } from "../../src/core/JobManager.js"
import { Membership } from "../../src/core/Membership.js"
import { memoryStores } from "../support/harness.js"
import { jobsLayer } from "../support/httpHarness.js"

const job = Job.make({ type: "long", lease: { ttl: "30 seconds" }, run: Effect.never })

describe("Membership", () => {
  it.scoped("heartbeats every interval; gone after 3 missed; the lock view names the holder's instance", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const options = { membership: { heartbeatEvery: "10 seconds" } } as const
      const a = yield* Layer.build(jobsLayer(stores, [job], { ...options, instance: "a" }))
      const scopeB = yield* Scope.make()
      const b = yield* Layer.buildWithScope(jobsLayer(stores, [job], { ...options, instance: "b" }), scopeB)
      const view = Context.get(a, Membership).view
      yield* TestClock.adjust("1 second")
      const first = yield* view
      assert.deepStrictEqual(
        first.instances.map((i) => [i.instance, i.gone, i.self, i.everyMs]),
        [
          ["a", false, true, 10_000],
          ["b", false, false, 10_000],
        ],
      )
      assert.deepStrictEqual(first.locks, [])

      const started = yield* Context.get(b, JobManager).trigger("long")
      assert.strictEqual(started._tag, "Started")
      yield* TestClock.adjust("5 seconds")
      const held = yield* view
      assert.deepStrictEqual(
        held.locks.map((l) => [l.lockType, l.jobType, Option.getOrNull(l.instance)]),
        [["long", "long", "b"]],
      )
      assert.isAbove(held.locks[0]!.expiresInMs, 0)
      assert.isAtMost(held.locks[0]!.expiresInMs, 30_000)

      // b stops at t=6 s; its last heartbeat was at t=0 s. Gone once 3 intervals (30 s) have passed.
      yield* Scope.close(scopeB, Exit.void)
      yield* TestClock.adjust("23 seconds") // t = 29 s
      assert.deepStrictEqual(
        (yield* view).instances.map((i) => [i.instance, i.gone]),
        [
          ["a", false],
          ["b", false],
        ],
      )
      yield* TestClock.adjust("2 seconds") // t = 31 s
      const later = yield* view
      assert.deepStrictEqual(
        later.instances.map((i) => [i.instance, i.gone]),
        [
          ["a", false],
          ["b", true],
        ],
      )
      // a kept announcing: its last heartbeat is the one at t = 30 s.
      assert.strictEqual(later.instances[0]!.seenAt.getTime(), 30_000)
      // b's shutdown released the lock.
      assert.deepStrictEqual(later.locks, [])
    }),
  )
})
