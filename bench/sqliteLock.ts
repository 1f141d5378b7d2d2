/**
 * Another process holding the SQLite file's write lock: does the service stay responsive, and does
 * its lease behave? better-sqlite3 is synchronous, so a statement waiting for the lock inside SQLite
 * (PRAGMA busy_timeout) blocks the whole event loop. As shipped, a statement waits at most
 * `statementWait` (10 ms) there and the rest of `busyTimeout` (5 s) is retried by Effect's scheduler;
 * the baseline sets statementWait = busyTimeout = 5 s, the old in-statement wait.
 *
 * The service runs in its own process (this file, with SQLITE_LOCK_SERVER set): SqliteLayer on a
 * fresh file, one continuous job (lease 3 s, renewed every second), the HTTP app on 127.0.0.1. A
 * wrapped LockRepository records each renewal attempt (start, duration, outcome) and each
 * acquisition; the job records when it starts and when it is interrupted; monitorEventLoopDelay
 * measures the event loop. A third process (better-sqlite3, driven through its stdin) takes and
 * frees the write lock (`BEGIN EXCLUSIVE` / `ROLLBACK`). Phases: at rest; bursts (held `--hold-ms`,
 * free `--free-ms`, for `--burst-seconds`); held past the lease (8 s), then freed until the job has
 * restarted. The client asks GET /health every 250 ms throughout.
 *
 *   npx tsx bench/sqliteLock.ts [--rest-seconds 10] [--burst-seconds 20] [--hold-ms 1500] [--free-ms 1500]
 *     [--dump raw.json]   (the raw measurements: renewals, acquisitions, job starts/stops, stalls, /health probes)
 *
 * A burst must stay under ttl − margin − renewEvery (1.7 s) for the lease to survive whatever the
 * phase of the renewals: the last renewal confirmed before the lock is taken may have been sent up to
 * renewEvery earlier, the local deadline is that send + ttl − margin, and no renewal is confirmed
 * before the lock is freed. With --hold-ms 2000 the lease is (correctly) lost in most bursts.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { Cause, Context, Effect, Exit, Layer, Logger, LogLevel } from "effect"
import { HaJobs, HaJobsHttp, Job, SqliteLayer } from "../src/index.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { ms, percentile, ratio, type Section, serveForBench, sleep, waitFor } from "./stats.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const TTL_MS = 3_000
const RENEW_MS = 1_000
/** The default margin, ttl / 10. */
const MARGIN_MS = TTL_MS / 10
const LONG_HOLD_MS = 8_000
const HEALTH_EVERY_MS = 250
/** After the long hold: how long to wait for the job to restart, at most. */
const RESTART_WAIT_MS = 20_000
const JobType = "sqlite-lock-continuous"
/** The old in-statement wait: statementWait = busyTimeout (its default, 5 s), in ms. */
const BaselineWaitMs = 5_000

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

interface Renewal {
  readonly at: number
  readonly token: number
  ms: number
  /** renewed / lost / cancel-requested / error / interrupted (by the keeper's deadline) / pending */
  outcome: string
}
interface Acquisition {
  readonly at: number
  readonly token: number
}
interface Report {
  readonly renewals: ReadonlyArray<Renewal>
  readonly acquisitions: ReadonlyArray<Acquisition>
  readonly jobStarts: ReadonlyArray<number>
  readonly jobStops: ReadonlyArray<number>
  /** Event loop stalls over 50 ms: when they started and how long they lasted. */
  readonly stalls: ReadonlyArray<{ readonly at: number; readonly ms: number }>
  readonly eventLoopMaxMs: number
  readonly eventLoopP99Ms: number
}

