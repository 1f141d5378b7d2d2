/**
 * A flood of /events connections against a service whose continuous job renews its lease every
 * second: does the process stay responsive? The service runs in its own process (this file, with
 * EVENTS_FLOOD_SERVER set), so the client's work does not count against its event loop. Measured:
 * lease renewal intervals ÷ nominal (a wrapped LockRepository records each renewal), lease losses
 * (acquisitions after the first), /health response times, the event loop's longest delay
 * (perf_hooks monitorEventLoopDelay) and the resident memory, at rest and during the flood, with the
 * default cap on streams and with one that admits every connection.
 *
 *   npx tsx bench/eventsFlood.ts [--connections 5000] [--seconds 15]
 *
 * 127.0.0.1 only; at most `--connections` attempts, at most 500 awaiting their answer at once, and
 * the flood lasts at most `--seconds` after the last attempt (60 s in all at most).
 */
import * as http from "node:http"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { DefaultMaxEventStreams } from "../src/http/Settings.js"
import { HaJobs, HaJobsHttp, Job, MemoryStore } from "../src/index.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { ms, percentile, ratio, type Section, serveForBench, sleep, startDriven } from "./stats.js"

const RENEW_MS = 1_000
const JobType = "flood-continuous"
const InFlight = 500
const MaxFloodMs = 60_000

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

interface Report {
  readonly renewals: ReadonlyArray<number>
  readonly acquisitions: number
  readonly eventLoopMaxMs: number
  readonly eventLoopP99Ms: number
  readonly rssMb: number
}

/** The service: memory store, one continuous job, the HTTP app; answers "mark" and "report" on stdin. */
const serve = async () => {
  const maxEventStreams = Number(process.env.EVENTS_FLOOD_MAX_STREAMS)
  let renewals: Array<number> = []
  let acquisitions = 0
  const stores = Effect.runSync(MemoryStore.make)
  const locks = LockRepository.of({
    ...stores.lockRepository,
    acquire: (request) =>
      Effect.tap(stores.lockRepository.acquire(request), (r) =>
        Effect.sync(() => {
          // Only the job's lock: /health may probe the store with a lock of its own.
          if (r._tag === "Acquired" && request.lockType === JobType) acquisitions++
        }),
      ),
    renew: (key, ttl) =>
      Effect.tap(stores.lockRepository.renew(key, ttl), () => Effect.sync(() => renewals.push(Date.now()))),
  })
  const continuous = Job.make({
    type: JobType,
    lease: { ttl: `${3 * RENEW_MS} millis`, renewEvery: `${RENEW_MS} millis` },
    continuous: true,
    run: Effect.never,
  })
  const service = HaJobs.layer([continuous], { supervisor: false, instance: "flood" }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(LockRepository, locks),
        Layer.succeed(StatusRepository, stores.statusRepository),
      ),
    ),
  )
  const app = HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1", maxEventStreams }).pipe(
    Layer.provideMerge(service),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  )
  const { port, loop, close } = await serveForBench(app)
  const reply = (what: string, value: unknown) =>
    process.stdout.write(`FLOOD ${what} ${JSON.stringify(value)}\n`)
  reply("listening", port)
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === "mark") {
      renewals = []
      loop.reset()
      reply("marked", acquisitions)
    } else if (line === "report") {
      const report: Report = {
        renewals,
        acquisitions,
        eventLoopMaxMs: loop.max / 1e6,
        eventLoopP99Ms: loop.percentile(99) / 1e6,
        rssMb: process.memoryUsage().rss / 2 ** 20,
      }
      reply("report", report)
    }
  }
  await close()
  process.exit(0)
}

/** The service's process, driven through its stdin; its answers are the "FLOOD <what> <json>" lines. */
const startService = (maxEventStreams: number) =>
  startDriven(fileURLToPath(import.meta.url), "FLOOD", {
    EVENTS_FLOOD_SERVER: "1",
    EVENTS_FLOOD_MAX_STREAMS: String(maxEventStreams),
  })

/** One GET on its own connection: the status (0 on error) and the time to the response's head. */
const get = (port: number, path: string, sockets?: Set<http.ClientRequest>) =>
  new Promise<{ status: number; ms: number }>((resolve) => {
    const t0 = performance.now()
    const req = http.get({ host: "127.0.0.1", port, path, agent: false, timeout: 30_000 }, (res) => {
      const done = { status: res.statusCode ?? 0, ms: performance.now() - t0 }
      res.on("error", () => undefined)
      // A stream stays open, being read; anything else is drained and closes.
      res.resume()
      if (done.status !== 200 || !sockets) sockets?.delete(req)
      resolve(done)
    })
    sockets?.add(req)
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", () => {
      sockets?.delete(req)
      resolve({ status: 0, ms: performance.now() - t0 })
    })
  })

