import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as JobMetrics from "../../src/domain/Metrics.js"
import { memoryStores, nodeOn } from "../support/harness.js"

// The metric registry is global: every test uses its own job type and asserts on its own tags.
describe("JobMetrics", () => {
  it.scoped("counts final states, renewals, skipped slots", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const type = `metrics-${Date.now()}`
      const slow = Job.make({
        type,
        cron: "0/10 * * * * ?",
        lease: { ttl: "9 seconds" },
        run: Effect.sleep("15 seconds"),
      })
      yield* nodeOn(stores, [slow])
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
      const finished = yield* Metric.value(
        Metric.tagged(Metric.tagged(JobMetrics.executions, "job_type", type), "state", "FINISHED"),
      )
      assert.strictEqual(finished.count, 1)
      const skipped = yield* Metric.value(Metric.tagged(JobMetrics.skippedSlots, "job_type", type))
      assert.strictEqual(skipped.count, 1)
      const renewals = yield* Metric.value(Metric.tagged(JobMetrics.renewalLatency, "lock_type", type))
      assert.isAtLeast(renewals.count, 4)
      const lag = yield* Metric.value(Metric.tagged(JobMetrics.scheduleLag, "job_type", type))
      assert.strictEqual(lag.count, 3) // slots 10, 20 (skipped) and 30
    }),
  )

  it("every metric is named ha_jobs_*", () =>
    Effect.gen(function* () {
      for (const metric of Object.values(JobMetrics)) metric.register()
      const names = new Set((yield* Metric.snapshot).map((pair) => pair.metricKey.name))
      const ours = [...names].filter((name) => name.includes("ha_jobs"))
      assert.strictEqual(ours.length, Object.keys(JobMetrics).length, ours.join(", "))
      for (const name of ours) assert.match(name, /^ha_jobs_/)
      assert.include(ours, "ha_jobs_cassandra_lwt_outcome_unknown_total")
    }).pipe(Effect.runSync))
})
