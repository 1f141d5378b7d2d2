import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Ref, Schedule, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobManager } from "../../src/core/JobManager.js"
import { type JobId, makeJobId, makeTriggerId } from "../../src/domain/Ids.js"
import { JobStatus } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import { HaJobs, MemoryStore } from "../../src/index.js"
import * as Supervisor from "../../src/jobs/Supervisor.js"
import { memoryStores, nodeOn, type Stores, storesLayer } from "../support/harness.js"

const work = Job.make({ type: "work", lease: { ttl: "30 seconds" }, retries: 0, run: Effect.never })

/** A RUNNING status as a crashed instance leaves it: no lease behind it. */
const orphan = (stores: Stores, at: number, content?: unknown, type = "work") =>
  Effect.gen(function* () {
    const jobId = yield* makeJobId
    yield* stores.statusRepository.save(
      new JobStatus({
        triggerId: yield* makeTriggerId,
        jobType: type as JobType,
        jobId,
        lockType: type as LockType,
        jobState: "RUNNING",
        jobResult: "PENDING",
        jobStatusTs: new Date(at),
        attempt: 1,
        triggerSource: "manual",
        instance: "crashed",
        ...(content === undefined ? {} : { content }),
      }),
    )
    return jobId
  })

const superviseOnce = (
  stores: Stores,
  manager: JobManager["Type"],
  options: Supervisor.SupervisorOptions = {},
) =>
  Supervisor.supervise(options).pipe(
    Effect.provideService(JobManager, manager),
    Effect.provide(storesLayer(stores)),
  )

const stateOf = (manager: JobManager["Type"], jobId: JobId) =>
  Effect.map(manager.status("work", jobId), (s) => Option.getOrThrow(s).jobState)

