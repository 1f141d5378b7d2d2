/**
 * `npm run bench:scale`: many cron job types on many instances against one store (issue 19: where
 * the store load and the lag come from). Per point (J job types × N instances), every job type fires
 * once a minute at its own second (J/60 per second), for `--seconds` (default 25; the first 12 — a
 * heartbeat and a bit, until every instance knows the others — are not counted). Measured:
 *
 * - firing lag: a run's start minus its slot, p50 / p99;
 * - store operations per slot: conditional writes (claimSlot, acquire) and reads (slotClaim, paused)
 *   per slot run, from a counting wrapper around the store (instances other than a job type's
 *   preferred firer read the slot's claim once, a handoff after the slot); failed store calls, and
 *   of them those cut off at their bound (on Cassandra, LWT contention shows as these);
 * - CPU of the process (all N instances) over the counted window;
 * - runs per slot (must be 1), start-up time, heap and RSS growth per job type and instance (RSS
 *   is noisy, and grows with the statuses the memory store keeps);
 * - one supervisor run after the window: its time and its store calls (at most 1,000 job types);
 * - over HTTP (the first instance's API, in-process): `GET /jobs` with every name, and the
 *   dashboard's overview page (a page of 48 names and their 48 summaries): time and bytes.
 *
 * The grid runs N instances in this one process (memory, SQLite, PostgreSQL). Real-process points
 * (bench/scaleChild.ts, P Node processes on one SQLite file or PostgreSQL schema) come after it,
 * and count a slot run in two processes as 2 runs.
 *
 *   npm run bench:scale -- [--quick] [--seconds 25] [--store memory|sqlite|postgres|cassandra]
 *                          [--jobs J --instances N] [--processes P]
 *
 * Plots (SVG) go to docs/ on the full run, to `--plots <dir>` if given. `--store cassandra` runs the
 * grid on the keyspace of the CASSANDRA_* environment (migrated first: `npm run cassandra:migrate`);
 * PostgreSQL is DATABASE_URL's (default local), a new schema per point.
 *
 * --quick: memory, J ∈ {100, 1,000} × N ∈ {1, 10}. Without: memory J ∈ {100, 1,000, 10,000} × N ∈
 * {1, 3, 10, 30, 100} without the points `skipped` below (one process saturates), SQLite and
 * PostgreSQL J ∈ {100, 1,000} × N ∈ {1, 10}, then the real-process points (`processGrid`).
 */
import { fork } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import type { JobManager } from "../src/core/JobManager.js"
import type { Scheduler } from "../src/core/Scheduler.js"
import * as HaJobs from "../src/HaJobs.js"
import * as HaJobsHttp from "../src/http/HaJobsHttp.js"
import * as Supervisor from "../src/jobs/Supervisor.js"
import * as Stores from "../src/testing/Stores.js"
import {
  type ChildResult,
  counter,
  freshLocation,
  openStore,
  type StoreKind,
  scaleJobs,
  slotFigures,
} from "./scaleParts.js"
import { writePlots } from "./scalePlots.js"
import { ms } from "./stats.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
const quick = process.argv.includes("--quick")
const seconds = Number(arg("--seconds") ?? 25)
// One heartbeat (10 s) and a bit: until then an instance's live set may lack the ones started after it.
const warmupMs = 12_000
const countedMs = Math.max(0, seconds * 1000 - warmupMs)
// 10,000 × 10 cron entries in one process saturate it (43 s to start, 26 s of lag): the figures would
// be the simulation's, not an instance's. Beyond 30,000 entries only J ≤ 1,000 runs (the N = 100 target).
const skipped = (J: number, N: number) => J * N > 30_000 && J > 1_000

const point = (J: number, N: number, kind: StoreKind) =>
  Effect.gen(function* () {
    global.gc?.()
    const before = process.memoryUsage()
    const calls = counter()
    const stores = calls.wrap(yield* openStore(kind, yield* freshLocation(kind)))
    const runTag = `p${J}x${N}-${Date.now().toString(36)}`
    let counting = false
    const lags: Array<number> = []
    const runsPerSlot = new Map<string, number>()
    const jobs = scaleJobs(runTag, J, (jobType, slot) => {
      if (!counting) return
      lags.push(Date.now() - slot)
      runsPerSlot.set(`${jobType}@${slot}`, (runsPerSlot.get(`${jobType}@${slot}`) ?? 0) + 1)
    })
    const scope = yield* Scope.make()
    const started = Date.now()
    let first: Context.Context<JobManager | Scheduler> | undefined
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
    yield* Effect.sleep(Duration.millis(countedMs))
    counting = false
    calls.stop()
    const cpu = process.cpuUsage(cpuBefore)
    const figures = slotFigures(lags, runsPerSlot, calls.of)
    global.gc?.()
    const after = process.memoryUsage()
    // One supervisor tick over the J job types (what the supervisor job runs each minute), with the
    // store calls it makes. The cron runs go on meanwhile, as they would.
    calls.start()
    const tickStarted = Date.now()
    yield* Supervisor.supervise({}).pipe(Effect.provide(first!), Effect.provide(Stores.layer(stores)))
    const supervisorTickMs = Date.now() - tickStarted
    calls.stop()
    const supervisorCalls = calls.total()
    const http = yield* Effect.promise(() => httpFigures(first!, jobs[0]!.type))
    yield* Scope.close(scope, Exit.void)
    return {
      J,
      N,
      kind,
      startupMs,
      ...figures,
      supervisorTickMs,
      supervisorCalls,
      http,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / countedMs) * 100,
      heapKiBPerLoop: (after.heapUsed - before.heapUsed) / 1024 / (J * N),
      rssKiBPerLoop: (after.rss - before.rss) / 1024 / (J * N),
    }
  }).pipe(Effect.scoped)

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "scaleChild.ts")