/** The service: SQLite store, one continuous job, the HTTP app; answers "mark" and "report" on stdin. */
const serve = async () => {
  const filename = process.env.SQLITE_LOCK_FILE!
  // Milliseconds; unset: the default.
  const statementWait = process.env.SQLITE_LOCK_STATEMENT_WAIT
    ? Number(process.env.SQLITE_LOCK_STATEMENT_WAIT)
    : undefined
  const renewals: Array<Renewal> = []
  const acquisitions: Array<Acquisition> = []
  const jobStarts: Array<number> = []
  const jobStops: Array<number> = []
  const stalls: Array<{ at: number; ms: number }> = []
  const wrap = (inner: LockRepository["Type"]) =>
    LockRepository.of({
      ...inner,
      acquire: (request) =>
        Effect.tap(inner.acquire(request), (r) =>
          Effect.sync(() => {
            // Only the job's lock: /health probes the store with a lock of its own.
            if (r._tag === "Acquired" && request.lockType === JobType)
              acquisitions.push({ at: Date.now(), token: r.token })
          }),
        ),
      renew: (key, ttl) =>
        Effect.suspend(() => {
          const renewal: Renewal = { at: Date.now(), token: key.token, ms: 0, outcome: "pending" }
          renewals.push(renewal)
          return inner.renew(key, ttl).pipe(
            Effect.onExit((exit) =>
              Effect.sync(() => {
                renewal.ms = Date.now() - renewal.at
                renewal.outcome = Exit.isSuccess(exit)
                  ? exit.value
                  : Cause.isInterruptedOnly(exit.cause)
                    ? "interrupted"
                    : "error"
              }),
            ),
          )
        }),
    })
  const continuous = Job.make({
    type: JobType,
    lease: { ttl: `${TTL_MS} millis`, renewEvery: `${RENEW_MS} millis` },
    continuous: true,
    run: Effect.sync(() => jobStarts.push(Date.now())).pipe(
      Effect.zipRight(Effect.never),
      Effect.onInterrupt(() => Effect.sync(() => jobStops.push(Date.now()))),
    ),
  })
  // The store's own context (StoreName included), with the lock port wrapped.
  const store = Layer.map(SqliteLayer.layer({ filename, statementWait }), (context) =>
    Context.add(context, LockRepository, wrap(Context.get(context, LockRepository))),
  )
  const service = HaJobs.layer([continuous], { supervisor: false, instance: "sqlite-lock" }).pipe(
    Layer.provide(store),
  )
  const app = HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1" }).pipe(
    Layer.provideMerge(service),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
  )
  const { port, loop, close } = await serveForBench(app)
  // When the long stalls happened (the histogram has only their lengths).
  let tick = Date.now()
  setInterval(() => {
    const now = Date.now()
    if (now - tick > 60) stalls.push({ at: tick, ms: now - tick - 10 })
    tick = now
  }, 10)
  const reply = (what: string, value: unknown) =>
    process.stdout.write(`SQLITE_LOCK ${what} ${JSON.stringify(value)}\n`)
  reply("listening", port)
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === "mark") {
      loop.reset()
      reply("marked", Date.now())
    } else if (line === "report") {
      const report: Report = {
        renewals,
        acquisitions,
        jobStarts,
        jobStops,
        stalls,
        eventLoopMaxMs: loop.max / 1e6,
        eventLoopP99Ms: loop.percentile(99) / 1e6,
      }
      reply("report", report)
    }
  }
  await close()
  process.exit(0)
}

/** Every child this process started, killed on the way out whatever happens. */
const children = new Set<ChildProcess>()
const kill = async (child: ChildProcess) => {
  children.delete(child)
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGKILL")
  await Promise.race([exited, sleep(5_000)])
}

/** A child driven through its stdin; its answers are the "<prefix> <what> <json>" lines on stdout. */
const driven = (child: ChildProcess, prefix: string) => {
  children.add(child)
  const answers = new Map<string, Array<unknown>>()
  let output = ""
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const m = new RegExp(`^${prefix} (\\w+) (.*)$`).exec(line)
    if (m) answers.set(m[1]!, [...(answers.get(m[1]!) ?? []), JSON.parse(m[2]!)])
    else output = `${output}${line}\n`.slice(-5_000)
  })
  child.stderr?.on("data", (d) => {
    output = (output + d).slice(-5_000)
  })
  child.on("exit", (code, signal) => {
    output = `${output}(exited: ${code ?? signal})\n`
  })
  const ask = async <A>(command: string, what: string, timeoutMs = 60_000): Promise<A> => {
    const seen = answers.get(what)?.length ?? 0
    child.stdin!.write(`${command}\n`)
    return waitFor(
      `${prefix}'s "${what}" (${output})`,
      () => {
        const all = answers.get(what)
        return all && all.length > seen ? (all.at(-1) as A) : undefined
      },
      timeoutMs,
    )
  }
  const first = <A>(what: string) =>
    waitFor(`${prefix}'s "${what}" (${output})`, () => answers.get(what)?.[0] as A | undefined, 60_000)
  return { ask, first }
}

const startService = async (file: string, statementWaitMs: number | undefined) => {
  // As spawnTsx does, but with stdin to drive it.
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    cwd: root,
    env: {
      ...process.env,
      SQLITE_LOCK_SERVER: "1",
      SQLITE_LOCK_FILE: file,
      SQLITE_LOCK_STATEMENT_WAIT: statementWaitMs === undefined ? "" : String(statementWaitMs),
    },
    stdio: ["pipe", "pipe", "pipe"],
  })
  const { ask, first } = driven(child, "SQLITE_LOCK")
  const port = await first<number>("listening")
  return { child, port, ask }
}

