import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Metric, Ref, Schedule, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as JobEvents from "../../src/core/JobEvents.js"
import type { JobManager } from "../../src/core/JobManager.js"
import { StoreError } from "../../src/domain/Errors.js"
import type { JobEvent } from "../../src/domain/JobEvent.js"
import { eventsDropped } from "../../src/domain/Metrics.js"
import type { JobType } from "../../src/domain/Names.js"
import { memoryStores, nodeOn } from "../support/harness.js"

const stepBy = (step: Duration.DurationInput, times: number) =>
  Effect.repeatN(TestClock.adjust(step), times - 1)

/** The job type's events after writing what waits, oldest first (easier to read in assertions). */
const eventsOf = (manager: JobManager["Type"], jobType: string) =>
  Effect.zipRight(
    manager.eventLog.flush,
    Effect.map(manager.events(jobType, { limit: 1000 }), (events) => [...events].reverse()),
  )
const kinds = (events: ReadonlyArray<JobEvent>) => events.map((e) => e.kind)

describe("job events: every decision about a slot or a trigger is visible", () => {
  it.scoped("overlap: a claimed slot whose lock is held is an event naming the holder", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const slow = Job.make({ type: "slow", cron: "0/10 * * * * ?", run: Effect.sleep("15 seconds") })
      const a = yield* nodeOn(stores, [slow], { instance: "a" })
      yield* stepBy("1 second", 25)
      const events = yield* eventsOf(a.manager, "slow")
      assert.deepStrictEqual(kinds(events), ["overlap"])
      assert.match(events[0]!.reason, /^slow [0-9a-f-]+ still held lock slow$/)
      assert.strictEqual(events[0]!.from.getTime(), 20_000)
      assert.strictEqual(events[0]!.instance, "a")
    }),
  )

  it.scoped("misfire: a slot found past the misfire threshold (a paused process)", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      // The instance's clock jumps 30 s while its cron loop sleeps: it wakes 30 s after the slot,
      // as a process frozen (SIGSTOP, a long GC pause) over the slot would.
      const jump = yield* Ref.make(0)
      const base = yield* Effect.clock
      const jumping: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + Effect.runSync(Ref.get(jump)),
        currentTimeMillis: Effect.zipWith(base.currentTimeMillis, Ref.get(jump), (t, j) => t + j),
        unsafeCurrentTimeNanos: () =>
          base.unsafeCurrentTimeNanos() + BigInt(Effect.runSync(Ref.get(jump))) * 1_000_000n,
        currentTimeNanos: Effect.zipWith(
          base.currentTimeNanos,
          Ref.get(jump),
          (t, j) => t + BigInt(j) * 1_000_000n,
        ),
        sleep: (d) => base.sleep(d),
      }
      const job = Job.make({ type: "every-10s", cron: "0/10 * * * * ?", run: Effect.void })
      const a = yield* nodeOn(stores, [job], { scheduler: { misfireThreshold: "5 seconds" } }).pipe(
        Effect.withClock(jumping),
      )
      yield* stepBy("1 second", 3)
      yield* Ref.set(jump, 30_000)
      yield* stepBy("1 second", 8)
      const events = yield* eventsOf(a.manager, "every-10s")
      assert.deepStrictEqual(kinds(events), ["misfire"])
      assert.strictEqual(events[0]!.from.getTime(), 10_000)
      assert.match(events[0]!.reason, /past the misfire threshold of 5000 ms/)
    }),
  )

  it.scoped(
    "slot-missed in a store outage: the events wait in memory, coalesce and are written when it ends",
    () =>
      Effect.gen(function* () {
        const base = yield* memoryStores
        const down = yield* Ref.make(false)
        const refused = (operation: string) =>
          Effect.fail(new StoreError({ operation, message: "connection refused" }))
        const stores = {
          lockRepository: {
            ...base.lockRepository,
            claimSlot: (c: Parameters<typeof base.lockRepository.claimSlot>[0]) =>
              Effect.flatMap(Ref.get(down), (d) =>
                d ? refused("claimSlot") : base.lockRepository.claimSlot(c),
              ),
            slotClaim: (t: Parameters<typeof base.lockRepository.slotClaim>[0], slot: number) =>
              Effect.flatMap(Ref.get(down), (d) =>
                d ? refused("slotClaim") : base.lockRepository.slotClaim(t, slot),
              ),
          },
          statusRepository: {
            ...base.statusRepository,
            recordEvent: (e: JobEvent) =>
              Effect.flatMap(Ref.get(down), (d) =>
                d ? refused("recordEvent") : base.statusRepository.recordEvent(e),
              ),
          },
        }
        const job = Job.make({ type: "per-second", cron: "* * * * * ?", run: Effect.void })
        const a = yield* nodeOn(stores, [job])
        yield* stepBy("1 second", 2)
        yield* Ref.set(down, true)
        yield* stepBy("1 second", 40)
        // Nothing could be written during the outage; the misses wait, coalesced.
        const waiting = yield* a.manager.eventLog.backlog
        assert.strictEqual(waiting.pending, 1)
        assert.strictEqual(waiting.dropped, 0)
        yield* Ref.set(down, false)
        yield* stepBy("1 second", 3)
        const events = yield* eventsOf(a.manager, "per-second")
        assert.deepStrictEqual(kinds(events), ["slot-missed"])
        const missed = events[0]!
        assert.isAtLeast(missed.count, 10)
        assert.isBelow(missed.from.getTime(), missed.to.getTime())
        assert.match(missed.reason, /did not take the slot's claim in time: connection refused/)
        assert.strictEqual((yield* a.manager.eventLog.backlog).pending, 0)
      }),
  )

  it.scoped("paused: a claimed slot of a paused job type says who paused it and why", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const job = Job.make({ type: "tick", cron: "0/10 * * * * ?", run: Effect.void })
      const a = yield* nodeOn(stores, [job])
      yield* a.manager.pause("tick", { note: "incident 42", by: "alice" })
      yield* stepBy("1 second", 12)
      const events = yield* eventsOf(a.manager, "tick")
      assert.deepStrictEqual(kinds(events), ["paused"])
      assert.strictEqual(events[0]!.reason, "paused by alice: incident 42")
    }),
  )

  describe("catch-up after downtime", () => {
    const daily = Job.make({ type: "daily", cron: "0 0 3 * * ?", timeZone: "UTC", run: Effect.void })
    const restartAt = (restart: string) =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        yield* TestClock.setTime(Date.parse("2026-05-01T00:00:00Z"))
        yield* Effect.scoped(
          Effect.zipRight(nodeOn(stores, [daily]), TestClock.setTime(Date.parse("2026-05-01T12:00:00Z"))),
        )
        yield* TestClock.setTime(Date.parse(restart))
        const { manager } = yield* nodeOn(stores, [daily])
        yield* TestClock.adjust("1 second")
        return yield* eventsOf(manager, "daily")
      })

    it.scoped("run: the missed slot is named", () =>
      Effect.gen(function* () {
        const events = yield* restartAt("2026-05-03T12:00:00Z")
        assert.deepStrictEqual(kinds(events), ["catch-up-run"])
        assert.strictEqual(events[0]!.from.toISOString(), "2026-05-03T03:00:00.000Z")
      }),
    )

    it.scoped("declined: the next regular run is close, and the event says so", () =>
      Effect.gen(function* () {
        const events = yield* restartAt("2026-05-03T02:40:00Z")
        assert.deepStrictEqual(kinds(events), ["catch-up-declined"])
        assert.match(
          events[0]!.reason,
          /next regular run \(2026-05-03T03:00:00.000Z\) is within acceptableDelay/,
        )
      }),
    )
  })

  it.scoped(
    "preconditions: retried with backoff, each failure an event; scheduling starts once they pass",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const failuresLeft = yield* Ref.make(3)
        const preconditions = Effect.flatMap(
          Ref.getAndUpdate(failuresLeft, (n) => n - 1),
          (n) => (n > 0 ? Effect.fail(new Error("schema not migrated")) : Effect.void),
        )
        const job = Job.make({ type: "sec", cron: "* * * * * ?", run: Effect.void })
        const { manager, scheduler } = yield* nodeOn(stores, [job], { scheduler: { preconditions } })
        yield* TestClock.adjust("10 millis")
        const state = yield* scheduler.state
        assert.strictEqual(state.status, "retrying")
        assert.match(state.status === "retrying" ? state.message : "", /schema not migrated/)
        // Attempts at 0 s, 1 s, 3 s, 7 s (1 s, 2 s, 4 s apart): the fourth passes.
        yield* stepBy("1 second", 6)
        assert.strictEqual((yield* scheduler.state).status, "retrying")
        yield* stepBy("1 second", 3)
        assert.strictEqual((yield* scheduler.state).status, "running")
        const events = yield* eventsOf(manager, "sec")
        assert.deepStrictEqual(kinds(events), ["preconditions-failed", "preconditions-passed"])
        assert.strictEqual(events[0]!.count, 3)
        assert.isAbove((yield* manager.list("sec")).length, 0)
      }),
  )

  it.scoped('retries exhausted: the last failure says "no more retries: N of N", and it is an event', () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const failing = Job.make({
        type: "flaky",
        retries: 2,
        retryBackoff: Schedule.spaced("1 second"),
        run: Effect.fail("boom"),
      })
      const { manager } = yield* nodeOn(stores, [failing], { supervisor: { cron: "0/10 * * * * ?" } })
      yield* manager.trigger("flaky")
      yield* stepBy("10 seconds", 5)
      const rows = yield* manager.list("flaky")
      assert.deepStrictEqual(
        rows.map((r) => [r.attempt, r.jobState]),
        [
          [3, "FAILED"],
          [2, "FAILED"],
          [1, "FAILED"],
        ],
      )
      assert.match(rows[0]!.reason!, /; no more retries: 2 of 2$/)
      assert.notMatch(rows[1]!.reason!, /no more retries/)
      const events = yield* eventsOf(manager, "flaky")
      assert.deepStrictEqual(kinds(events), ["retries-exhausted"])
      assert.include(events[0]!.reason, rows[0]!.jobId)
    }),
  )
  it.scoped(
    "an outage past 1,000 waiting events drops the oldest, counted in backlog and ha_jobs_events_dropped_total",
    () =>
      Effect.gen(function* () {
        const base = yield* memoryStores
        const statuses = {
          ...base.statusRepository,
          recordEvent: () =>
            Effect.fail(new StoreError({ operation: "recordEvent", message: "connection refused" })),
        }
        const log = yield* JobEvents.make(statuses, "a")
        const before = (yield* Metric.value(eventsDropped)).count
        // Overlaps never coalesce: each is one waiting event.
        for (let i = 0; i < JobEvents.MaxPendingEvents + 5; i++)
          yield* log.emit({ jobType: "busy" as JobType, kind: "overlap", reason: `slot ${i}` })
        yield* TestClock.adjust("2 seconds")
        assert.deepStrictEqual(yield* log.backlog, { pending: JobEvents.MaxPendingEvents, dropped: 5 })
        assert.strictEqual((yield* Metric.value(eventsDropped)).count - before, 5)
      }),
  )
})
