/**
 * `npm run bench:scale`: many cron job types on many instances, in one process on one memory store
 * (issue 19, first part: where the store load and the lag come from). Per point (J job types × N
 * instances), every job type fires once a minute at its own second (J/60 per second), for
 * `--seconds` (default 30, 25 with --quick; the first 12 — a heartbeat and a bit, until every
 * instance knows the others — are not counted). Measured:
 *
 * - firing lag: a run's start minus its slot, p50 / p99;
 * - store operations per slot: conditional writes (claimSlot, acquire) and reads (slotClaim, paused)
 *   per slot run, from a counting wrapper around the store (instances other than a job type's
 *   preferred firer read the slot's claim once, a handoff after the slot);
 * - CPU of the process (all N instances) over the counted window;
 * - runs per slot (must be 1), start-up time, heap and RSS growth per job type and instance (a
 *   cron loop; RSS is noisy below 1,000 loops).
 *
 *   npm run bench:scale -- [--quick] [--seconds 30] [--jobs J --instances N]
 *
 * --quick: J ∈ {100, 1,000} × N ∈ {1, 10}. Without: J ∈ {100, 1,000, 10,000} × N ∈ {1, 3, 10, 30,
 * 100}, points with J × N above 100,000 cron loops skipped (one process). Real processes and the
 * other stores are the next step (issue 19).
 */
import { Duration, Effect, Exit, Layer, Option, Scope } from "effect"
import * as Job from "../src/core/Job.js"
import { JobContext } from "../src/core/JobContext.js"
import * as HaJobs from "../src/HaJobs.js"
import type { LockRepository } from "../src/ports/LockRepository.js"
import * as MemoryStore from "../src/stores/memory/MemoryStore.js"
import * as Stores from "../src/testing/Stores.js"
import { ms, percentile } from "./stats.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
const quick = process.argv.includes("--quick")
const seconds = Number(arg("--seconds") ?? (quick ? 25 : 30))
// One heartbeat (10 s) and a bit: until then an instance's live set may lack the ones started after it.
const warmupMs = 12_000
const MaxLoops = 100_000

const counted = ["claimSlot", "acquire", "slotClaim", "paused", "renew", "release"] as const
type Counted = (typeof counted)[number]

const point = (J: number, N: number) =>
  Effect.gen(function* () {
    global.gc?.()
    const before = process.memoryUsage()
    const store = yield* MemoryStore.make
    const counts = new Map<Counted, number>(counted.map((c) => [c, 0]))
    let counting = false
    const count =
      (op: Counted) =>
      <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          if (counting) counts.set(op, counts.get(op)! + 1)
          return effect
        })
    const l = store.lockRepository
    const locks: LockRepository["Type"] = {
      ...l,
      claimSlot: (c) => count("claimSlot")(l.claimSlot(c)),
      acquire: (r) => count("acquire")(l.acquire(r)),
      slotClaim: (j, s, o) => count("slotClaim")(l.slotClaim(j, s, o)),
      paused: (j) => count("paused")(l.paused(j)),
      renew: (k, t) => count("renew")(l.renew(k, t)),
      release: (k) => count("release")(l.release(k)),
    }
    const stores = Stores.layer({ lockRepository: locks, statusRepository: store.statusRepository })
    const lags: Array<number> = []
    const runsPerSlot = new Map<string, number>()
    const jobs = Array.from({ length: J }, (_, i) =>
      Job.make({
        type: `job-${i}`,
        cron: `${i % 60} * * * * ?`,
        run: Effect.flatMap(JobContext, (ctx) =>
          Effect.sync(() => {
            if (!counting || Option.isNone(ctx.scheduledAt)) return
            lags.push(Date.now() - ctx.scheduledAt.value)
            const key = `${ctx.jobType}@${ctx.scheduledAt.value}`
            runsPerSlot.set(key, (runsPerSlot.get(key) ?? 0) + 1)
          }),
        ),
      }),
    )
    const scope = yield* Scope.make()
    const started = Date.now()
    for (let n = 0; n < N; n++)
      yield* Layer.buildWithScope(
        HaJobs.layer(jobs, { instance: `i${n}`, supervisor: false }).pipe(Layer.provide(stores)),
        scope,
      )
    const startupMs = Date.now() - started
    yield* Effect.sleep(warmupMs)
    counting = true
    const cpuBefore = process.cpuUsage()
    const countedMs = Math.max(0, seconds * 1000 - warmupMs)
    yield* Effect.sleep(Duration.millis(countedMs))
    counting = false
    const cpu = process.cpuUsage(cpuBefore)
    global.gc?.()
    const after = process.memoryUsage()
    yield* Scope.close(scope, Exit.void)
    const slots = runsPerSlot.size
    const per = (op: Counted) => (slots === 0 ? Number.NaN : counts.get(op)! / slots)
    return {
      J,
      N,
      startupMs,
      slots,
      lagP50: percentile(lags, 50),
      lagP99: percentile(lags, 99),
      conditionalPerSlot: per("claimSlot") + per("acquire"),
      claimsPerSlot: per("claimSlot"),
      readsPerSlot: per("slotClaim") + per("paused"),
      maxRunsPerSlot: Math.max(0, ...runsPerSlot.values()),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / countedMs) * 100,
      heapKiBPerLoop: (after.heapUsed - before.heapUsed) / 1024 / (J * N),
      rssKiBPerLoop: (after.rss - before.rss) / 1024 / (J * N),
    }
  })

const grid = {
  J: arg("--jobs") ? [Number(arg("--jobs"))] : quick ? [100, 1_000] : [100, 1_000, 10_000],
  N: arg("--instances") ? [Number(arg("--instances"))] : quick ? [1, 10] : [1, 3, 10, 30, 100],
}

const main = Effect.gen(function* () {
  const rows: Array<string> = [
    "| job types × instances | start-up | slots run | lag p50 / p99 (ms) | conditional writes per slot | of them claims | reads per slot | runs per slot (max) | CPU (one process, all instances) | heap / RSS growth per job type and instance |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for (const J of grid.J)
    for (const N of grid.N) {
      if (J * N > MaxLoops) {
        rows.push(
          `| ${J} × ${N} | not run: ${J * N} cron loops in one process (limit ${MaxLoops}) | | | | | | | | |`,
        )
        continue
      }
      const r = yield* point(J, N)
      const line = `| ${J} × ${N} | ${r.startupMs} ms | ${r.slots} | ${ms(r.lagP50)} / ${ms(r.lagP99)} | ${r.conditionalPerSlot.toFixed(2)} | ${r.claimsPerSlot.toFixed(2)} | ${r.readsPerSlot.toFixed(2)} | ${r.maxRunsPerSlot} | ${r.cpuPercent.toFixed(0)} % | ${r.heapKiBPerLoop.toFixed(1)} / ${r.rssKiBPerLoop.toFixed(0)} KiB |`
      rows.push(line)
      console.error(line)
    }
  console.log(rows.join("\n"))
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
