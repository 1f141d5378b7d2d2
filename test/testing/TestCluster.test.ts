import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as FaultyStore from "../../src/testing/FaultyStore.js"
import * as TestCluster from "../../src/testing/TestCluster.js"

/** The test kit (effect-ha-jobs/testing), as a user's test would use it. */
const everyMinute = Job.make({ type: "report", cron: "0 * * * * ?", run: Effect.sleep("5 seconds") })
const consumer = Job.make({ type: "consumer", continuous: { watchEvery: "1 second" }, run: Effect.never })

describe("TestCluster", () => {
  it.scoped("three instances, clocks 20 s apart: each cron slot runs once, on one of them", () =>
    Effect.gen(function* () {
      const cluster = yield* TestCluster.make([everyMinute], {
        instances: [{ clockOffsetMillis: -20_000 }, {}, { clockOffsetMillis: 20_000 }],
        supervisor: false,
      })
      yield* TestClock.adjust("10 minutes")
      const runs = yield* cluster.instances[0]!.manager.list("report", { limit: 100 })
      // Ten slots in ten minutes (the first may fall before or after the start): one run each.
      const slots = runs.map((s) => s.scheduledAt?.getTime())
      assert.isAtLeast(runs.length, 9)
      assert.strictEqual(new Set(slots).size, runs.length, "a slot ran twice")
      assert.isTrue(runs.every((s) => s.jobState === "FINISHED"))
    }),
  )

  it.scoped("stopping the holder of a continuous job: another instance takes it over", () =>
    Effect.gen(function* () {
      const cluster = yield* TestCluster.make([consumer], { instances: 2, supervisor: false })
      yield* TestClock.adjust("3 seconds")
      const first = Option.getOrThrow(yield* cluster.instances[0]!.manager.latest("consumer"))
      assert.strictEqual(first.jobState, "RUNNING")
      yield* cluster.instance(first.instance!).stop
      yield* TestClock.adjust("3 seconds")
      const next = Option.getOrThrow(yield* cluster.instances[0]!.manager.latest("consumer"))
      assert.strictEqual(next.jobState, "RUNNING")
      assert.notStrictEqual(next.instance, first.instance)
    }),
  )

  it.scoped("awaitEnd moves test time until the execution ends; None when it is still running", () =>
    Effect.gen(function* () {
      const slow = Job.make({ type: "slow", run: Effect.sleep("90 seconds") })
      const cluster = yield* TestCluster.make([slow, consumer], { instances: 1, supervisor: false })
      const { manager } = cluster.instances[0]!
      const started = yield* manager.trigger("slow")
      assert.strictEqual(started._tag, "Started")
      if (started._tag !== "Started") return
      assert.isTrue(
        Option.isNone(yield* TestCluster.awaitEnd(manager, started.jobId, { within: "1 minute" })),
      )
      const ended = yield* TestCluster.awaitEnd(manager, started.jobId)
      assert.strictEqual(Option.getOrThrow(ended).jobState, "FINISHED")
    }),
  )

  it.scoped(
    "FaultyStore: a hung status write makes a trigger fail as 'store unavailable', and is counted",
    () =>
      Effect.gen(function* () {
        const faulty = FaultyStore.make(yield* MemoryStore.make)
        const cluster = yield* TestCluster.make([everyMinute], {
          instances: 1,
          stores: faulty.stores,
          supervisor: false,
          scheduler: { enabled: false },
        })
        yield* faulty.arm("save", { mode: "hang" })
        const trigger = yield* Effect.fork(cluster.instances[0]!.manager.trigger("report"))
        yield* TestClock.adjust("15 seconds")
        const result = yield* trigger.await
        assert.isTrue(
          result._tag === "Success" && result.value._tag === "Failed" && result.value.storeUnavailable,
        )
        assert.deepStrictEqual(yield* faulty.hits, [{ method: "save", mode: "hang" }])
      }),
  )
})
