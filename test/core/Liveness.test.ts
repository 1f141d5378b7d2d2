import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Metric, Option, Ref, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import type { JobManager } from "../../src/core/JobManager.js"
import type { JobStatus } from "../../src/domain/JobStatus.js"
import * as JobMetrics from "../../src/domain/Metrics.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import type { TriggerResult } from "../../src/domain/TriggerResult.js"
import * as FaultyStore from "../../src/testing/FaultyStore.js"
import { memoryStores, nodeOn, type Stores, sqliteFileStores } from "../support/harness.js"
import { type Interval, recordInterval } from "../support/intervals.js"

// DESIGN property 12: no hang or defect in one store call stops a loop, leaks a lease or leaves an
// execution RUNNING forever. Each hole below was found from outside; each test fails on the code
// before the fix (the commit that added this file says how it was checked).

/** A job that runs until interrupted and records when it ran, per instance. */
const forever = (log: Ref.Ref<Array<Interval>>, instance: string) =>
  Job.make({
    type: "batch",
    lease: { ttl: "30 seconds" },
    retries: 0,
    run: recordInterval(log, instance),
  })

const seconds = (n: number, step = 1) =>
  Effect.forEach(Array.from({ length: Math.ceil(n / step) }), () => TestClock.adjust(`${step} seconds`), {
    discard: true,
  })

const latest = (m: JobManager["Type"], jobType: string) =>
  Effect.map(m.latest(jobType), (s) => Option.getOrUndefined(s))

describe("a renewal that dies (a defect, not a StoreError)", () => {
  it.scoped(
    "is a lease loss: the job is interrupted at once, ends FAILED 'lease lost', and never overlaps",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const faulty = FaultyStore.make(stores)
        const log = yield* Ref.make<Array<Interval>>([])
        const a = yield* nodeOn(faulty.stores, [forever(log, "a")], { instance: "a" })
        const b = yield* nodeOn(stores, [forever(log, "b")], { instance: "b" })
        yield* faulty.arm("renew", { mode: "die" })
        assert.strictEqual((yield* a.manager.trigger("batch"))._tag, "Started")
        // The first renewal is due at ttl / 3 = 10 s and dies: the keeper's death is the loss.
        yield* seconds(11)
        const intervals = yield* Ref.get(log)
        assert.deepStrictEqual(
          intervals.map((i) => [i.instance, i.end]),
          [["a", 10_000]],
        )
        const status = yield* latest(a.manager, "batch")
        assert.strictEqual(status?.jobState, "FAILED")
        assert.strictEqual(status?.reason, "lease lost")
        // Once the store lets the lock go, b runs it: after a stopped, never alongside.
        yield* seconds(25)
        assert.strictEqual((yield* b.manager.trigger("batch"))._tag, "Started")
        yield* seconds(1)
        const both = yield* Ref.get(log)
        assert.deepStrictEqual(
          both.map((i) => i.instance),
          ["a", "b"],
        )
        assert.isAtMost(both[0]!.end!, both[1]!.start)
      }),
  )
})

describe("after a lease loss", () => {
  it.scoped("the job is stopped at once; a job whose finalizers outlast the margin is measured", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const faulty = FaultyStore.make(stores)
      const type = `slow-to-stop-${Date.now()}`
      const slow = Job.make({
        type,
        lease: { ttl: "30 seconds" }, // margin 3 s
        retries: 0,
        run: Effect.never.pipe(Effect.onInterrupt(() => Effect.sleep("5 seconds"))),
      })
      const { manager } = yield* nodeOn(faulty.stores, [slow], { instance: "a" })
      yield* faulty.arm("renew", { mode: "die" })
      assert.strictEqual((yield* manager.trigger(type))._tag, "Started")
      yield* seconds(16)
      const stop = yield* Metric.value(Metric.tagged(JobMetrics.lossToStop, "lock_type", type))
      assert.strictEqual(stop.count, 1)
      assert.strictEqual(stop.sum, 5_000) // lost at 10 s, finalizers done at 15 s
      assert.strictEqual((yield* latest(manager, type))?.reason, "lease lost")
    }),
  )
})

