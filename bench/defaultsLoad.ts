/**
 * False lease losses at the library's defaults (issue 21): a service process at its defaults (lease
 * 15 s renewed every 5 s, supervisor every 15 s, heartbeat on) holds a continuous job while a load
 * runs against it; a lease lost under load is a *false* loss, since the holder is alive. Loads, each
 * on a fresh service:
 * - http: GET of one status by autocannon (10 connections) for --seconds;
 * - events: 5,000 GET /events connections against the default cap (100), held --seconds;
 * - types: 5,000 cron job types on this one instance, all firing every 10 s, for --seconds.
 * Counted: lease losses (the library's ha_jobs_lease_losses_total, from /metrics), the continuous
 * job's restarts (acquisitions of its lock after the first, seen by a wrapped store), its renewal
 * intervals ÷ nominal, the event loop's longest delay.
 *
 *   npx tsx bench/defaultsLoad.ts [--seconds 30] [--stores memory,sqlite] [--loads http,events,types]
 *
 * Shown able to fail (the last rows): the same burst with Effect's own scheduler for the cron
 * fibers instead of the library's FairScheduler, at the default lease and at a 5 s one.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { Context, Duration, Effect, Layer, Logger, LogLevel, Scheduler } from "effect"
import { DefaultLeaseTtl } from "../src/domain/LeaseTiming.js"
import { HaJobs, HaJobsHttp, Job, MemoryStore, SqliteStore } from "../src/index.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { ms, percentile, ratio, type Section, serveForBench, sleep, startDriven } from "./stats.js"

const Continuous = "load-continuous"
const CronTypes = 5_000
const Connections = 5_000
type Load = "http" | "events" | "types"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]!
}

interface Report {
  readonly renewals: ReadonlyArray<number>
  readonly acquisitions: number
  readonly eventLoopMaxMs: number
}

/** The service (DEFAULTS_LOAD_SERVER set): answers "report" on stdin with a FLOOD-style line. */
const serve = async () => {
  const leaseMs = Number(process.env.DEFAULTS_LOAD_LEASE_MS)
  const types = Number(process.env.DEFAULTS_LOAD_TYPES)
  const file = process.env.DEFAULTS_LOAD_SQLITE
  const renewals: Array<number> = []
  let acquisitions = 0
  // The continuous job's lock seen from the store's side, independent of the library's own metric.
  const Observed = Layer.effectContext(
    Effect.gen(function* () {
      const locks = yield* LockRepository
      const wrapped = LockRepository.of({
        ...locks,
        acquire: (request) =>
          Effect.tap(locks.acquire(request), (r) =>
            Effect.sync(() => {
              if (r._tag === "Acquired" && request.lockType === Continuous) acquisitions++
            }),
          ),
        renew: (key, ttl) =>
          key.lockType !== Continuous
            ? locks.renew(key, ttl)
            : Effect.tap(locks.renew(key, ttl), () => Effect.sync(() => renewals.push(Date.now()))),
      })
      return Context.make(LockRepository, wrapped).pipe(
        Context.add(StatusRepository, yield* StatusRepository),
      )
    }),
  ).pipe(Layer.provide(file ? SqliteStore.layer({ filename: file }) : MemoryStore.layer))
  const jobs = [
    Job.make({
      type: Continuous,
      ...(leaseMs > 0 ? { lease: { ttl: `${leaseMs} millis` as const } } : {}),
      continuous: true,
      run: Effect.never,
    }),
    ...Array.from({ length: types }, (_, i) =>
      Job.make({ type: `load.t${i}`, cron: "*/10 * * * * ?", retries: 0, run: Effect.void }),
    ),
  ]
  const app = HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1" }).pipe(
    Layer.provideMerge(
      HaJobs.layer(jobs, {
        instance: "load",
        // --effect-scheduler default: Effect's own scheduler for the cron fibers (FairScheduler.ts).
        ...(process.env.DEFAULTS_LOAD_EFFECT_SCHEDULER === "default"
          ? { scheduler: { effectScheduler: Scheduler.defaultScheduler } }
          : {}),
      }),
    ),
    Layer.provide(Observed),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
  )
  const { port, loop } = await serveForBench(app)
  const reply = (what: string, value: unknown) =>
    process.stdout.write(`LOAD ${what} ${JSON.stringify(value)}\n`)
  reply("listening", port)
  for await (const line of readline.createInterface({ input: process.stdin }))
    if (line === "mark") {
      renewals.length = 0
      loop.reset()
      reply("marked", acquisitions)
    } else if (line === "report")
      reply("report", { renewals, acquisitions, eventLoopMaxMs: loop.max / 1e6 } satisfies Report)
}

