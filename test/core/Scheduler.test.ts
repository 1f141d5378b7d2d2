import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Metric, Ref, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import type { JobManager } from "../../src/core/JobManager.js"
import { StoreError } from "../../src/domain/Errors.js"
import type { JobStatus } from "../../src/domain/JobStatus.js"
import * as JobMetrics from "../../src/domain/Metrics.js"
import { memoryStores, nodeOn, skewedClock } from "../support/harness.js"

const all = (manager: JobManager["Type"], jobType: string) => manager.list(jobType, { limit: 1000 })
const slotsOf = (rows: ReadonlyArray<JobStatus>, state?: string) =>
  rows
    .filter((s) => state === undefined || s.jobState === state)
    .map((s) => s.scheduledAt?.toISOString() ?? "none")
    .sort()
const iso = (ms: number) => new Date(ms).toISOString()
const stepBy = (step: Duration.DurationInput, times: number) =>
  Effect.repeatN(TestClock.adjust(step), times - 1)

const noon = Job.make({ type: "noon", cron: "0 0 12 * * ?", timeZone: "Europe/Berlin", run: Effect.void })

describe("Scheduler", () => {
  it.scoped(
    "two instances whose clocks differ by 30 s: every slot of a 10-second job runs exactly once",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const job = Job.make({ type: "tick", cron: "0/10 * * * * ?", run: Effect.void })
        const a = yield* nodeOn(stores, [job], { instance: "a" })
        const behind = yield* skewedClock(-30_000)
        const b = yield* nodeOn(stores, [job], { instance: "b" }).pipe(Effect.withClock(behind))
        yield* stepBy("1 second", 180)
        const rows = yield* all(a.manager, "tick")
        const ran = slotsOf(rows, "FINISHED")
        // No slot ran twice, whichever instance fired it.
        assert.strictEqual(new Set(ran).size, ran.length)
        // Every slot of the steady state (after b's first 30 s of old slots) ran exactly once.
        for (let s = 40_000; s <= 180_000; s += 10_000) assert.include(ran, iso(s))
        const instances = new Set(rows.filter((r) => r.jobState === "FINISHED").map((r) => r.instance))
        assert.isTrue(instances.has("a"))
        void b
      }),
  )

  it.scoped("an instance 30 s ahead claims slots early; the other never runs them again", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const job = Job.make({ type: "tick", cron: "0/10 * * * * ?", run: Effect.void })
      const ahead = yield* skewedClock(30_000)
      const b = yield* nodeOn(stores, [job], { instance: "b" }).pipe(Effect.withClock(ahead))
      yield* stepBy("1 second", 30)
      const a = yield* nodeOn(stores, [job], { instance: "a" })
      yield* stepBy("1 second", 120)
      const rows = yield* all(a.manager, "tick")
      const ran = slotsOf(rows, "FINISHED")
      assert.strictEqual(new Set(ran).size, ran.length)
      for (let s = 40_000; s <= 180_000; s += 10_000) assert.include(ran, iso(s))
      assert.deepStrictEqual([...new Set(rows.map((r) => r.instance))], ["b"])
      void b
    }),
  )

  it.scoped("`* * * * * ?` runs every second", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const { manager } = yield* nodeOn(stores, [
        Job.make({ type: "sec", cron: "* * * * * ?", run: Effect.void }),
      ])
      yield* stepBy("1 second", 10)
      const ran = slotsOf(yield* all(manager, "sec"), "FINISHED")
      assert.deepStrictEqual(
        ran,
        Array.from({ length: 10 }, (_, i) => iso((i + 1) * 1000)),
      )
    }),
  )

  it.scoped("`0 0 12 * * ?` in Europe/Berlin fires at noon Berlin time", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      yield* TestClock.setTime(Date.parse("2026-06-01T00:00:00Z"))
      const { manager } = yield* nodeOn(stores, [noon])
      yield* stepBy("1 hour", 48)
      assert.deepStrictEqual(slotsOf(yield* all(manager, "noon"), "FINISHED"), [
        "2026-06-01T10:00:00.000Z",
        "2026-06-02T10:00:00.000Z",
      ])
    }),
  )

  describe("daylight saving time", () => {
    const runDays = (cron: string, timeZone: string, from: string, hours: number) =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        yield* TestClock.setTime(Date.parse(from))
        const { manager } = yield* nodeOn(stores, [
          Job.make({ type: "dst", cron, timeZone, run: Effect.void }),
        ])
        yield* stepBy("15 minutes", hours * 4)
        return slotsOf(yield* all(manager, "dst"), "FINISHED")
      }).pipe(Effect.scoped)

    it.scoped("Europe/Berlin spring forward: 02:30 does not exist, the run happens once at 03:00 local", () =>
      Effect.gen(function* () {
        const ran = yield* runDays("0 30 2 * * ?", "Europe/Berlin", "2026-03-28T12:00:00Z", 48)
        assert.deepStrictEqual(ran, ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"])
      }),
    )

    it.scoped("Europe/Berlin fall back: 02:30 happens twice, the run happens once", () =>
      Effect.gen(function* () {
        const ran = yield* runDays("0 30 2 * * ?", "Europe/Berlin", "2026-10-24T12:00:00Z", 48)
        assert.deepStrictEqual(ran, ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"])
      }),
    )

    it.scoped("America/New_York spring forward and fall back for a fixed time", () =>
      Effect.gen(function* () {
        const spring = yield* runDays("0 30 2 * * ?", "America/New_York", "2026-03-07T12:00:00Z", 48)
        assert.deepStrictEqual(spring, ["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"])
        const fall = yield* runDays("0 30 1 * * ?", "America/New_York", "2026-10-31T12:00:00Z", 48)
        assert.deepStrictEqual(fall, ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"])
      }),
    )

    for (const [zone, spring, fall] of [
      ["Europe/Berlin", "2026-03-28T22:00:00Z", "2026-10-24T22:00:00Z"],
      ["America/New_York", "2026-03-08T03:00:00Z", "2026-11-01T02:00:00Z"],
    ] as const) {
      it.scoped(`${zone}: \`0 0/30 * * * ?\` runs every 30 real minutes through both transitions`, () =>
        Effect.gen(function* () {
          for (const from of [spring, fall]) {
            const ran = yield* runDays("0 0/30 * * * ?", zone, from, 8)
            assert.strictEqual(ran.length, 16, `${zone} from ${from}: ${ran.join(", ")}`)
            const gaps = ran.slice(1).map((t, i) => Date.parse(t) - Date.parse(ran[i]!))
            assert.isTrue(
              gaps.every((g) => g === 30 * 60_000),
              `${zone} from ${from}: ${ran.join(", ")}`,
            )
          }
        }),
      )
    }
  })

  it.scoped(
    "a slot during a running execution: no second run, no status row, an overlap event; latest stays the running one",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const runs = yield* Ref.make(0)
        const slow = Job.make({
          type: "slow",
          cron: "0/10 * * * * ?",
          run: Effect.zipRight(
            Ref.update(runs, (n) => n + 1),
            Effect.sleep("15 seconds"),
          ),
        })
        const a = yield* nodeOn(stores, [slow], { instance: "a" })
        yield* nodeOn(stores, [slow], { instance: "b" })
        yield* stepBy("1 second", 21)
        // At 21 s the 10 s run is still busy and the 20 s slot found its lock held: the job's latest
        // execution is the running one, not a SKIPPED (success) row for the overlapped slot.
        const latest = yield* a.manager.latest("slow")
        assert.strictEqual(latest._tag === "Some" && latest.value.jobState, "RUNNING")
        yield* stepBy("1 second", 4)
        const rows = yield* all(a.manager, "slow")
        assert.deepStrictEqual(slotsOf(rows), [iso(10_000)])
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.deepStrictEqual(slotsOf(rows, "FINISHED"), [iso(10_000)])
        yield* a.manager.eventLog.flush
        const events = yield* a.manager.events("slow")
        assert.deepStrictEqual(
          events.map((e) => [e.kind, e.from.toISOString()]),
          [["overlap", iso(20_000)]],
        )
        assert.match(events[0]!.reason, /^slow .* still held lock slow$/)
      }),
  )

  describe("a store unreachable at slot time", () => {
    type Link = "up" | "refused" | "hung" | "slow" | "lost" | "landed-hung" | "lands-late"
    const missedOf = (type: string) =>
      Effect.map(Metric.value(Metric.tagged(JobMetrics.missedSlots, "job_type", type)), (c) => c.count)
    const finished = (rows: ReadonlyArray<JobStatus>) =>
      rows
        .filter((r) => r.jobState === "FINISHED")
        .map((r) => ({ slot: r.scheduledAt!.getTime(), at: r.jobStatusTs.getTime() }))
        .sort((x, y) => x.slot - y.slot)

    /**
     * One instance running `job` on memory stores whose slot claims fail (refused), never answer
     * (hung), apply at once but answer 2.5 s later (slow: a frozen coordinator node) or apply and
     * then fail (lost: a timeout after the write landed) or apply and then never answer (landed-hung:
     * a coordinator frozen after the write) or never answer and land 11 s later (lands-late: a write
     * still in flight when its claimant gave up) while the link is down: up during `before`,
     * `down` during `during`, up again for `after`.
     */
    const throughOutage = (
      job: Job.Any,
      down: Exclude<Link, "up">,
      phases: { before: Effect.Effect<void>; during: Effect.Effect<void>; after: Effect.Effect<void> },
    ) =>
      Effect.gen(function* () {
        const base = yield* memoryStores
        const link = yield* Ref.make<Link>("up")
        const claims = yield* Ref.make(0)
        const lockRepository: typeof base.lockRepository = {
          ...base.lockRepository,
          claimSlot: (c) =>
            Effect.zipRight(
              Ref.update(claims, (n) => n + 1),
              Effect.flatMap(Ref.get(link), (l) =>
                l === "up"
                  ? base.lockRepository.claimSlot(c)
                  : l === "hung"
                    ? Effect.never
                    : l === "slow"
                      ? Effect.tap(base.lockRepository.claimSlot(c), () => Effect.sleep("2500 millis"))
                      : l === "landed-hung"
                        ? Effect.zipRight(base.lockRepository.claimSlot(c), Effect.never)
                        : l === "lands-late"
                          ? Effect.zipRight(
                              Effect.forkDaemon(Effect.delay(base.lockRepository.claimSlot(c), "11 seconds")),
                              Effect.never,
                            )
                          : l === "lost"
                            ? Effect.zipRight(
                                base.lockRepository.claimSlot(c),
                                Effect.fail(
                                  new StoreError({
                                    operation: "claimSlot",
                                    message: "timed out; outcome unknown",
                                  }),
                                ),
                              )
                            : Effect.fail(
                                new StoreError({ operation: "claimSlot", message: "connection refused" }),
                              ),
              ),
            ),
        }
        const a = yield* nodeOn({ ...base, lockRepository }, [job], { instance: "a" })
        yield* phases.before
        yield* Ref.set(link, down)
        yield* phases.during
        const ranDuring = finished(yield* all(a.manager, job.type))
        const claimsDuring = yield* Ref.get(claims)
        yield* Ref.set(link, "up")
        yield* phases.after
        const ran = finished(yield* all(a.manager, job.type))
        return {
          ranDuring,
          claimsDuring,
          ran,
          slots: ran.map((r) => r.slot),
          missed: yield* missedOf(job.type),
        }
      })

    it.scoped("a 10 s outage over a minute slot delays the run, it does not drop it", () =>
      Effect.gen(function* () {
        const job = Job.make({ type: "minutely-outage", cron: "0 * * * * ?", run: Effect.void })
        const r = yield* throughOutage(job, "refused", {
          before: stepBy("1 second", 59),
          during: stepBy("1 second", 10), // t = 69 s: the 60 s slot has been refused for 9 s
          after: stepBy("1 second", 10),
        })
        assert.deepStrictEqual(r.ranDuring, [])
        assert.isAbove(r.claimsDuring, 3) // retried, not given up
        assert.deepStrictEqual(r.slots, [60_000])
        assert.isAtLeast(r.ran[0]!.at, 69_000) // late, after the outage, within the 5 s retry cap
        assert.isAtMost(r.ran[0]!.at, 74_000)
        assert.strictEqual(r.missed, 0)
      }),
    )

    it.scoped("claims answered after the next slot (a slow node): every slot runs, late, once", () =>
      Effect.gen(function* () {
        const job = Job.make({ type: "secondly-slow", cron: "* * * * * ?", run: Effect.void })
        const r = yield* throughOutage(job, "slow", {
          before: stepBy("1 second", 3),
          during: stepBy("1 second", 5),
          after: stepBy("1 second", 5),
        })
        // An attempt cut short at the next slot would leave its slot claimed and run by no one.
        const expected = Array.from({ length: 12 }, (_, i) => (i + 1) * 1000)
        assert.deepStrictEqual(r.slots.slice(0, 12), expected)
        assert.strictEqual(new Set(r.slots).size, r.slots.length) // once each
        assert.isAtLeast(r.ran.find((x) => x.slot === 5_000)!.at, 7_500) // late
        assert.strictEqual(r.missed, 0)
      }),
    )

    it.scoped("claims that land but whose answers are lost: the retry is the same claim, the slot runs", () =>
      Effect.gen(function* () {
        const job = Job.make({ type: "minutely-lost", cron: "0 * * * * ?", run: Effect.void })
        const r = yield* throughOutage(job, "lost", {
          before: stepBy("1 second", 59),
          during: stepBy("1 second", 10),
          after: stepBy("1 second", 10),
        })
        assert.deepStrictEqual(r.ranDuring, [])
        assert.isAbove(r.claimsDuring, 3)
        // A retry as a new claim would find the slot claimed (by its own lost attempt) and run nothing.
        assert.deepStrictEqual(r.slots, [60_000])
        assert.strictEqual(r.missed, 0)
      }),
    )

    it.scoped(
      "a claim cut off at its bound after its write landed, with no time to retry: the slot runs late",
      () =>
        Effect.gen(function* () {
          // Per second: the claim may be retried only until the next slot, so the one attempt of the
          // 4 s slot is all it gets; it hangs after landing and is cut off at 14 s. Reading who holds
          // the slot finds this very claim (red without the read: the slot is missed, run by nobody).
          const job = Job.make({ type: "per-second-landed", cron: "* * * * * ?", run: Effect.void })
          const r = yield* throughOutage(job, "landed-hung", {
            before: stepBy("1 second", 3),
            during: stepBy("1 second", 1),
            after: stepBy("1 second", 15),
          })
          const late = r.ran.find((x) => x.slot === 4_000)
          assert.isDefined(late, `slots run: ${r.slots.join(", ")}`)
          assert.isAtLeast(late!.at, 14_000)
          assert.strictEqual(r.missed, 0)
        }),
    )

    it.scoped(
      "a claim that lands after the first resolving read found nothing: read again, the slot runs late",
      () =>
        Effect.gen(function* () {
          // The 4 s slot's one attempt is cut off at 14 s; its write lands at 15 s. The first read
          // (14 s) finds no claim; the next one a second later finds this claim (red with one read).
          const job = Job.make({ type: "per-second-late", cron: "* * * * * ?", run: Effect.void })
          const r = yield* throughOutage(job, "lands-late", {
            before: stepBy("1 second", 3),
            during: stepBy("1 second", 1),
            after: stepBy("1 second", 20),
          })
          const late = r.ran.find((x) => x.slot === 4_000)
          assert.isDefined(late, `slots run: ${r.slots.join(", ")}`)
          assert.isAtLeast(late!.at, 15_000)
          assert.strictEqual(r.missed, 0)
        }),
    )

    it.scoped("a hung store: each claim attempt times out and is retried", () =>
      Effect.gen(function* () {
        const job = Job.make({ type: "minutely-hung", cron: "0 * * * * ?", run: Effect.void })
        // The attempt hung since 60 s times out at 70 s; one of the next ones (hung too until 75 s)
        // times out at 80.2 s; the one after answers.
        const r = yield* throughOutage(job, "hung", {
          before: stepBy("1 second", 59),
          during: stepBy("1 second", 15),
          after: stepBy("1 second", 25),
        })
        assert.deepStrictEqual(r.slots, [60_000])
        assert.isAtLeast(r.ran[0]!.at, 80_000)
        assert.strictEqual(r.missed, 0)
      }),
    )

    const dailyPhases = {
      before: TestClock.adjust("23 hours"),
      during: stepBy("1 minute", 60 + 40), // to 00:40 on day 2, far past the 1-minute misfire threshold
      after: stepBy("1 second", 10),
    }

    it.scoped("a daily slot in a 40-minute outage runs when the store is back, as a catch-up would", () =>
      Effect.gen(function* () {
        const job = Job.make({ type: "daily-outage", cron: "0 0 0 * * ?", run: Effect.void })
        const r = yield* throughOutage(job, "refused", dailyPhases)
        assert.deepStrictEqual(r.ranDuring, [])
        assert.deepStrictEqual(r.slots, [86_400_000])
        assert.isAtLeast(r.ran[0]!.at, 86_400_000 + 40 * 60_000)
        assert.isAtMost(r.ran[0]!.at, 86_400_000 + 40 * 60_000 + 5_000)
        assert.strictEqual(r.missed, 0)
      }),
    )

    it.scoped('catchUp "skip": the same outage gives the slot up at the misfire threshold', () =>
      Effect.gen(function* () {
        const job = Job.make({
          type: "daily-outage-skip",
          cron: "0 0 0 * * ?",
          catchUp: "skip",
          run: Effect.void,
        })
        const r = yield* throughOutage(job, "refused", dailyPhases)
        assert.deepStrictEqual(r.ran, [])
        assert.strictEqual(r.missed, 1)
      }),
    )

    it.scoped(
      "an outage past the next slot: that slot supersedes the old one (no burst), counted as missed",
      () =>
        Effect.gen(function* () {
          const job = Job.make({ type: "ten-outage", cron: "0/10 * * * * ?", run: Effect.void })
          const r = yield* throughOutage(job, "refused", {
            before: stepBy("1 second", 9),
            during: stepBy("1 second", 26), // t = 35 s
            after: stepBy("1 second", 30), // t = 65 s
          })
          // 10 s and 20 s were given up when the next slot came; 30 s ran late, when the store was back.
          assert.deepStrictEqual(r.slots, [30_000, 40_000, 50_000, 60_000])
          assert.isAtLeast(r.ran[0]!.at, 35_000)
          assert.isBelow(r.ran[0]!.at, 40_000)
          assert.strictEqual(r.missed, 2)
        }),
    )
  })

  describe("catch-up after downtime", () => {
    const daily = Job.make({
      type: "daily",
      cron: "0 0 3 * * ?",
      timeZone: "Europe/Berlin",
      run: Effect.void,
    })
    /** Runs one instance until `until`, shuts it down, then starts another at `restart`. */
    const scenario = (until: string | undefined, restart: string) =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        yield* TestClock.setTime(Date.parse("2026-05-01T00:00:00Z"))
        if (until !== undefined) {
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* nodeOn(stores, [daily], { instance: "old" })
              yield* TestClock.setTime(Date.parse(until))
            }),
          )
        }
        yield* TestClock.setTime(Date.parse(restart))
        const { manager, scheduler } = yield* nodeOn(stores, [daily], { instance: "new" })
        assert.isTrue(yield* scheduler.scheduled)
        yield* TestClock.adjust("1 second")
        return (yield* all(manager, "daily")).filter((r) => r.instance === "new")
      })

    it.scoped("last run 2 days ago and a daily slot missed: triggered at start", () =>
      Effect.gen(function* () {
        const rows = yield* scenario("2026-05-01T12:00:00Z", "2026-05-03T12:00:00Z")
        assert.deepStrictEqual(
          rows.map((r) => [r.triggerSource, r.scheduledAt?.toISOString(), r.jobState]),
          [["catch-up", "2026-05-03T01:00:00.000Z", "FINISHED"]],
        )
      }),
    )

    it.scoped("a missed slot but the next regular slot within 30 minutes: not triggered", () =>
      Effect.gen(function* () {
        const rows = yield* scenario("2026-05-01T12:00:00Z", "2026-05-03T00:40:00Z")
        assert.deepStrictEqual(rows, [])
      }),
    )

    it.scoped("never run before: not triggered", () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* scenario(undefined, "2026-05-03T12:00:00Z"), [])
      }),
    )

    it.scoped("no missed slot: not triggered", () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* scenario("2026-05-01T12:00:00Z", "2026-05-01T18:00:00Z"), [])
      }),
    )

    it.scoped("several instances starting after downtime run the catch-up once", () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        yield* TestClock.setTime(Date.parse("2026-05-01T00:00:00Z"))
        yield* Effect.scoped(
          Effect.zipRight(nodeOn(stores, [daily]), TestClock.setTime(Date.parse("2026-05-01T12:00:00Z"))),
        )
        yield* TestClock.setTime(Date.parse("2026-05-03T12:00:00Z"))
        const a = yield* nodeOn(stores, [daily], { instance: "a" })
        yield* nodeOn(stores, [daily], { instance: "b" })
        yield* TestClock.adjust("1 second")
        const catchUps = (yield* all(a.manager, "daily")).filter((r) => r.triggerSource === "catch-up")
        assert.strictEqual(catchUps.length, 1)
      }),
    )
  })

  it.scoped("failing preconditions: nothing is scheduled and the failure is reported", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const { manager, scheduler } = yield* nodeOn(
        stores,
        [Job.make({ type: "sec", cron: "* * * * * ?", run: Effect.void })],
        {
          scheduler: { preconditions: Effect.fail(new Error("schema not migrated")) },
        },
      )
      const error = yield* Effect.flip(scheduler.scheduled)
      assert.strictEqual(error._tag, "SchedulingPreconditionsFailed")
      assert.match(error.message, /schema not migrated/)
      yield* stepBy("1 second", 5)
      assert.deepStrictEqual(yield* all(manager, "sec"), [])
    }),
  )

  it.scoped("scheduling disabled: no cron runs, manual triggers work", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const { manager, scheduler } = yield* nodeOn(
        stores,
        [Job.make({ type: "sec", cron: "* * * * * ?", run: Effect.void })],
        {
          scheduler: { enabled: false },
        },
      )
      assert.isFalse(yield* scheduler.scheduled)
      yield* stepBy("1 second", 5)
      assert.deepStrictEqual(yield* all(manager, "sec"), [])
      assert.strictEqual((yield* manager.trigger("sec"))._tag, "Started")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(
        (yield* all(manager, "sec")).map((r) => [r.jobState, r.triggerSource]),
        [["FINISHED", "manual"]],
      )
    }),
  )

  it.scoped("nextRuns lists upcoming slots in the job's time zone", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      yield* TestClock.setTime(Date.parse("2026-06-01T00:00:00Z"))
      const { manager, scheduler } = yield* nodeOn(stores, [noon])
      const runs = yield* scheduler.nextRuns(yield* manager.job("noon"), 2)
      assert.deepStrictEqual(
        runs.map((d) => d.toISOString()),
        ["2026-06-01T10:00:00.000Z", "2026-06-02T10:00:00.000Z"],
      )
    }),
  )
})