/**
 * A point as real processes: P Node processes (bench/scaleChild.ts) with N/P instances each, on one
 * SQLite file or PostgreSQL schema, counting the same window of wall-clock time. A slot run in two
 * processes counts 2 in "runs per slot"; writes and reads per slot sum every process's store calls.
 */
const processPoint = (J: number, N: number, P: number, kind: StoreKind) =>
  Effect.gen(function* () {
    const location = yield* freshLocation(kind)
    yield* openStore(kind, location) // creates the tables before the processes start
    const runTag = `q${J}x${N}-${Date.now().toString(36)}`
    const started = Date.now()
    const children = Array.from({ length: P }, (_, p) =>
      fork(
        childScript,
        ["--store", kind, "--location", location, "--tag", runTag, "--jobs", String(J)].concat([
          "--from",
          String(Math.floor((p * N) / P)),
          "--to",
          String(Math.floor(((p + 1) * N) / P)),
        ]),
        { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
      ),
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const c of children) c.kill("SIGKILL")
      }),
    )
    const next = <A>(child: (typeof children)[number]) =>
      new Promise<A>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`a bench:scale child exited (${code})`))
        child.once("exit", onExit)
        child.once("message", (m) => {
          child.off("exit", onExit)
          resolve(m as A)
        })
      })
    yield* Effect.promise(() => Promise.all(children.map((c) => next(c))))
    const startupMs = Date.now() - started
    const from = Date.now() + warmupMs
    const results = yield* Effect.promise(() => {
      const pending = Promise.all(children.map((c) => next<ChildResult>(c)))
      for (const c of children) c.send({ from, until: from + countedMs })
      return pending
    })
    const runs = new Map<string, number>()
    for (const r of results)
      for (const [slot, n] of Object.entries(r.runs)) runs.set(slot, (runs.get(slot) ?? 0) + n)
    const calls = (op: string) => results.reduce((a, r) => a + (r.calls[op] ?? 0), 0)
    return {
      J,
      N,
      P,
      kind,
      startupMs,
      ...slotFigures(
        results.flatMap((r) => r.lags),
        runs,
        calls,
      ),
      cpuPercent: (results.reduce((a, r) => a + r.cpuMs, 0) / countedMs) * 100,
      rssMiBPerProcess: results.reduce((a, r) => a + r.rssBytes, 0) / P / 1024 / 1024,
    }
  }).pipe(Effect.scoped)

/**
 * What a client sees of J job types over HTTP, while the cron runs go on (the first instance's API,
 * called in-process: no network): `GET /jobs` without a limit (every name, as ha-jobs answered),
 * and the dashboard's overview page as it loads it — one page of 48 names, then each shown type's
 * summary (`GET /jobs/:type?limit=1`) at once. Each is taken 3 times; the median time is shown.
 */
