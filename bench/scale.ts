/**
 * `npm run bench:scale`: many cron job types on many instances, in one process on one memory store
 * (issue 19, first part: where the store load and the lag come from). Per point (J job types × N
 * instances), every job type fires once a minute at its own second (J/60 per second), for
 * `--seconds` (default 25; the first 12 — a heartbeat and a bit, until every
 * instance knows the others — are not counted). Measured:
 *
 * - firing lag: a run's start minus its slot, p50 / p99;
 * - store operations per slot: conditional writes (claimSlot, acquire) and reads (slotClaim, paused)
 *   per slot run, from a counting wrapper around the store (instances other than a job type's
 *   preferred firer read the slot's claim once, a handoff after the slot);
 * - CPU of the process (all N instances) over the counted window;
 * - runs per slot (must be 1), start-up time, heap and RSS growth per job type and instance (RSS
 *   is noisy, and grows with the statuses the memory store keeps);
 * - one supervisor tick over the J job types after the window: its time and its store calls.
 *
 *   npm run bench:scale -- [--quick] [--seconds 25] [--jobs J --instances N]
 *
 * Plots (SVG) go to docs/ on the full run, to `--plots <dir>` if given. `--store cassandra` runs the
 * grid on the keyspace of the CASSANDRA_* environment (migrated first: `npm run cassandra:migrate`).
 *
 * --quick: J ∈ {100, 1,000} × N ∈ {1, 10}. Without: J ∈ {100, 1,000, 10,000} × N ∈ {1, 3, 10, 30,
 * 100}, without the points `skipped` below (one process saturates). Real processes and the other
 * stores are the next step (issue 19).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Duration, Effect, Exit, Layer, Option, Scope } from "effect"
import * as Job from "../src/core/Job.js"
import { JobContext } from "../src/core/JobContext.js"
import type { JobManager } from "../src/core/JobManager.js"
import * as HaJobs from "../src/HaJobs.js"
import * as Supervisor from "../src/jobs/Supervisor.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { type AroundCall, mapLocks, mapStatuses } from "../src/ports/StoreBounds.js"
import * as CassandraStore from "../src/stores/cassandra/CassandraStore.js"
import * as MemoryStore from "../src/stores/memory/MemoryStore.js"
import * as SqliteStore from "../src/stores/sqlite/SqliteStore.js"
import * as Stores from "../src/testing/Stores.js"
import { ms, percentile } from "./stats.js"
import { lineChart } from "./svgPlot.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
const quick = process.argv.includes("--quick")
const seconds = Number(arg("--seconds") ?? 25)
// One heartbeat (10 s) and a bit: until then an instance's live set may lack the ones started after it.
const warmupMs = 12_000
// 10,000 × 10 cron entries in one process saturate it (43 s to start, 26 s of lag): the figures would
// be the simulation's, not an instance's. Beyond 30,000 entries only J ≤ 1,000 runs (the N = 100 target).
const skipped = (J: number, N: number) => J * N > 30_000 && J > 1_000

/** A store wrapper counting every call by port method while started. */
const counter = () => {
  const counts = new Map<string, number>()
  let on = false
  const around: AroundCall = (operation) => (effect) =>
    Effect.suspend(() => {
      if (on) counts.set(operation, (counts.get(operation) ?? 0) + 1)
      return effect
    })
  return {
    around,
    of: (operation: string) => counts.get(operation) ?? 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    start: () => {
      counts.clear()
      on = true
    },
    stop: () => {
      on = false
    },
  }
}

type StoreKind = "memory" | "sqlite" | "cassandra"

/** A fresh store of that kind, removed with the scope (SQLite: a file in a new temporary directory). */
const freshStore = (kind: StoreKind) =>
  kind === "memory"
    ? MemoryStore.make
    : kind === "cassandra"
      ? // A migrated keyspace from the environment (CASSANDRA_CONTACT_POINTS, CASSANDRA_KEYSPACE, ...);
        // each point's job types have names of their own, so nothing of an earlier point is caught up.
        Effect.map(Layer.build(CassandraStore.layerFromEnv()), (context) => ({
          lockRepository: Context.get(context, LockRepository),
          statusRepository: Context.get(context, StatusRepository),
        }))
      : Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-scale-"))
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })),
          )
          const context = yield* Layer.build(SqliteStore.layer({ filename: path.join(dir, "scale.db") }))
          return {
            lockRepository: Context.get(context, LockRepository),
            statusRepository: Context.get(context, StatusRepository),
          }
        })

