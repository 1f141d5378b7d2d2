import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Metric, Option, Ref, Schedule, Scope, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import type { JobManager } from "../../src/core/JobManager.js"
import type { JobStatus } from "../../src/domain/JobStatus.js"
import * as JobMetrics from "../../src/domain/Metrics.js"
import { memoryStores, nodeOn, sqliteFileStores } from "../support/harness.js"

// Pause and resume (JobManager.pause / resume): kept in the store, read on every trigger, so a pause
// written by one instance holds on all of them from its write on, and after restarts.

const all = (manager: JobManager["Type"], jobType: string) => manager.list(jobType, { limit: 1000 })
const slotsRun = (rows: ReadonlyArray<JobStatus>) =>
  rows
    .filter((r) => r.jobState === "FINISHED")
    .map((r) => r.scheduledAt!.getTime())
    .sort((a, b) => a - b)
const stepBy = (step: Duration.DurationInput, times: number) =>
  Effect.repeatN(TestClock.adjust(step), times - 1)
const pausedCount = (jobType: string) =>
  Effect.map(Metric.value(Metric.tagged(JobMetrics.pausedSlots, "job_type", jobType)), (c) => c.count)

/** Two stores the instances share; both judge time by Effect's clock, so TestClock drives them. */
const storesOf = {
  memory: memoryStores,
  sqlite: sqliteFileStores("pause"),
}