const httpFigures = async (jobs: Context.Context<JobManager | Scheduler>, someType: string) => {
  const { handler, dispose } = HaJobsHttp.toWebHandler(Layer.succeedContext(jobs), {})
  const get = async (path: string) => {
    const res = await handler(new Request(`http://bench${path}`))
    const body = await res.text()
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 200)}`)
    return body
  }
  const timed = async (run: () => Promise<number>) => {
    const times: Array<number> = []
    let bytes = 0
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      bytes = await run()
      times.push(performance.now() - t0)
    }
    return { ms: times.sort((a, b) => a - b)[1]!, bytes }
  }
  try {
    await get(`/jobs/${encodeURIComponent(someType)}?limit=1`) // the first request builds the app
    const all = await timed(async () => (await get("/jobs")).length)
    const overview = await timed(async () => {
      const page = await get("/jobs?limit=48")
      const types = (JSON.parse(page) as { jobTypes: ReadonlyArray<string> }).jobTypes
      const summaries = await Promise.all(types.map((t) => get(`/jobs/${encodeURIComponent(t)}?limit=1`)))
      return page.length + summaries.reduce((a, b) => a + b.length, 0)
    })
    return { all, overview }
  } finally {
    await dispose()
  }
}

const stores: ReadonlyArray<StoreKind> = arg("--store")
  ? [arg("--store") as StoreKind]
  : quick
    ? ["memory"]
    : ["memory", "sqlite", "postgres"]
/** SQLite's and PostgreSQL's points: one file / one database; a slot's writes are its transactions. */
const sqliteGrid = { J: [100, 1_000], N: [1, 10] }

const grid = {
  J: arg("--jobs") ? [Number(arg("--jobs"))] : quick ? [100, 1_000] : [100, 1_000, 10_000],
  N: arg("--instances") ? [Number(arg("--instances"))] : quick ? [1, 10] : [1, 3, 10, 30, 100],
}

/**
 * Real-process points (store, J, N, processes): every instance in a process of its own where the
 * machine allows, on the stores several processes share. `--processes P` runs only the points of
 * `--store`, `--jobs` and `--instances` that way.
 */
const processGrid: ReadonlyArray<readonly [StoreKind, number, number, number]> = arg("--processes")
  ? [[(arg("--store") ?? "postgres") as StoreKind, grid.J[0]!, grid.N[0]!, Number(arg("--processes"))]]
  : quick || arg("--store")
    ? []
    : [
        ["sqlite", 1_000, 10, 10],
        ["postgres", 1_000, 10, 10],
        // 3 instances a process: 10 Node processes and the server share 2 cores (100 instances in 10
        // processes ran out of memory: 2.4 GB each, saturated).
        ["postgres", 1_000, 30, 10],
      ]

const processTable = Effect.gen(function* () {
  const rows = [
    "| store | job types × instances | processes | start-up (all) | slots run | lag p50 / p99 (ms) | conditional writes per slot | of them claims | reads per slot | failed store calls (timeouts) | runs per slot (max, across processes) | CPU (all processes, % of one core) | RSS per process |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  for (const [kind, J, N, P] of processGrid) {
    const outcome = yield* Effect.either(Effect.catchAllDefect(processPoint(J, N, P, kind), Effect.fail))
    if (outcome._tag === "Left") {
      rows.push(`| ${kind} | ${J} × ${N} | ${P} | failed: ${String(outcome.left).slice(0, 200)} |`)
      continue
    }
    const r = outcome.right
    const line = `| ${kind} | ${J} × ${N} | ${P} | ${r.startupMs} ms | ${r.slots} | ${ms(r.lagP50)} / ${ms(r.lagP99)} | ${r.conditionalPerSlot.toFixed(2)} | ${r.claimsPerSlot.toFixed(2)} | ${r.readsPerSlot.toFixed(2)} | ${r.storeErrors} (${r.storeTimeouts}) | ${r.maxRunsPerSlot} | ${r.cpuPercent.toFixed(0)} % | ${r.rssMiBPerProcess.toFixed(0)} MiB |`
    rows.push(line)
    console.error(line)
  }
  return rows
})

const main = Effect.gen(function* () {
  if (arg("--processes")) return console.log((yield* processTable).join("\n"))
  const rows: Array<string> = [
    "| store | job types × instances | start-up | slots run | lag p50 / p99 (ms) | conditional writes per slot | of them claims | reads per slot | failed store calls (timeouts) | runs per slot (max) | CPU (one process, all instances) | heap / RSS growth per job type and instance | supervisor tick (store calls) | GET /jobs, all names | overview (a page + 48 summaries) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  const results = new Map<string, Effect.Effect.Success<ReturnType<typeof point>>>()
  for (const kind of stores)
    for (const J of (kind === "memory" || arg("--store") ? grid : sqliteGrid).J)
      for (const N of (kind === "memory" || arg("--store") ? grid : sqliteGrid).N) {
        if (skipped(J, N)) {
          rows.push(
            `| ${kind} | ${J} × ${N} | not run: ${J * N} cron entries in one process (it saturates) | | | | | | | | | | | | | |`,
          )
          continue
        }
        const r = yield* point(J, N, kind)
        if (kind === "memory") results.set(`${J}x${N}`, r)
        const line = `| ${kind} | ${J} × ${N} | ${r.startupMs} ms | ${r.slots} | ${ms(r.lagP50)} / ${ms(r.lagP99)} | ${r.conditionalPerSlot.toFixed(2)} | ${r.claimsPerSlot.toFixed(2)} | ${r.readsPerSlot.toFixed(2)} | ${r.storeErrors} (${r.storeTimeouts}) | ${r.maxRunsPerSlot} | ${r.cpuPercent.toFixed(0)} % | ${r.heapKiBPerLoop.toFixed(1)} / ${r.rssKiBPerLoop.toFixed(0)} KiB | ${r.supervisorTickMs} ms (${r.supervisorCalls}) | ${size(r.http.all)} | ${size(r.http.overview)} |`
        rows.push(line)
        console.error(line)
      }
  const plots = arg("--plots") ?? (quick ? undefined : "docs")
  if (plots !== undefined) writePlots(plots, results, grid)
  if (processGrid.length > 0) rows.push("", ...(yield* processTable))
  console.log(rows.join("\n"))
})

const size = (f: { readonly ms: number; readonly bytes: number }) =>
  `${f.ms.toFixed(0)} ms, ${f.bytes < 10_240 ? `${f.bytes} B` : `${(f.bytes / 1024).toFixed(0)} KiB`}`

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