/**
 * A second real process that takes the file's write lock on "lock" (`BEGIN EXCLUSIVE`) and frees it
 * on "free"; each answer carries the time it happened. Exits when its stdin closes.
 */
const startHolder = (file: string) => {
  const script = `
    const db = new (require("better-sqlite3"))(process.argv[1]);
    const say = (what) => process.stdout.write("HOLDER " + what + " " + Date.now() + "\\n");
    require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
      if (line === "lock") { db.exec("BEGIN EXCLUSIVE"); say("locked"); }
      else if (line === "free") { db.exec("ROLLBACK"); say("freed"); }
    });`
  const child = spawn(process.execPath, ["-e", script, file], { cwd: root, stdio: ["pipe", "pipe", "pipe"] })
  const { ask } = driven(child, "HOLDER")
  return {
    child,
    lock: () => ask<number>("lock", "locked", 10_000),
    free: () => ask<number>("free", "freed", 10_000),
  }
}

interface Probe {
  readonly sent: number
  readonly done: number
  readonly status: number
}

/** One GET /health on its own connection: the status (0 on error) and when it was sent and answered. */
const health = (port: number) =>
  new Promise<Probe>((resolve) => {
    const sent = Date.now()
    const req = http.get(
      { host: "127.0.0.1", port, path: "/health", agent: false, timeout: 30_000 },
      (res) => {
        res.resume()
        res.on("error", () => undefined)
        resolve({ sent, done: Date.now(), status: res.statusCode ?? 0 })
      },
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve({ sent, done: Date.now(), status: 0 }))
  })

interface Phase {
  readonly label: string
  readonly start: number
  readonly end: number
  /** When the lock was taken and freed during the phase. */
  readonly held: ReadonlyArray<{ readonly taken: number; readonly freed: number }>
  readonly eventLoopMaxMs: number
  readonly eventLoopP99Ms: number
}