const point = (J: number, N: number, kind: StoreKind) =>
  Effect.gen(function* () {
    global.gc?.()
    const before = process.memoryUsage()
    const store = yield* freshStore(kind)
    const runTag = `p${J}x${N}-${Date.now().toString(36)}`
    const calls = counter()
    let counting = false
    const stores = {
      lockRepository: mapLocks(store.lockRepository, calls.around),
      statusRepository: mapStatuses(store.statusRepository, calls.around),
    }
    const lags: Array<number> = []
    const runsPerSlot = new Map<string, number>()
    const jobs = Array.from({ length: J }, (_, i) =>
      Job.make({
        type: `${runTag}-${i}`,
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
    let first: Context.Context<JobManager> | undefined
    for (let n = 0; n < N; n++) {
      const context = yield* Layer.buildWithScope(
        HaJobs.layer(jobs, { instance: `i${n}`, supervisor: false }).pipe(
          Layer.provide(Stores.layer(stores)),
        ),
        scope,
      )
      first ??= context
    }
    const startupMs = Date.now() - started
    yield* Effect.sleep(warmupMs)
    counting = true
    calls.start()
    const cpuBefore = process.cpuUsage()
    const countedMs = Math.max(0, seconds * 1000 - warmupMs)
    yield* Effect.sleep(Duration.millis(countedMs))
    counting = false
    calls.stop()
    const cpu = process.cpuUsage(cpuBefore)
    global.gc?.()
    const after = process.memoryUsage()
    const slots = runsPerSlot.size
    const per = (op: string) => (slots === 0 ? Number.NaN : calls.of(op) / slots)
    const ops = {
      claimSlot: per("claimSlot"),
      acquire: per("acquire"),
      reads: per("slotClaim") + per("paused"),
    }
    // One supervisor tick over the J job types (what the supervisor job runs each minute), with the
    // store calls it makes. The cron runs go on meanwhile, as they would.
    calls.start()
    const tickStarted = Date.now()
    yield* Supervisor.supervise({}).pipe(Effect.provide(first!), Effect.provide(Stores.layer(stores)))
    const supervisorTickMs = Date.now() - tickStarted
    calls.stop()
    const supervisorCalls = calls.total()
    yield* Scope.close(scope, Exit.void)
    return {
      J,
      N,
      kind,
      startupMs,
      slots,
      lagP50: percentile(lags, 50),
      lagP99: percentile(lags, 99),
      conditionalPerSlot: ops.claimSlot + ops.acquire,
      claimsPerSlot: ops.claimSlot,
      readsPerSlot: ops.reads,
      supervisorTickMs,
      supervisorCalls,
      maxRunsPerSlot: Math.max(0, ...runsPerSlot.values()),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / countedMs) * 100,
      heapKiBPerLoop: (after.heapUsed - before.heapUsed) / 1024 / (J * N),
      rssKiBPerLoop: (after.rss - before.rss) / 1024 / (J * N),
    }
  }).pipe(Effect.scoped)

const stores: ReadonlyArray<StoreKind> = arg("--store")
  ? [arg("--store") as StoreKind]
  : quick
    ? ["memory"]
    : ["memory", "sqlite"]
/** SQLite's points: the default store, one file; a slot's writes are its transactions. */
const sqliteGrid = { J: [100, 1_000], N: [1, 10] }

const grid = {
  J: arg("--jobs") ? [Number(arg("--jobs"))] : quick ? [100, 1_000] : [100, 1_000, 10_000],
  N: arg("--instances") ? [Number(arg("--instances"))] : quick ? [1, 10] : [1, 3, 10, 30, 100],
}

const main = Effect.gen(function* () {
  const rows: Array<string> = [
    "| store | job types × instances | start-up | slots run | lag p50 / p99 (ms) | conditional writes per slot | of them claims | reads per slot | runs per slot (max) | CPU (one process, all instances) | heap / RSS growth per job type and instance | supervisor tick (store calls) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  const results = new Map<string, Effect.Effect.Success<ReturnType<typeof point>>>()
  for (const kind of stores)
    for (const J of (kind === "memory" || arg("--store") ? grid : sqliteGrid).J)
      for (const N of (kind === "memory" || arg("--store") ? grid : sqliteGrid).N) {
        if (skipped(J, N)) {
          rows.push(
            `| ${kind} | ${J} × ${N} | not run: ${J * N} cron entries in one process (it saturates) | | | | | | | | | | |`,
          )
          continue
        }
        const r = yield* point(J, N, kind)
        if (kind === "memory") results.set(`${J}x${N}`, r)
        const line = `| ${kind} | ${J} × ${N} | ${r.startupMs} ms | ${r.slots} | ${ms(r.lagP50)} / ${ms(r.lagP99)} | ${r.conditionalPerSlot.toFixed(2)} | ${r.claimsPerSlot.toFixed(2)} | ${r.readsPerSlot.toFixed(2)} | ${r.maxRunsPerSlot} | ${r.cpuPercent.toFixed(0)} % | ${r.heapKiBPerLoop.toFixed(1)} / ${r.rssKiBPerLoop.toFixed(0)} KiB | ${r.supervisorTickMs} ms (${r.supervisorCalls}) |`
        rows.push(line)
        console.error(line)
      }
  console.log(rows.join("\n"))
  const plots = arg("--plots") ?? (quick ? undefined : "docs")
  if (plots !== undefined) writePlots(plots, results)
})

/** The figures of BENCHMARKS.md's Scale section, as SVG under `dir`. */
const writePlots = (
  dir: string,
  results: ReadonlyMap<string, { readonly conditionalPerSlot: number; readonly lagP99: number }>,
) => {
  const at = (J: number, N: number, key: "conditionalPerSlot" | "lagP99") => results.get(`${J}x${N}`)?.[key]
  const writes = lineChart({
    title: "Conditional writes per cron slot",
    xLabel: "instances (N)",
    yLabel: "claims + lock acquires per slot",
    categories: grid.N.map(String),
    series: [
      ...grid.J.map((J) => ({
        name: `${J} job types`,
        values: grid.N.map((N) => at(J, N, "conditionalPerSlot")),
      })),
      { name: "every instance claims", values: grid.N.map((N) => N + 1), dashed: true },
    ],
  })
  const lag = lineChart({
    title: "Firing lag p99 (one process)",
    xLabel: "instances (N)",
    yLabel: "ms from slot to run start",
    categories: grid.N.map(String),
    series: grid.J.map((J) => ({ name: `${J} job types`, values: grid.N.map((N) => at(J, N, "lagP99")) })),
  })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "bench-scale-writes.svg"), writes)
  fs.writeFileSync(path.join(dir, "bench-scale-lag.svg"), lag)
  console.error(`plots written to ${dir}/bench-scale-writes.svg and ${dir}/bench-scale-lag.svg`)
}

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