const quick = Job.make({
  type: "quick",
  lease: { ttl: "5 minutes" },
  retries: 0,
  run: Effect.sleep("1 second"),
})

/** Triggers on a fiber and returns when it answered, in test time. */
const timedTrigger = (m: JobManager["Type"], jobType: string) =>
  Effect.gen(function* () {
    const t0 = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(
      Effect.flatMap(m.trigger(jobType), (r) =>
        Effect.map(Clock.currentTimeMillis, (t) => [r, t - t0] as const),
      ),
    )
    return fiber
  })

describe("a start that does not answer", () => {
  it.scoped("trigger returns Failed (store unavailable) at the start timeout; a late grant is released", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const faulty = FaultyStore.make(stores)
      const { manager } = yield* nodeOn(faulty.stores, [quick], { instance: "a" })
      // The store takes the lock at once but its answer arrives a minute later (a frozen node).
      yield* faulty.arm("acquire", { mode: "late", lateBy: "60 seconds" })
      const fiber = yield* timedTrigger(manager, "quick")
      yield* seconds(10)
      const [result, took] = yield* Fiber.join(fiber)
      assert.strictEqual(result._tag, "Failed")
      assert.isTrue((result as Extract<TriggerResult, { _tag: "Failed" }>).storeUnavailable)
      assert.strictEqual(took, 10_000)
      const failed = yield* latest(manager, "quick")
      assert.strictEqual(failed?.jobState, "FAILED")
      assert.match(
        failed?.reason ?? "",
        /^start failed: store unavailable \(acquire\): no answer from the store within 10s/,
      )
      // The store still holds the lock for nobody; when its answer comes, the lock is given back
      // (without that, the 5-minute lease would block the job until it expired).
      yield* seconds(51)
      assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("quick" as LockType)))
      assert.strictEqual((yield* manager.trigger("quick"))._tag, "Started")
    }),
  )

  it.scoped("the timeout is the manager's startTimeout, and it covers the RUNNING status write too", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const faulty = FaultyStore.make(stores)
      const { manager } = yield* nodeOn(faulty.stores, [quick], { instance: "a", startTimeout: "3 seconds" })
      yield* faulty.arm("save", { mode: "hang" }) // the RUNNING status
      const fiber = yield* timedTrigger(manager, "quick")
      yield* seconds(3)
      const [result, took] = yield* Fiber.join(fiber)
      assert.strictEqual(result._tag, "Failed")
      assert.strictEqual(took, 3_000)
      yield* seconds(1)
      // The lock was given back, and the execution is recorded as a failed start.
      assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("quick" as LockType)))
      const failed = yield* latest(manager, "quick")
      assert.strictEqual(failed?.jobState, "FAILED")
      assert.match(failed?.reason ?? "", /RUNNING status was not stored within the start timeout \(3s\)/)
    }),
  )

  it.scoped(
    "the start timeout covers the pause read too: a hung one answers Failed within it, not twice it",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const faulty = FaultyStore.make(stores)
        const { manager } = yield* nodeOn(faulty.stores, [quick], {
          instance: "a",
          startTimeout: "3 seconds",
        })
        yield* faulty.arm("paused", { mode: "hang" })
        const fiber = yield* timedTrigger(manager, "quick")
        yield* seconds(3)
        const [result, took] = yield* Fiber.join(fiber)
        assert.strictEqual(result._tag, "Failed")
        if (result._tag === "Failed") assert.isTrue(result.storeUnavailable)
        assert.strictEqual(took, 3_000)
      }),
  )
})

/** A one-second cron job under a 30 s lease. */
const cronJob = (type: string, cron: string) =>
  Job.make({ type, cron, lease: { ttl: "30 seconds" }, retries: 0, run: Effect.sleep("1 second") })
const tick = cronJob("tick", "0 * * * * ?")
const frequent = cronJob("frequent", "*/10 * * * * ?")

const executionsOf = (stores: Stores, jobType: string) =>
  stores.statusRepository.list(jobType as never, { limit: 1000 })