/** The service's process; `ask` writes a command and waits for its "LOAD <what> <json>" answer. */
const start = (env: Record<string, string>) =>
  startDriven(
    fileURLToPath(import.meta.url),
    "LOAD",
    { ...env, DEFAULTS_LOAD_SERVER: "1" },
    { listenMs: 180_000, answerMs: 120_000 },
  )

/** The sum of the library's lease-loss counter over its labels, from the service's /metrics. */
const leaseLosses = async (port: number) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return text
    .split("\n")
    .filter((l) => l.startsWith("ha_jobs_lease_losses_total"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0)
}

/** Opens `n` GET /events connections (at most 500 awaiting their answer) and keeps them open. */
const flood = async (port: number, n: number, open: Set<http.ClientRequest>) => {
  const answered: Record<string, number> = {}
  const inFlight = new Set<Promise<void>>()
  for (let i = 0; i < n; i++) {
    const p = new Promise<void>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/events", agent: false }, (res) => {
        const key = String(res.statusCode)
        answered[key] = (answered[key] ?? 0) + 1
        res.on("error", () => undefined)
        res.resume()
        resolve()
      })
      req.on("error", () => {
        answered.error = (answered.error ?? 0) + 1
        resolve()
      })
      open.add(req)
    }).then(() => void inFlight.delete(p))
    inFlight.add(p)
    if (inFlight.size >= 500) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  return answered
}

/** One measured service: a load on a store, at the default lease and scheduler unless overridden. */
interface Case {
  readonly load: Load
  readonly store: "memory" | "sqlite"
  /** 0: the library's default lease. */
  readonly leaseMs: number
  /** Effect's own scheduler for the cron fibers instead of the library's FairScheduler. */
  readonly effectDefault: boolean
}

interface Row extends Case {
  readonly detail: string
  readonly losses: number
  readonly restarts: number
  readonly intervals: ReadonlyArray<number>
  readonly eventLoopMaxMs: number
}