describe("Pause and resume", () => {
  it.scoped.each(["memory", "sqlite"] as const)(
    "%s: paused on instance a, instance b stops firing at once; both restart, still paused; resumed, slots run again",
    (store) =>
      Effect.gen(function* () {
        const stores = yield* storesOf[store]
        const job = Job.make({ type: "pause-tick", cron: "* * * * * ?", run: Effect.void })
        const start = (instance: string, scope: Scope.CloseableScope) =>
          nodeOn(stores, [job], { instance }).pipe(Scope.extend(scope))
        const first = [yield* Scope.make(), yield* Scope.make()] as const
        const a = yield* start("a", first[0])
        yield* start("b", first[1])
        yield* stepBy("1 second", 3) // slots 1, 2, 3 s
        const change = yield* a.manager.pause("pause-tick", { note: "incident 42", by: "alice" })
        assert.isTrue(change.changed)
        const pausedBefore = yield* pausedCount("pause-tick")
        yield* stepBy("1 second", 5) // 4..8 s: claimed by a or b, run by none
        assert.deepStrictEqual(slotsRun(yield* all(a.manager, "pause-tick")), [1000, 2000, 3000])
        assert.strictEqual((yield* pausedCount("pause-tick")) - pausedBefore, 5, "one count per slot")
        assert.strictEqual((yield* all(a.manager, "pause-tick")).length, 3, "no status row per paused slot")

        // Both instances restart: the pause is in the store.
        yield* Scope.close(first[0], Exit.void)
        yield* Scope.close(first[1], Exit.void)
        const second = [yield* Scope.make(), yield* Scope.make()] as const
        const a2 = yield* start("a", second[0])
        const b2 = yield* start("b", second[1])
        yield* stepBy("1 second", 3) // 9..11 s
        const stillPaused = yield* b2.manager.paused("pause-tick")
        assert.strictEqual(Option.getOrThrow(stillPaused).note, "incident 42")
        assert.strictEqual(Option.getOrThrow(stillPaused).by, "alice")
        assert.deepStrictEqual(slotsRun(yield* all(a2.manager, "pause-tick")), [1000, 2000, 3000])

        const resumed = yield* b2.manager.resume("pause-tick")
        assert.isTrue(resumed.changed)
        assert.isFalse((yield* b2.manager.resume("pause-tick")).changed, "resuming again changes nothing")
        yield* stepBy("1 second", 3) // 12..14 s run again
        assert.deepStrictEqual(
          slotsRun(yield* all(a2.manager, "pause-tick")),
          [1000, 2000, 3000, 12_000, 13_000, 14_000],
        )
        yield* Scope.close(second[0], Exit.void)
        yield* Scope.close(second[1], Exit.void)
      }),
  )

  it.scoped("a manual trigger runs while paused, unless blockManual; pausing again replaces the pause", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const job = Job.make({ type: "pause-manual", run: Effect.void })
      const { manager } = yield* nodeOn(stores, [job])
      yield* manager.pause("pause-manual", { note: "maintenance" })
      assert.strictEqual((yield* manager.trigger("pause-manual"))._tag, "Started")
      yield* TestClock.adjust("1 second")
      const again = yield* manager.pause("pause-manual", { note: "maintenance" })
      assert.isFalse(again.changed, "the same pause again is no change")
      const blocked = yield* manager.pause("pause-manual", { note: "do not run", blockManual: true })
      assert.isTrue(blocked.changed)
      const refused = yield* manager.trigger("pause-manual")
      assert.strictEqual(refused._tag, "Paused")
      if (refused._tag === "Paused") assert.strictEqual(refused.pause.note, "do not run")
      yield* manager.resume("pause-manual")
      assert.strictEqual((yield* manager.trigger("pause-manual"))._tag, "Started")
    }),
  )

  it.scoped("a pause with `until` ends by itself: slots run again from then on, without a write", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const job = Job.make({ type: "pause-until", cron: "* * * * * ?", run: Effect.void })
      const { manager } = yield* nodeOn(stores, [job])
      yield* manager.pause("pause-until", { until: new Date(3_500) })
      yield* stepBy("1 second", 6)
      assert.deepStrictEqual(slotsRun(yield* all(manager, "pause-until")), [4000, 5000, 6000])
      assert.isTrue(Option.isNone(yield* manager.paused("pause-until")))
    }),
  )

  it.scoped("a continuous job stops when paused (CANCELED, paused) and starts again on resume", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const runs = yield* Ref.make(0)
      const job = Job.make({
        type: "pause-consumer",
        continuous: { watchEvery: "1 second" },
        run: Effect.zipRight(
          Ref.update(runs, (n) => n + 1),
          Effect.never,
        ),
      })
      const a = yield* nodeOn(stores, [job], { instance: "a" })
      const b = yield* nodeOn(stores, [job], { instance: "b" })
      yield* stepBy("1 second", 2)
      assert.strictEqual(yield* Ref.get(runs), 1)
      // Paused from the instance that does not run it: the holder's watch loop stops it.
      const other = (yield* a.manager.running).length > 0 ? b : a
      yield* other.manager.pause("pause-consumer", { note: "broker upgrade" })
      yield* stepBy("1 second", 2)
      const latest = Option.getOrThrow(yield* a.manager.latest("pause-consumer"))
      assert.strictEqual(latest.jobState, "CANCELED")
      assert.strictEqual(latest.reason, "paused")
      yield* stepBy("1 second", 10)
      assert.strictEqual(yield* Ref.get(runs), 1, "not restarted while paused")
      yield* a.manager.resume("pause-consumer")
      yield* stepBy("1 second", 2)
      assert.strictEqual(yield* Ref.get(runs), 2, "restarted after the resume")
    }),
  )

  it.scoped("the supervisor does not retry a paused job type's failures; after the resume it does", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const failing = Job.make({
        type: "pause-flaky",
        retries: 1,
        retryBackoff: Schedule.spaced("20 seconds"),
        run: Effect.fail("feed down"),
      })
      const { manager } = yield* nodeOn(stores, [failing], { supervisor: { cron: "0/10 * * * * ?" } })
      assert.strictEqual((yield* manager.trigger("pause-flaky"))._tag, "Started")
      yield* manager.pause("pause-flaky", { note: "feed vendor down" })
      yield* stepBy("5 seconds", 24) // two minutes of supervisor runs, backoff long past
      assert.deepStrictEqual(
        (yield* all(manager, "pause-flaky")).map((r) => r.attempt),
        [1],
      )
      yield* manager.resume("pause-flaky")
      yield* stepBy("5 seconds", 4)
      assert.deepStrictEqual(
        (yield* all(manager, "pause-flaky")).map((r) => r.attempt),
        [2, 1],
      )
    }),
  )

  it.scoped("bad input: a note over 1 KiB, `until` in the past, an unknown job type", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const job = Job.make({ type: "pause-input", run: Effect.void })
      const { manager } = yield* nodeOn(stores, [job])
      yield* TestClock.adjust("10 seconds")
      const long = yield* Effect.flip(manager.pause("pause-input", { note: "é".repeat(513) }))
      assert.strictEqual(long._tag, "InvalidInput")
      assert.include(long.message, "1026 bytes")
      assert.isTrue(Option.isNone(yield* manager.paused("pause-input")), "nothing written")
      const past = yield* Effect.flip(manager.pause("pause-input", { until: new Date(5_000) }))
      assert.strictEqual(past._tag, "InvalidInput")
      assert.include(past.message, "not in the future")
      const unknown = yield* Effect.flip(manager.pause("no-such-job"))
      assert.strictEqual(unknown._tag, "UnknownJobType")
      // Exactly 1 KiB is kept.
      yield* manager.pause("pause-input", { note: "é".repeat(512) })
      assert.strictEqual(Option.getOrThrow(yield* manager.paused("pause-input")).note, "é".repeat(512))
    }),
  )
})