describe("a hung acquisition at a cron slot", () => {
  it.scoped("delays only its own slot: every later slot runs on time", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const faulty = FaultyStore.make(stores)
      yield* nodeOn(faulty.stores, [tick], { instance: "a" })
      yield* faulty.arm("acquire", { mode: "hang" })
      yield* seconds(10 * 60 + 5, 5)
      const rows = yield* executionsOf(stores, "tick")
      const finished = rows.filter((r) => r.jobState === "FINISHED").map((r) => r.scheduledAt!.getTime())
      assert.deepStrictEqual(
        finished.sort((x, y) => x - y),
        [2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => m * 60_000),
      )
      const first = rows.find((r) => r.scheduledAt?.getTime() === 60_000)
      assert.strictEqual(first?.jobState, "FAILED")
    }),
  )

  it.scoped(
    "a slot that falls while the previous one is still starting is an overlap (an event, no run)",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const faulty = FaultyStore.make(stores)
        const { manager } = yield* nodeOn(faulty.stores, [frequent], {
          instance: "a",
          startTimeout: "25 seconds",
        })
        yield* faulty.arm("acquire", { mode: "hang" })
        yield* seconds(60)
        const rows = yield* executionsOf(stores, "frequent")
        const bySlot = new Map(rows.map((r) => [r.scheduledAt!.getTime() / 1000, r] as const))
        // 10 s hangs until its start times out at 35 s; 20 s and 30 s find it still starting.
        assert.strictEqual(bySlot.get(10)?.jobState, "FAILED")
        for (const slot of [20, 30]) assert.isUndefined(bySlot.get(slot), `slot ${slot}`)
        yield* manager.eventLog.flush
        const overlaps = (yield* manager.events("frequent")).filter((e) => e.kind === "overlap")
        // Both slots found the same holder: one event each (overlaps account for slots one by one).
        assert.deepStrictEqual(
          overlaps.map((e) => [e.count, e.from.getTime() / 1000]),
          [
            [1, 30],
            [1, 20],
          ],
        )
        assert.match(overlaps[0]!.reason, /^frequent .* still held lock frequent$/)
        assert.strictEqual(bySlot.get(40)?.jobState, "FINISHED")
        assert.strictEqual(bySlot.get(50)?.jobState, "FINISHED")
      }),
  )
})

// The general rule, for every method of both ports: one call that hangs or dies delays only its
// own work. One instance runs a cron job, a continuous job, the supervisor, manual triggers and
// cancels, a pause and a resume, and the reads the HTTP API makes; the first call of one method
// misbehaves.
/** The continuous job counts how many of its executions run at once in this process (must stay <= 1). */
const streamOf = (live: { now: number; max: number }) =>
  Job.make({
    type: "stream",
    continuous: { watchEvery: "10 seconds" },
    lease: { ttl: "30 seconds" },
    run: Effect.sync(() => {
      live.now++
      live.max = Math.max(live.max, live.now)
    }).pipe(
      Effect.zipRight(Effect.never),
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          live.now--
        }),
      ),
    ),
  })
const adhoc = Job.make({
  type: "adhoc",
  lease: { ttl: "30 seconds" },
  retries: 0,
  run: Effect.sleep("20 seconds"),
})

/** The stores the matrix runs on: both judge expiry by Effect's clock, so TestClock drives them. */
const storesOf = {
  memory: memoryStores,
  sqlite: sqliteFileStores("liveness"),
}

