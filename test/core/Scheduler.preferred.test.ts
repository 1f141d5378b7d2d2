import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Option, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobContext } from "../../src/core/JobContext.js"
import * as Rendezvous from "../../src/core/Rendezvous.js"
import type { SchedulerOptions } from "../../src/core/Scheduler.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as TestCluster from "../../src/testing/TestCluster.js"

const stepBy = (step: Duration.DurationInput, times: number) =>
  Effect.repeatN(TestClock.adjust(step), times - 1)

/** One slot's run: where and how late. */
interface Run {
  readonly key: string
  readonly jobType: string
  readonly jobId: string
  readonly lagMs: number
}

/**
 * `instances` instances with heartbeats on, four per-minute job types (at seconds 0, 15, 30, 45),
 * counting conditional writes (claimSlot, acquire) and runs from `countFrom` (after the first
 * heartbeats' reads, which every instance makes at start-up, before the others have announced).
 */
const cluster = (instances: number, scheduler: SchedulerOptions = {}) =>
  Effect.gen(function* () {
    const base = yield* MemoryStore.make
    let counting = false
    const writes = { claimSlot: 0, acquire: 0 }
    const runs: Array<Run> = []
    const stores = {
      statusRepository: base.statusRepository,
      lockRepository: {
        ...base.lockRepository,
        claimSlot: (c: Parameters<typeof base.lockRepository.claimSlot>[0]) =>
          Effect.suspend(() => {
            if (counting) writes.claimSlot++
            return base.lockRepository.claimSlot(c)
          }),
        acquire: (r: Parameters<typeof base.lockRepository.acquire>[0]) =>
          Effect.suspend(() => {
            if (counting) writes.acquire++
            return base.lockRepository.acquire(r)
          }),
      },
    }
    const jobs = [0, 15, 30, 45].map((second) =>
      Job.make({
        type: `every-minute-${second}`,
        cron: `${second} * * * * ?`,
        run: Effect.gen(function* () {
          const ctx = yield* JobContext
          const now = yield* Clock.currentTimeMillis
          if (!counting || Option.isNone(ctx.scheduledAt)) return
          runs.push({
            key: `${ctx.jobType}@${ctx.scheduledAt.value}`,
            jobType: ctx.jobType,
            jobId: ctx.jobId,
            lagMs: now - ctx.scheduledAt.value,
          })
        }),
      }),
    )
    const test = yield* TestCluster.make(jobs, {
      instances,
      stores,
      supervisor: false,
      scheduler,
      membership: { enabled: true, heartbeatEvery: "10 seconds" },
    })
    /** Which instance ran each of a job type's counted runs (from its statuses), in order. */
    const ranBy = (jobType: string) =>
      Effect.map(base.statusRepository.list(jobType as never, { limit: 100 }), (rows) =>
        runs
          .filter((r) => r.jobType === jobType)
          .map((r) => rows.find((row) => row.jobId === r.jobId)?.instance),
      )
    return {
      test,
      writes,
      runs,
      ranBy,
      jobTypes: jobs.map((j) => j.type),
      count: Effect.sync(() => {
        counting = true
      }),
    }
  })

const perSlot = (runs: ReadonlyArray<Run>) => {
  const byKey = new Map<string, number>()
  for (const r of runs) byKey.set(r.key, (byKey.get(r.key) ?? 0) + 1)
  return byKey
}

/** The job type's first- and second-ranked instances, every instance being live. */
const ranked = (test: TestCluster.TestCluster, jobType: string) => {
  const names = test.instances.map((i) => i.name)
  const at = (rank: number) => names.find((n) => Rendezvous.rank(n, names, jobType) === rank)!
  return { preferred: at(0), second: at(1) }
}

describe("Scheduler: a preferred firer per job type", () => {
  it.scoped("10 instances: each slot runs once, for one conditional claim and one acquire", () =>
    Effect.gen(function* () {
      const { writes, runs, count } = yield* cluster(10)
      yield* stepBy("1 second", 20) // every instance has read the full live set (t = 10 s)
      yield* count
      yield* stepBy("1 second", 240) // four minutes: 16 slots
      const slots = perSlot(runs)
      assert.strictEqual(slots.size, 16)
      assert.deepStrictEqual([...new Set(slots.values())], [1])
      assert.strictEqual(writes.claimSlot, 16)
      assert.isAtMost((writes.claimSlot + writes.acquire) / slots.size, 2)
      // The preferred firer claims at once: no handoff delay in the lag.
      assert.isBelow(Math.max(...runs.map((r) => r.lagMs)), 1_000)
    }),
  )

  it.scoped("the check can fail: with `handoff: false` all 10 instances claim every slot", () =>
    Effect.gen(function* () {
      const { writes, runs, count } = yield* cluster(10, { handoff: false })
      yield* stepBy("1 second", 20)
      yield* count
      yield* stepBy("1 second", 240)
      const slots = perSlot(runs)
      assert.strictEqual(slots.size, 16)
      assert.deepStrictEqual([...new Set(slots.values())], [1]) // the claim still arbitrates
      assert.strictEqual(writes.claimSlot, 160)
      assert.isAbove((writes.claimSlot + writes.acquire) / slots.size, 2)
    }),
  )

  it.scoped(
    "its preferred firer stopped: the next-ranked runs its slots, once each, on time once the live set drops it",
    () =>
      Effect.gen(function* () {
        const { test, runs, count, jobTypes, ranBy } = yield* cluster(5)
        yield* stepBy("1 second", 20)
        const jobType = jobTypes[0]!
        const { preferred, second } = ranked(test, jobType)
        yield* test.instance(preferred).stop
        yield* count
        yield* stepBy("1 second", 240) // t = 260 s: slots at 60, 120, 180, 240 s
        const mine = runs.filter((r) => r.jobType === jobType)
        assert.deepStrictEqual(
          mine.map((r) => r.key),
          [60_000, 120_000, 180_000, 240_000].map((s) => `${jobType}@${s}`),
        )
        assert.deepStrictEqual([...new Set(perSlot(runs).values())], [1])
        assert.deepStrictEqual(yield* ranBy(jobType), [second, second, second, second])
        // Its last heartbeat was at t = 20 s: gone after 30 s more, seen by the read at t = 60 s,
        // which may come after the slot at 60 s (a handoff late) or before it (on time). From then
        // on the next-ranked is the preferred firer: on time.
        assert.isAtMost(mine[0]!.lagMs, 1_000)
        assert.deepStrictEqual(
          mine.slice(1).map((r) => r.lagMs),
          [0, 0, 0],
        )
      }),
  )

  it.scoped("its preferred firer stopped just before a slot: that slot runs one handoff late", () =>
    Effect.gen(function* () {
      const { test, runs, count, jobTypes, ranBy } = yield* cluster(5)
      yield* stepBy("1 second", 55) // t = 55 s; its heartbeat at 50 s is fresh
      const jobType = jobTypes[0]!
      const { preferred, second } = ranked(test, jobType)
      yield* test.instance(preferred).stop
      yield* count
      yield* stepBy("1 second", 10)
      const mine = runs.filter((r) => r.jobType === jobType)
      assert.deepStrictEqual(
        mine.map((r) => [r.key, r.lagMs]),
        [[`${jobType}@60000`, 1_000]],
      )
      assert.deepStrictEqual(yield* ranBy(jobType), [second])
    }),
  )
})