describe("Supervisor", () => {
  it.scoped(
    "PENDING without a lease: DEAD once older than the grace (content kept); younger or leased: untouched",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const { manager } = yield* nodeOn(stores, [work], {})
        yield* TestClock.setTime(10 * 60_000)
        const old = yield* orphan(stores, 0, { processed: 41 })
        const young = yield* orphan(stores, 8 * 60_000)
        const alive = yield* manager.trigger("work")
        if (alive._tag !== "Started") return assert.fail("not started")
        yield* TestClock.adjust("1 second")
        const report = yield* superviseOnce(stores, manager, { deadAfter: "5 minutes" })
        assert.deepStrictEqual(report.markedDead, [`work/${old}`])
        const dead = Option.getOrThrow(yield* manager.status("work", old))
        assert.deepStrictEqual(
          [dead.jobState, dead.jobResult, dead.content],
          ["DEAD", "FAILED", { processed: 41 }],
        )
        assert.match(dead.reason!, /no lease held .* from crashed/)
        assert.strictEqual(yield* stateOf(manager, young), "RUNNING")
        assert.strictEqual(yield* stateOf(manager, alive.jobId), "RUNNING")
        // The live execution stays untouched however old its last status is.
        yield* TestClock.adjust("1 hour")
        yield* superviseOnce(stores, manager, { deadAfter: "5 minutes" })
        assert.strictEqual(yield* stateOf(manager, alive.jobId), "RUNNING")
        assert.strictEqual(yield* stateOf(manager, young), "DEAD")
      }),
  )

  it.scoped(
    "by default an orphan is DEAD once its last status is older than its job's lease ttl (30 s here)",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const { manager } = yield* nodeOn(stores, [work], {})
        yield* TestClock.setTime(60_000)
        const orphaned = yield* orphan(stores, 60_000)
        yield* TestClock.adjust("29 seconds")
        assert.deepStrictEqual((yield* superviseOnce(stores, manager)).markedDead, [])
        yield* TestClock.adjust("2 seconds")
        assert.deepStrictEqual((yield* superviseOnce(stores, manager)).markedDead, [`work/${orphaned}`])
      }),
  )

  it.scoped(
    "HaJobs.layer: our defaults (lease 15 s, supervisor every 15 s); compat ha-jobs: ha-jobs' (60 s, every minute)",
    () =>
      Effect.gen(function* () {
        const plain = Job.make({ type: "plain", run: Effect.void })
        const defaultsOf = (compat: "none" | "ha-jobs") =>
          Effect.gen(function* () {
            const manager = yield* JobManager
            const job = yield* manager.job("plain")
            const supervisor = yield* manager.job("supervisor")
            return [
              Duration.toMillis(job.timing.ttl),
              Duration.toMillis(supervisor.timing.ttl),
              Option.getOrThrow(supervisor.cron).expression,
            ]
          }).pipe(
            Effect.provide(
              HaJobs.layer([plain], { compat, scheduler: { enabled: false } }).pipe(
                Layer.provide(MemoryStore.layer),
              ),
            ),
          )
        assert.deepStrictEqual(yield* defaultsOf("none"), [15_000, 15_000, "*/15 * * * * ?"])
        assert.deepStrictEqual(yield* defaultsOf("ha-jobs"), [60_000, 60_000, "0 * * * * ?"])
        // ... and DEAD after 5 minutes there, whatever the job's lease.
        assert.deepStrictEqual(Supervisor.withCompat({}, "ha-jobs").deadAfter, "5 minutes")
        assert.deepStrictEqual(
          Supervisor.withCompat({ deadAfter: "1 minute" }, "ha-jobs").deadAfter,
          "1 minute",
        )
      }),
  )

  for (const pageSize of [100, 7])
    it.scoped(`50 orphaned executions of one type are all marked DEAD (page size ${pageSize})`, () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const { manager } = yield* nodeOn(stores, [work])
        const ids: Array<JobId> = []
        for (let i = 0; i < 50; i++) ids.push(yield* orphan(stores, i))
        yield* TestClock.adjust("10 minutes")
        const report = yield* superviseOnce(stores, manager, { pageSize })
        assert.strictEqual(report.markedDead.length, 50)
        for (const id of ids) assert.strictEqual(yield* stateOf(manager, id), "DEAD")
      }),
    )

  it.scoped("a job that always fails with retries N runs N+1 times: one trigger id, distinct job ids", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const failing = Job.make({
        type: "flaky",
        retries: 3,
        retryBackoff: Schedule.spaced("20 seconds"),
        run: Effect.fail("feed down"),
      })
      const { manager } = yield* nodeOn(stores, [failing], {
        supervisor: { cron: "0/10 * * * * ?" },
      })
      const first = yield* manager.trigger("flaky")
      if (first._tag !== "Started") return assert.fail("not started")
      for (let i = 0; i < 60; i++) yield* TestClock.adjust("5 seconds")
      const runs = yield* manager.list("flaky")
      assert.strictEqual(runs.length, 4)
      assert.deepStrictEqual(new Set(runs.map((r) => r.triggerId)), new Set([first.triggerId]))
      assert.strictEqual(new Set(runs.map((r) => r.jobId)).size, 4)
      assert.deepStrictEqual(
        runs.map((r) => [r.attempt, r.triggerSource, r.jobState]),
        [
          [4, "retry", "FAILED"],
          [3, "retry", "FAILED"],
          [2, "retry", "FAILED"],
          [1, "manual", "FAILED"],
        ],
      )
      // Each retry waited its backoff after the failure before it.
      const starts = [...runs].reverse().map((r) => r.jobStatusTs.getTime())
      for (let i = 1; i < starts.length; i++) assert.isAtLeast(starts[i]! - starts[i - 1]!, 20_000)
    }),
  )

  it.scoped("a user's cancel is not retried; a dead execution is", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const consumer = Job.make({
        type: "work",
        lease: { ttl: "30 seconds" },
        retries: 2,
        retryBackoff: Schedule.spaced("1 second"),
        run: Effect.never,
      })
      const { manager } = yield* nodeOn(stores, [consumer], {
        supervisor: { cron: "0/10 * * * * ?", deadAfter: "1 minute" },
      })
      const started = yield* manager.trigger("work")
      yield* TestClock.adjust("1 second")
      yield* manager.cancel("work")
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(
        (yield* manager.list("work")).map((r) => [r.jobState, r.reason]),
        [["CANCELED", "cancelled"]],
      )
      // An execution orphaned by a crashed instance becomes DEAD, then its trigger is retried.
      const dead = yield* orphan(stores, Number(yield* Effect.clockWith((c) => c.currentTimeMillis)))
      for (let i = 0; i < 12; i++) yield* TestClock.adjust("10 seconds")
      const rows = yield* manager.list("work")
      const deadRow = rows.find((r) => r.jobId === dead)!
      assert.strictEqual(deadRow.jobState, "DEAD")
      const retry = rows.find((r) => r.triggerId === deadRow.triggerId && r.jobId !== dead)
      assert.deepStrictEqual(retry && [retry.attempt, retry.triggerSource, retry.jobState], [
        2,
        "retry",
        "RUNNING",
      ])
      void started
    }),
  )

  it.scoped("the supervisor runs as a singleton job and records what it did", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const a = yield* nodeOn(stores, [work], { instance: "a", supervisor: { cron: "0/10 * * * * ?" } })
      yield* nodeOn(stores, [work], { instance: "b", supervisor: { cron: "0/10 * * * * ?" } })
      yield* orphan(stores, 0)
      for (let i = 0; i < 36; i++) yield* TestClock.adjust("10 seconds")
      const runs = yield* a.manager.list("supervisor", { limit: 1000 })
      // One run per slot cluster-wide: 36 slots in 6 minutes.
      assert.strictEqual(runs.length, 36)
      const reports = runs.map((r) => r.content as { markedDead: ReadonlyArray<string> })
      assert.strictEqual(reports.flatMap((r) => r.markedDead).length, 1)
    }),
  )

  it.scoped(
    "more job types than jobTypesPerRun: each run checks the next ones in turn, all within ceil(J / perRun) runs",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const types = ["w0", "w1", "w2", "w3", "w4"]
        const jobs = types.map((type) => Job.make({ type, retries: 0, run: Effect.never }))
        const { manager } = yield* nodeOn(stores, jobs)
        for (const type of types) yield* orphan(stores, 0, undefined, type)
        yield* TestClock.adjust("10 minutes")
        const turn = Ref.unsafeMake(0)
        const run = () =>
          Supervisor.supervise({ jobTypesPerRun: 2 }, turn).pipe(
            Effect.provideService(JobManager, manager),
            Effect.provide(storesLayer(stores)),
          )
        const first = yield* run()
        const second = yield* run()
        const third = yield* run()
        assert.deepStrictEqual(
          [first, second, third].map((r) => [r.jobTypesChecked, r.markedDead.map((d) => d.split("/")[0])]),
          [
            [2, ["w0", "w1"]],
            [2, ["w2", "w3"]],
            [2, ["w4"]], // w4 and w0 again (already DEAD)
          ],
        )
      }),
  )
})
