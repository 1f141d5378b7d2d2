import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Either, Option, Ref, TestClock } from "effect"
import { MaxBackfillSlots } from "../../src/core/Backfill.js"
import * as Job from "../../src/core/Job.js"
import type { JobManager } from "../../src/core/JobManager.js"
import type { JobType } from "../../src/domain/Names.js"
import { memoryStores, nodeOn } from "../support/harness.js"

// Backfill: the past cron slots of a range, each run at most once as a claimed slot, one after
// another, with triggerSource "backfill" and scheduledAt = the slot.
const day = 86_400_000
const at = (d: number) => new Date(d * day)

/** A daily job recording how many of its runs ran at once, taking `takes` per run. */
const daily = (takes: Duration.DurationInput = "0 millis") =>
  Effect.gen(function* () {
    const active = yield* Ref.make({ now: 0, max: 0 })
    const job = Job.make({
      type: "daily",
      cron: "0 0 0 * * ?",
      catchUp: "skip",
      run: Effect.gen(function* () {
        yield* Ref.update(active, (a) => ({ now: a.now + 1, max: Math.max(a.max, a.now + 1) }))
        yield* Effect.sleep(takes)
        yield* Ref.update(active, (a) => ({ ...a, now: a.now - 1 }))
      }),
    })
    return { job, active }
  })

/** A node at day 10, with the slots of `claimed` days claimed already (by cron, elsewhere). */
const setUp = (job: Job.Any, claimed: ReadonlyArray<number> = []) =>
  Effect.gen(function* () {
    const stores = yield* memoryStores
    yield* TestClock.setTime(10 * day + 3_600_000)
    for (const d of claimed)
      yield* stores.lockRepository.claimSlot({
        jobType: "daily" as JobType,
        slot: d * day,
        instance: "other",
        claimId: `c${d}`,
      })
    const { manager } = yield* nodeOn(stores, [job], { instance: "a" })
    return { stores, manager }
  })

const backfillRuns = (manager: JobManager["Type"]) =>
  Effect.map(manager.list("daily", { limit: 100 }), (rows) =>
    rows
      .filter((r) => r.triggerSource === "backfill")
      .map((r) => [r.scheduledAt!.getTime() / day, r.jobState] as const)
      .sort((x, y) => x[0] - y[0]),
  )

const settle = (times = 30) => Effect.repeatN(TestClock.adjust("1 second"), times - 1)

describe("backfill", () => {
  it.scoped("a dry run lists the slots and what would happen; it claims and runs nothing", () =>
    Effect.gen(function* () {
      const { job } = yield* daily()
      const { stores, manager } = yield* setUp(job, [3, 5])
      const plan = yield* manager.backfill("daily", { from: at(1), to: at(7), dryRun: true })
      assert.deepStrictEqual(
        plan.slots.map((s) => [s.slot.getTime() / day, s.action, Option.getOrNull(s.claimedBy)]),
        [
          [1, "run", null],
          [2, "run", null],
          [3, "skip", "other"],
          [4, "run", null],
          [5, "skip", "other"],
          [6, "run", null],
          [7, "run", null],
        ],
      )
      yield* settle()
      assert.deepStrictEqual(yield* backfillRuns(manager), [])
      assert.isTrue(Option.isNone(yield* stores.lockRepository.slotClaim("daily" as JobType, day)))
      const [entry] = yield* manager.auditLog({ limit: 1 })
      assert.deepStrictEqual([entry!.action, entry!.outcome], ["backfill", "dry run: nothing ran"])
      assert.include(entry!.detail, "7 slots, 5 to run, 2 already claimed")
    }),
  )

  it.scoped("runs each unclaimed slot once, in order, one at a time; a second backfill skips them all", () =>
    Effect.gen(function* () {
      const { job, active } = yield* daily("2 seconds")
      const { manager } = yield* setUp(job, [3])
      yield* manager.backfill("daily", { from: at(1), to: at(5) })
      yield* settle(40)
      assert.deepStrictEqual(yield* backfillRuns(manager), [
        [1, "FINISHED"],
        [2, "FINISHED"],
        [4, "FINISHED"],
        [5, "FINISHED"],
      ])
      assert.strictEqual((yield* Ref.get(active)).max, 1)
      const again = yield* manager.backfill("daily", { from: at(1), to: at(5) })
      assert.deepStrictEqual(
        again.slots.map((s) => s.action),
        ["skip", "skip", "skip", "skip", "skip"],
      )
      yield* settle()
      assert.strictEqual((yield* backfillRuns(manager)).length, 4)
      const outcomes = (yield* manager.auditLog({ limit: 10 })).map((e) => e.outcome)
      assert.include(outcomes, "finished: ran 4, skipped 1")
      assert.include(outcomes, "finished: ran 0, skipped 5")
    }),
  )

  it.scoped("cancelling the job type while a slot runs stops the remaining slots", () =>
    Effect.gen(function* () {
      const { job } = yield* daily("1 hour")
      const { stores, manager } = yield* setUp(job)
      yield* manager.backfill("daily", { from: at(1), to: at(4) })
      yield* settle(5)
      yield* manager.cancel("daily")
      yield* settle(30)
      assert.deepStrictEqual(yield* backfillRuns(manager), [[1, "CANCELED"]])
      const [end] = yield* manager.auditLog({ limit: 1 })
      assert.strictEqual(end!.outcome, "stopped after 1 runs (0 skipped): cancelled")
      // The slots after it were never claimed: a later backfill can still run them.
      assert.isTrue(Option.isNone(yield* stores.lockRepository.slotClaim("daily" as JobType, 2 * day)))
    }),
  )

  it.scoped("bad ranges are refused naming the field, and nothing is claimed", () =>
    Effect.gen(function* () {
      const { job } = yield* daily()
      const manual = Job.make({ type: "manual-only", run: Effect.void })
      const { manager } = yield* setUp(job)
      const { manager: withManual } = yield* nodeOn(yield* memoryStores, [manual])
      const refused = (m: JobManager["Type"], type: string, from: Date, to: Date) =>
        Effect.map(Effect.either(m.backfill(type, { from, to, dryRun: true })), (r) =>
          Either.isLeft(r) && r.left._tag === "InvalidInput"
            ? `${r.left.field}: ${r.left.message}`
            : "accepted",
        )
      assert.match(yield* refused(manager, "daily", at(5), at(1)), /^from: .* is after to/)
      assert.match(yield* refused(manager, "daily", at(1), at(11)), /^to: .* is in the future/)
      assert.match(
        yield* refused(manager, "daily", new Date(Number.NaN), at(1)),
        /^from: from is not a valid instant/,
      )
      assert.match(
        yield* refused(withManual, "manual-only", at(1), at(2)),
        /^jobType: job type "manual-only" has no cron expression/,
      )
      // A per-second job over an hour: 3,600 slots, more than the limit.
      const perSecond = Job.make({ type: "per-second", cron: "* * * * * ?", run: Effect.void })
      const { manager: fast } = yield* nodeOn(yield* memoryStores, [perSecond])
      assert.match(
        yield* refused(fast, "per-second", new Date(0), new Date(3_600_000)),
        new RegExp(`^to: the range holds more than ${MaxBackfillSlots} slots`),
      )
      assert.strictEqual(yield* refused(manager, "daily", at(1), at(1)), "accepted")
      const unknown = yield* Effect.either(manager.backfill("nope", { from: at(1), to: at(2) }))
      assert.isTrue(Either.isLeft(unknown) && unknown.left._tag === "UnknownJobType")
    }),
  )
})