const measure = async (c: Case, seconds: number): Promise<Row> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-bench-load-"))
  const { child, port, ask } = await start({
    DEFAULTS_LOAD_LEASE_MS: String(c.leaseMs),
    DEFAULTS_LOAD_TYPES: String(c.load === "types" ? CronTypes : 0),
    ...(c.store === "sqlite" ? { DEFAULTS_LOAD_SQLITE: path.join(dir, "load.db") } : {}),
    ...(c.effectDefault ? { DEFAULTS_LOAD_EFFECT_SCHEDULER: "default" } : {}),
  })
  const open = new Set<http.ClientRequest>()
  try {
    const nominal = c.leaseMs > 0 ? c.leaseMs : Duration.toMillis(DefaultLeaseTtl)
    // The continuous job starts and renews at least once before the load.
    await sleep(nominal / 3 + 2_000)
    const first = await ask<number>("mark", "marked")
    const lossesBefore = await leaseLosses(port)
    let detail = ""
    if (c.load === "http") {
      const statusUrl = `http://127.0.0.1:${port}/jobs/${Continuous}`
      const r = await autocannon({ url: statusUrl, connections: 10, duration: seconds })
      detail = `${r.requests.total} requests, ${ms(r.latency.p99)} ms p99, ${r.errors + r.non2xx} errors`
    } else if (c.load === "events") {
      const answered = await flood(port, Connections, open)
      await sleep(seconds * 1_000)
      detail = Object.entries(answered)
        .map(([k, n]) => `${n} × ${k}`)
        .join(", ")
    } else {
      await sleep(seconds * 1_000)
      detail = `${Math.floor(seconds / 10)} bursts of ${CronTypes} slots`
    }
    const report = await ask<Report>("report", "report")
    const renewEvery = nominal / 3
    return {
      ...c,
      detail,
      losses: (await leaseLosses(port)) - lossesBefore,
      restarts: report.acquisitions - first,
      intervals: report.renewals.slice(1).map((t, i) => (t - report.renewals[i]!) / renewEvery),
      eventLoopMaxMs: report.eventLoopMaxMs,
    }
  } finally {
    for (const req of open) req.destroy()
    child.kill("SIGKILL")
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const loadName = (load: Load) =>
  load === "http"
    ? "HTTP GET one status, 10 connections"
    : load === "events"
      ? `${Connections} /events connections, default cap`
      : `${CronTypes} cron job types, all every 10 s`

export const run = async (): Promise<Section> => {
  const seconds = Number(arg("seconds", "30"))
  const stores = arg("stores", "memory,sqlite").split(",") as Array<Case["store"]>
  const loads = arg("loads", "http,events,types").split(",") as Array<Load>
  // Shown able to fail: the burst with Effect's own scheduler, at the default lease and at a 5 s one
  // (whose local deadline, 4.5 s after a renewal, is shorter than the stall that scheduler allows).
  const sabotageLeaseMs = Number(arg("sabotage-lease-ms", "5000"))
  const cases: Array<Case> = [
    ...stores.flatMap((store) => loads.map((load) => ({ load, store, leaseMs: 0, effectDefault: false }))),
    ...(loads.includes("types")
      ? [
          { load: "types" as const, store: "memory" as const, leaseMs: 0, effectDefault: true },
          { load: "types" as const, store: "memory" as const, leaseMs: sabotageLeaseMs, effectDefault: true },
          {
            load: "types" as const,
            store: "memory" as const,
            leaseMs: sabotageLeaseMs,
            effectDefault: false,
          },
        ]
      : []),
  ]
  const rows: Array<Row> = []
  for (const c of cases) rows.push(await measure(c, seconds))
  const defaultLease = `${Duration.toMillis(DefaultLeaseTtl) / 1000} s`
  return {
    title: "False lease losses under load at the defaults",
    command: `npx tsx bench/defaultsLoad.ts --seconds ${seconds}`,
    body: [
      `One service process at the library's defaults (supervisor, heartbeat, HTTP API) holds a continuous job (lease`,
      `${defaultLease}, renewed every third of it) while a load runs for ${seconds} s; each row is a fresh process. Any loss`,
      "is false: the holder is alive. Losses: `ha_jobs_lease_losses_total` from its /metrics; restarts: acquisitions",
      "of the job's lock seen by the store after the first; renewal intervals ÷ nominal (1.00 = on time); the",
      "event loop's longest delay (monitorEventLoopDelay).",
      "",
      "The last rows break it on purpose: Effect's own scheduler for the cron fibers instead of the library's",
      "FairScheduler (src/core/FairScheduler.ts), once at the default lease and once with a 5 s lease, whose",
      "deadline 4.5 s after a renewal is shorter than the stall; then the 5 s lease as shipped.",
      "",
      "| store | load | lease | scheduler | what ran | lease losses | restarts | renewal p50 / max ÷ nominal | event loop max (ms) |",
      "|---|---|---|---|---|---:|---:|---|---:|",
      ...rows.map(
        (r) =>
          `| ${r.store} | ${loadName(r.load)} | ${r.leaseMs > 0 ? `${r.leaseMs / 1000} s` : `${defaultLease} (default)`} | ${r.effectDefault ? "Effect's default (sabotage)" : "fair (default)"} | ${r.detail} | ${r.losses} | ${r.restarts} | ${ratio(percentile(r.intervals, 50))} / ${ratio(Math.max(...r.intervals))} | ${ms(r.eventLoopMaxMs)} |`,
      ),
    ].join("\n"),
  }
}

if (process.env.DEFAULTS_LOAD_SERVER) {
  await serve()
  process.exit(0) // stdin closed: the driver is gone
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