const measure = async (statementWaitMs: number | undefined, opts: Options) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-sqlite-lock-"))
  const file = path.join(dir, "bench.db")
  const probes: Array<Probe> = []
  const phases: Array<Phase> = []
  let service: Awaited<ReturnType<typeof startService>> | undefined
  let holder: ReturnType<typeof startHolder> | undefined
  let probing = true
  let prober: Promise<void> = Promise.resolve()
  try {
    service = await startService(file, statementWaitMs)
    const { port, ask } = service
    // The continuous job running and renewing before anything is measured.
    await waitFor(
      "the continuous job to start",
      async () => ((await ask<Report>("report", "report")).jobStarts.length > 0 ? true : undefined),
      30_000,
      500,
    )
    await sleep(2 * RENEW_MS + 200)
    holder = startHolder(file)
    const h = holder
    prober = (async () => {
      while (probing) {
        probes.push(await health(port))
        await sleep(HEALTH_EVERY_MS)
      }
    })()
    const phase = async (label: string, body: (held: Array<Phase["held"][number]>) => Promise<void>) => {
      const start = await ask<number>("mark", "marked")
      const held: Array<Phase["held"][number]> = []
      await body(held)
      const report = await ask<Report>("report", "report")
      phases.push({
        label,
        start,
        end: Date.now(),
        held,
        eventLoopMaxMs: report.eventLoopMaxMs,
        eventLoopP99Ms: report.eventLoopP99Ms,
      })
    }
    await phase("at rest", () => sleep(opts.restMs))
    await phase(`bursts: held ${opts.holdMs / 1000} s, free ${opts.freeMs / 1000} s`, async (held) => {
      const until = Date.now() + opts.burstMs
      while (Date.now() + opts.holdMs + opts.freeMs <= until) {
        const taken = await h.lock()
        await sleep(opts.holdMs)
        held.push({ taken, freed: await h.free() })
        await sleep(opts.freeMs)
      }
    })
    await phase(`held ${LONG_HOLD_MS / 1000} s (past the lease), then freed`, async (held) => {
      const taken = await h.lock()
      await sleep(LONG_HOLD_MS)
      const freed = await h.free()
      held.push({ taken, freed })
      // Until the job runs again (bounded), then a few renewals more.
      await waitFor(
        "the continuous job to restart after the lock was freed",
        async () =>
          (await ask<Report>("report", "report")).jobStarts.some((t) => t > freed) ? true : undefined,
        RESTART_WAIT_MS,
        250,
      ).catch(() => undefined)
      await sleep(2 * RENEW_MS)
    })
    probing = false
    await prober
    const report = await ask<Report>("report", "report")
    return { phases, probes, report }
  } finally {
    probing = false
    await prober.catch(() => undefined)
    if (holder) await kill(holder.child)
    if (service) await kill(service.child)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

interface Options {
  readonly restMs: number
  readonly burstMs: number
  readonly holdMs: number
  readonly freeMs: number
}

interface Row {
  readonly mode: string
  readonly phase: string
  readonly loopMax: number
  readonly loopP99: number
  readonly renewalP99: number
  readonly renewalMaxCallMs: number
  readonly attempts: number
  readonly failed: number
  readonly losses: ReadonlyArray<{ afterTaken: number; vsExpiry: number; restartAfterFreed: number }>
  readonly answers: number
  readonly ok: number
  readonly unavailable: number
  readonly healthMaxMs: number
  readonly healthGapMs: number
}

/** One mode's phases as table rows. */
const rows = (mode: string, run: Awaited<ReturnType<typeof measure>>): Array<Row> =>
  run.phases.map((p) => {
    const inPhase = (t: number) => t >= p.start && t < p.end
    const renewals = run.report.renewals.filter((r) => inPhase(r.at))
    // Intervals between attempts on the same lease (a new lease starts its own sequence).
    const intervals = renewals
      .slice(1)
      .flatMap((r, i) => (r.token === renewals[i]!.token ? [(r.at - renewals[i]!.at) / RENEW_MS] : []))
    const losses = run.report.jobStops.filter(inPhase).map((stop) => {
      const taken = p.held.filter((h) => h.taken <= stop).at(-1)
      // The lease the job held: the last acquisition before it stopped; its last confirmed renewal.
      const lease = run.report.acquisitions.filter((a) => a.at <= stop).at(-1)
      const confirmed = run.report.renewals.filter(
        (r) => r.token === lease?.token && r.outcome === "renewed" && r.at <= stop,
      )
      const lastSent = confirmed.at(-1)?.at ?? lease?.at ?? Number.NaN
      const freed = p.held.find((h) => h.freed >= stop)?.freed ?? taken?.freed ?? Number.NaN
      const restart = run.report.jobStarts.find((t) => t > stop)
      return {
        afterTaken: taken ? stop - taken.taken : Number.NaN,
        vsExpiry: stop - (lastSent + TTL_MS),
        restartAfterFreed: restart === undefined ? Number.NaN : restart - freed,
      }
    })
    const answered = run.probes.filter((x) => inPhase(x.done))
    const whileHeld = run.probes.filter((x) => p.held.some((h) => x.sent >= h.taken && x.sent < h.freed))
    const times = [p.start, ...answered.map((x) => x.done), p.end]
    return {
      mode,
      phase: p.label,
      loopMax: p.eventLoopMaxMs,
      loopP99: p.eventLoopP99Ms,
      renewalP99: percentile(intervals, 99),
      renewalMaxCallMs: Math.max(0, ...renewals.map((r) => r.ms)),
      attempts: renewals.length,
      failed: renewals.filter((r) => r.outcome !== "renewed").length,
      losses,
      answers: answered.length,
      ok: whileHeld.filter((x) => x.status === 200).length,
      unavailable: whileHeld.filter((x) => x.status === 503).length,
      healthMaxMs: Math.max(0, ...answered.map((x) => x.done - x.sent)),
      healthGapMs: Math.max(...times.slice(1).map((t, i) => t - times[i]!)),
    }
  })

const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(0)}` : "n/a")

const range = (values: ReadonlyArray<number>, f: (n: number) => string) => {
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  return lo === hi ? f(lo) : `${f(lo)}…${f(hi)}`
}

const lossText = (r: Row) => {
  if (r.losses.length === 0) return "0"
  const at = range(
    r.losses.map((l) => l.afterTaken),
    (n) => ms(n),
  )
  const expiry = range(
    r.losses.map((l) => l.vsExpiry),
    signed,
  )
  const restart = range(
    r.losses.map((l) => l.restartAfterFreed),
    (n) => ms(n),
  )
  return `${r.losses.length}: ${at} ms after the lock was taken (store expiry ${expiry} ms); restarted ${restart} ms after the free`
}

export const run = async (): Promise<Section> => {
  const opts: Options = {
    restMs: arg("rest-seconds", 10) * 1_000,
    burstMs: arg("burst-seconds", 20) * 1_000,
    holdMs: arg("hold-ms", 1_500),
    freeMs: arg("free-ms", 1_500),
  }
  const shippedRun = await measure(undefined, opts)
  const baselineRun = await measure(BaselineWaitMs, opts)
  const dump = process.argv.indexOf("--dump")
  if (dump !== -1)
    fs.writeFileSync(process.argv[dump + 1]!, JSON.stringify({ shipped: shippedRun, baseline: baselineRun }))
  const shipped = rows("as shipped", shippedRun)
  const baseline = rows("baseline: old in-statement wait", baselineRun)
  const table = [...shipped, ...baseline].map(
    (r) =>
      `| ${r.mode} | ${r.phase} | ${ms(r.loopMax)} / ${ms(r.loopP99)} | ${ratio(r.renewalP99)} | ${r.failed} / ${r.attempts} | ${ms(r.renewalMaxCallMs)} | ${lossText(r)} | ${r.answers} | ${r.phase === "at rest" ? "—" : `${r.ok} / ${r.unavailable}`} | ${ms(r.healthMaxMs)} | ${ms(r.healthGapMs)} |`,
  )
  const versus = (f: (r: Row) => number, i: number) =>
    `${ms(f(shipped[i]!))} vs ${ms(f(baseline[i]!))} ms (÷ ${ratio(f(shipped[i]!) / f(baseline[i]!))})`
  const expiry = (rs: Array<Row>) => rs[2]?.losses[0]?.vsExpiry ?? Number.NaN
  return {
    title:
      "A held SQLite write lock: event loop, lease renewals and /health (as shipped vs old in-statement wait)",
    command: `npx tsx bench/sqliteLock.ts --rest-seconds ${opts.restMs / 1000} --burst-seconds ${opts.burstMs / 1000} --hold-ms ${opts.holdMs} --free-ms ${opts.freeMs}`,
    body: [
      `The service runs in its own process on a fresh SQLite file: one continuous job (lease ${TTL_MS} ms, renewed every`,
      `${RENEW_MS} ms, margin ${MARGIN_MS} ms), the HTTP app on 127.0.0.1. A second process takes the file's write lock`,
      "(`BEGIN EXCLUSIVE`) and frees it; GET /health is asked every 250 ms throughout. As shipped: SQLite's busy_timeout",
      `(statementWait) is 10 ms and the rest of busyTimeout (5 s) is retried off the event loop; baseline: statementWait =`,
      "busyTimeout = 5 s, the old wait inside the statement. Event loop: monitorEventLoopDelay max / p99; renewal interval:",
      "between attempts on one lease ÷ nominal; failed = attempts not answered `renewed` (errors, or interrupted at the",
      "local deadline); lease losses: the job interrupted, ms after the lock was taken, and relative to the store's",
      "expiry of the lease (last confirmed renewal sent + ttl; − = stopped before the lease expired in the store).",
      `Bursts stay under ttl − margin − renewEvery (${TTL_MS - MARGIN_MS - RENEW_MS} ms), so the lease must survive them. /health's probe waits`,
      "at most 700 ms for the lock: as shipped, one sent less than that before the free answers 200, the others 503.",
      "",
      "| mode | phase | event loop max / p99 (ms) | renewal interval p99 ÷ nominal | renewals failed / attempted | longest renewal call (ms) | lease losses | /health answers | /health 200 / 503 while held | /health max answer (ms) | max gap without a /health answer (ms) |",
      "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
      ...table,
      "",
      `As shipped vs baseline, longest event-loop block: bursts ${versus((r) => r.loopMax, 1)}, held past the lease ${versus((r) => r.loopMax, 2)};`,
      `longest /health answer: bursts ${versus((r) => r.healthMaxMs, 1)}, held ${versus((r) => r.healthMaxMs, 2)}. With the lock held past the`,
      `lease the job stopped ${signed(expiry(shipped))} ms from the lease's expiry in the store as shipped (the margin: it stopped at its local`,
      `deadline) and ${signed(expiry(baseline))} ms with the old wait: the deadline's timer cannot fire while a statement blocks the event`,
      "loop (nobody could take the lease over while the write lock was held, but the local deadline was not kept).",
      "In the baseline a call that failed after its 5 s in-statement wait is retried (the retry budget counts from the first",
      "failure), so a lock held past 5 s blocks for longer than the old code's single 5 s statement did.",
    ].join("\n"),
  }
}

const cleanup = () => {
  for (const child of children) child.kill("SIGKILL")
}
process.once("exit", cleanup)

if (process.env.SQLITE_LOCK_SERVER) await serve()
else if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const section = await run()
    console.log(`\n${section.body}\n`)
  } finally {
    cleanup()
  }
  process.exit(0)
}
