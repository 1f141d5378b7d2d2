import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Metric, Option, Ref, TestClock } from "effect"
import * as Expectations from "../../src/core/Expectations.js"
import * as Job from "../../src/core/Job.js"
import { JobManager } from "../../src/core/JobManager.js"
import * as JobMetrics from "../../src/domain/Metrics.js"
import { memoryStores, nodeOn } from "../support/harness.js"

const stepBy = (step: Duration.DurationInput, times: number) =>
  Effect.repeatN(TestClock.adjust(step), times - 1)
const gauge = (metric: Metric.Metric.Gauge<number>, jobType: string) =>
  Effect.map(Metric.value(Metric.tagged(metric, "job_type", jobType)), (s) => s.value)

/** One instance with `jobs` and its expectations checked every 10 s. */
const instance = (jobs: ReadonlyArray<Job.Any<never>>) =>
  Effect.gen(function* () {
    const stores = yield* memoryStores
    const { manager } = yield* nodeOn(stores, jobs)
    const expectations = yield* Expectations.make({ checkEvery: "10 seconds" }).pipe(
      Effect.provideService(JobManager, manager),
    )
    return { manager, expectations }
  })

describe("deadlines (expect.successWithin) and overruns (maxDuration)", () => {
  it.scoped("overdue flips to 1 once no success came within successWithin, and back to 0 on a success", () =>
    Effect.gen(function* () {
      const healthy = yield* Ref.make(false)
      const job = Job.make({
        type: "hourly-import",
        cron: "0 0/10 * * * ?",
        retries: 0,
        expect: { successWithin: "1 hour" },
        run: Effect.flatMap(Ref.get(healthy), (ok) => (ok ? Effect.void : Effect.fail("feed down"))),
      })
      const { manager, expectations } = yield* instance([job])
      // No success since the instance started (t = 0): overdue from 1 h on, not before.
      yield* stepBy("10 seconds", 6 * 59)
      assert.strictEqual(yield* gauge(JobMetrics.overdue, "hourly-import"), 0)
      yield* stepBy("10 seconds", 12)
      assert.strictEqual(yield* gauge(JobMetrics.overdue, "hourly-import"), 1)
      const [standing] = yield* expectations.current
      assert.strictEqual(Option.getOrThrow(standing!.overdueSince).getTime(), 3_600_000)
      assert.isTrue(Option.isNone(standing!.lastSuccessAt))
      assert.strictEqual(yield* gauge(JobMetrics.lastSuccessTimestamp, "hourly-import"), 0)
      // The feed is back: the next slot (1:10) succeeds, and the next check says so.
      yield* Ref.set(healthy, true)
      yield* stepBy("10 seconds", 6 * 9 + 3) // 1:01 -> 1:10:30
      assert.strictEqual(yield* gauge(JobMetrics.overdue, "hourly-import"), 0)
      const success = Option.getOrThrow(yield* manager.latest("hourly-import"))
      assert.strictEqual(success.jobResult, "SUCCESS")
      assert.strictEqual(
        yield* gauge(JobMetrics.lastSuccessTimestamp, "hourly-import"),
        success.jobStatusTs.getTime() / 1000,
      )
    }),
  )

  it.scoped("an execution past maxDuration is overrunning (gauge, with its id); it is not stopped", () =>
    Effect.gen(function* () {
      // Job ids carry their start time and never go back in a process: start past earlier tests.
      yield* TestClock.setTime(24 * 3_600_000)
      const job = Job.make({ type: "slow-export", maxDuration: "5 minutes", run: Effect.never })
      const { manager, expectations } = yield* instance([job])
      const started = yield* manager.trigger("slow-export")
      assert.strictEqual(started._tag, "Started")
      yield* stepBy("10 seconds", 6 * 4 + 5)
      assert.strictEqual(yield* gauge(JobMetrics.overrunning, "slow-export"), 0)
      yield* stepBy("10 seconds", 6 * 2)
      assert.strictEqual(yield* gauge(JobMetrics.overrunning, "slow-export"), 1)
      const [standing] = yield* expectations.current
      assert.deepStrictEqual(
        standing!.overrunning.map((o) => o.jobId),
        [started._tag === "Started" ? started.jobId : ""],
      )
      assert.strictEqual(Option.getOrThrow(yield* manager.latest("slow-export")).jobState, "RUNNING")
      // Cancelled: no longer overrunning at the next check.
      yield* manager.cancel("slow-export")
      yield* stepBy("10 seconds", 2)
      assert.strictEqual(yield* gauge(JobMetrics.overrunning, "slow-export"), 0)
    }),
  )

  it.scoped("a job without expect or maxDuration is not checked: no store reads, no gauges", () =>
    Effect.gen(function* () {
      const { expectations } = yield* instance([Job.make({ type: "plain", run: Effect.void })])
      yield* stepBy("10 seconds", 5)
      assert.deepStrictEqual(yield* expectations.current, [])
    }),
  )

  it("invalid durations are refused with the job's name", () => {
    const bad = Job.make({ type: "bad", expect: { successWithin: "soon" as never }, run: Effect.void })
    const resolved = Job.resolve(bad)
    assert.isTrue(
      resolved._tag === "Left" &&
        /expect.successWithin "soon" must be a positive duration/.test(resolved.left.message),
    )
  })
})