const scenario = (store: keyof typeof storesOf, method: FaultyStore.Method, mode: FaultyStore.FaultMode) =>
  Effect.gen(function* () {
    const stores = yield* storesOf[store]
    const faulty = FaultyStore.make(stores)
    yield* faulty.arm(method, { mode })
    const live = { now: 0, max: 0 }
    const { manager } = yield* nodeOn(faulty.stores, [tick, streamOf(live), adhoc], {
      instance: "a",
      supervisor: { cron: "30 * * * * ?", deadAfter: "2 minutes", lease: { ttl: "30 seconds" } },
    })
    const calls: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    const call = (effect: Effect.Effect<unknown, unknown>) =>
      Effect.map(Effect.fork(Effect.either(effect)), (f) => void calls.push(f))
    for (let minute = 0; minute < 10; minute++) {
      yield* seconds(20, 20)
      // What the HTTP API and operators do: reads, a manual run and its cancel.
      yield* call(manager.list("tick"))
      yield* call(manager.latest("stream"))
      yield* call(manager.auditLog({ limit: 5 }))
      // A decision to record (written in the background: recordEvent), and the events read back.
      yield* manager.eventLog.emit({
        jobType: "tick" as JobType,
        kind: "misfire",
        reason: `liveness ${minute}`,
      })
      yield* call(manager.events("tick", { limit: 5 }))
      // A dry-run backfill reads who claimed each past slot (slotClaim).
      const now = yield* Clock.currentTimeMillis
      yield* call(manager.backfill("tick", { from: new Date(0), to: new Date(now), dryRun: true }))
      const last = Option.getOrUndefined(
        yield* Effect.orElseSucceed(manager.latest("tick"), () => Option.none()),
      )
      if (last) {
        yield* call(manager.status("tick", last.jobId))
        yield* call(manager.history("tick", last.jobId))
      }
      if (minute < 3) {
        yield* call(manager.trigger("adhoc"))
        yield* seconds(5, 5)
        yield* call(manager.cancel("adhoc"))
        yield* seconds(35, 35)
      } else yield* seconds(40, 40)
      // An operator pausing and resuming a job type that does not run here (adhoc is manual only).
      if (minute === 1) yield* call(manager.pause("adhoc", { note: "liveness" }))
      if (minute === 2) yield* call(manager.resume("adhoc"))
    }
    assert.isNotEmpty(yield* faulty.hits, `the ${mode} of ${method} was never hit`)
    assert.strictEqual(live.max, 1, "the continuous job must have run, never two executions at once")
    // Every call answered (a StoreError counts as an answer).
    for (const f of calls) assert.isTrue(Option.isSome(yield* Fiber.poll(f)), "a call never answered")
    // The cron loop kept going: the slots of the last minutes all ran.
    const ticks = yield* executionsOf(stores, "tick")
    for (let m = 4; m <= 9; m++)
      assert.strictEqual(
        ticks.find((r) => r.scheduledAt?.getTime() === m * 60_000)?.jobState,
        "FINISHED",
        `tick slot ${m}`,
      )
    // So did the supervisor's (a job too, at :30).
    const supervised = yield* executionsOf(stores, "supervisor")
    for (let m = 4; m <= 8; m++)
      assert.strictEqual(
        supervised.find((r) => r.scheduledAt?.getTime() === m * 60_000 + 30_000)?.jobState,
        "FINISHED",
        `supervisor slot ${m}:30`,
      )
    // The continuous job runs under its lease, and nothing else is left PENDING without one.
    const pending: Array<JobStatus> = []
    for (const jobType of ["tick", "stream", "adhoc", "supervisor"])
      pending.push(...(yield* stores.statusRepository.listPending(jobType as never, { limit: 1000 })))
    for (const p of pending) {
      const held = yield* stores.lockRepository.holder(p.lockType)
      assert.strictEqual(
        Option.getOrUndefined(held)?.jobId,
        p.jobId,
        `${p.jobType} ${p.jobId} is PENDING without a lease`,
      )
    }
    const holder = yield* stores.lockRepository.holder("stream" as LockType)
    assert.isTrue(Option.isSome(holder), "the continuous job is not running")
  })

// Concurrent: each case mostly waits for the test clock's yields, not for the CPU.
describe.concurrent("one store call that hangs or dies delays only its own work", () => {
  for (const store of ["memory", "sqlite"] as const)
    for (const method of [...FaultyStore.lockMethods, ...FaultyStore.statusMethods])
      for (const mode of ["hang", "die"] as const)
        it.scoped(`${store}: ${method}: ${mode}`, () => scenario(store, method, mode), 60_000)
})