interface Phase {
  readonly label: string
  readonly attempts: number
  readonly answered: Record<string, number>
  readonly health: ReadonlyArray<number>
  readonly healthFailed: number
  readonly report: Report
  readonly lostLeases: number
}

/** Renewal intervals of one window, ÷ nominal. */
const intervals = (renewals: ReadonlyArray<number>) =>
  renewals.slice(1).map((t, i) => (t - renewals[i]!) / RENEW_MS)

const measure = async (maxEventStreams: number, connections: number, holdMs: number) => {
  const { child, port, ask } = await startService(maxEventStreams)
  const phases: Array<Phase> = []
  const open = new Set<http.ClientRequest>()
  try {
    // Let the continuous job start and renew a few times.
    await sleep(3 * RENEW_MS + 500)
    const phase = async (label: string, flood: boolean) => {
      const before = await ask<number>("mark", "marked")
      const health: Array<number> = []
      let healthFailed = 0
      let running = true
      const prober = (async () => {
        while (running) {
          const r = await get(port, "/health")
          if (r.status === 200) health.push(r.ms)
          else healthFailed++
          await sleep(250)
        }
      })()
      const answered: Record<string, number> = {}
      const started = Date.now()
      let attempts = 0
      if (flood) {
        const inFlight = new Set<Promise<void>>()
        while (attempts < connections && Date.now() - started < MaxFloodMs) {
          attempts++
          const p: Promise<void> = get(port, "/events", open).then((r) => {
            const key = r.status === 0 ? "error" : String(r.status)
            answered[key] = (answered[key] ?? 0) + 1
            inFlight.delete(p)
          })
          inFlight.add(p)
          if (inFlight.size >= InFlight) await Promise.race(inFlight)
        }
        await Promise.race([Promise.all(inFlight), sleep(Math.max(0, MaxFloodMs - (Date.now() - started)))])
      }
      await sleep(holdMs)
      running = false
      await prober
      const report = await ask<Report>("report", "report")
      phases.push({
        label,
        attempts,
        answered,
        health,
        healthFailed,
        report,
        lostLeases: report.acquisitions - before,
      })
      for (const req of open) req.destroy()
      open.clear()
    }
    await phase("at rest", false)
    await phase(`${connections} connections`, true)
  } finally {
    for (const req of open) req.destroy()
    child.kill("SIGKILL")
  }
  return phases
}

export const run = async (): Promise<Section> => {
  const connections = arg("connections", 5_000)
  const holdMs = arg("seconds", 15) * 1_000
  const rows: Array<string> = []
  for (const cap of [DefaultMaxEventStreams, connections]) {
    for (const p of await measure(cap, connections, holdMs)) {
      const r = intervals(p.report.renewals)
      const answered = Object.entries(p.answered)
        .sort()
        .map(([k, n]) => `${n} × ${k}`)
        .join(", ")
      rows.push(
        `| ${cap} | ${p.label} | ${answered || "—"} | ${ratio(percentile(r, 50))} / ${ratio(percentile(r, 99))} / ${ratio(Math.max(...r))} | ${p.lostLeases} | ${ms(percentile(p.health, 50))} / ${ms(percentile(p.health, 99))} / ${ms(Math.max(...p.health))}${p.healthFailed ? ` (${p.healthFailed} failed)` : ""} | ${ms(p.report.eventLoopMaxMs)} | ${p.report.rssMb.toFixed(0)} |`,
      )
    }
  }
  return {
    title: `/events flood: ${connections} connections against a renewing lease (memory store)`,
    command: `npx tsx bench/eventsFlood.ts --connections ${connections} --seconds ${holdMs / 1000}`,
    body: [
      `The service runs in its own process: one continuous job (lease ${3 * RENEW_MS} ms, renewed every ${RENEW_MS} ms),`,
      `the HTTP app on 127.0.0.1. The client opens ${connections} GET /events connections (${InFlight} awaiting`,
      `their answer at once), keeps the admitted streams open and read for ${holdMs / 1000} s, and asks /health every 250 ms`,
      "throughout. Renewal interval ÷ nominal (1.00 = on time); lease losses = acquisitions during the window",
      "(the continuous job restarting); event loop: longest delay seen by monitorEventLoopDelay; RSS at the",
      `window's end. Cap ${DefaultMaxEventStreams} is the default maxEventStreams; cap ${connections} admits every connection.`,
      "",
      "| cap | window | answers | renewal p50 / p99 / max ÷ nominal | lease losses | /health p50 / p99 / max (ms) | event loop max (ms) | RSS (MiB) |",
      "|---:|---|---|---|---:|---|---:|---:|",
      ...rows,
    ].join("\n"),
  }
}

if (process.env.EVENTS_FLOOD_SERVER) await serve()
else if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
