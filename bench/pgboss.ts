/**
 * Side by side with pg-boss (on the machine's PostgreSQL): the same singleton job firing every
 * second, the same crash (SIGKILL of the process running it), in one run.
 *
 * - effect-ha-jobs: two chaos workers (chaos/worker.ts) on the same PostgreSQL as pg-boss (PgStore, a
 *   fresh schema), lease 3 s; the job is chaos-cron (cron every second, 300 ms of work); the ledger
 *   (chaos/ledger.ts) records its starts. The same store for both systems.
 * - pg-boss 10: two bench/pgboss-worker.ts processes, queue policy "singleton", expireInSeconds 3,
 *   maintenanceIntervalSeconds 1, pollingIntervalSeconds 0.5 (each the minimum pg-boss allows),
 *   retryLimit 0; a send per second with singletonKey + singletonSeconds 1.
 *
 * Failover: SIGKILL of the process while it runs the job → the next start of the job on another
 * process. Trigger latency: a manual trigger (effect-ha-jobs: JobManager.trigger; pg-boss: send to a
 * standard queue worked in the same process, once polled and once followed by notifyWorker, which
 * wakes the worker at once) → the first line of the job.
 *
 *   npx tsx bench/pgboss.ts [--rounds 5] [--triggers 50]   (PGBOSS_URL, default postgres://postgres@127.0.0.1:5432/test)
 */
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Logger, LogLevel } from "effect"
import pg from "pg"
import PgBoss from "pg-boss"
import type { LedgerEntry } from "../chaos/ledger.js"
import { applicationName, createSchema, dropSchema } from "../chaos/postgres.js"
import { JobContext } from "../src/core/JobContext.js"
import { HaJobs, Job, JobManager, PgStore } from "../src/index.js"
import { ms, percentile, waitFor as poll, ratio, type Section, sleep, spawnTsx as tsx } from "./stats.js"

const waitFor = <A>(what: string, probe: () => Promise<A | undefined> | A | undefined, timeoutMs: number) =>
  poll(what, probe, timeoutMs, 10)

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const LEASE_MS = 3_000
export const url = process.env.PGBOSS_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

/** Whether a PostgreSQL answers at `at` (default PGBOSS_URL) within 3 s. */
export const reachable = async (at: string = url) => {
  const c = new pg.Client({ connectionString: at, connectionTimeoutMillis: 3_000 })
  try {
    await c.connect()
    await c.query("SELECT 1")
    return true
  } catch {
    return false
  } finally {
    await c.end().catch(() => {})
  }
}

interface Proc {
  readonly child: ChildProcess
  output: string
}

const spawnTsx = (children: Set<ChildProcess>, script: string, env: Record<string, string>): Proc => {
  const child = tsx(script, env)
  children.add(child)
  const p: Proc = { child, output: "" }
  child.stdout!.on("data", (d) => (p.output += d))
  child.stderr!.on("data", (d) => (p.output = (p.output + d).slice(-200_000)))
  return p
}

const starts = (p: Proc) =>
  [...p.output.matchAll(/^(start|end) (\S+) (\d+)$/gm)].map((m) => ({
    kind: m[1]!,
    id: m[2]!,
    at: Number(m[3]),
  }))

/** pg-boss: failover after SIGKILL of the process running the singleton job, and trigger latency. */
const pgBoss = async (rounds: number, triggers: number) => {
  const schema = `pgboss_bench_${Date.now().toString(36)}`
  const children = new Set<ChildProcess>()
  const boss = new PgBoss({ connectionString: url, schema, supervise: false, schedule: false, max: 4 })
  boss.on("error", (e) => console.error(`pg-boss error: ${String(e)}`))
  const failover: Array<number> = []
  const trigger: Array<number> = []
  const triggerNotified: Array<number> = []
  try {
    await boss.start()
    await boss.createQueue("singleton-cron", {
      name: "singleton-cron",
      policy: "singleton",
      expireInSeconds: LEASE_MS / 1000,
      retryLimit: 0,
    })
    await boss.createQueue("trigger", { name: "trigger", retryLimit: 0 })

    // Trigger latency: send -> first line of the handler, in this process. Twice: as pg-boss polls
    // (every 0.5 s, its minimum), and woken at once by notifyWorker, its fastest in-process path.
    const startedAt = new Map<string, number>()
    const handler = async ([job]: Array<PgBoss.Job<object>>) => {
      startedAt.set(job!.id, performance.now())
    }
    await boss.work("trigger", { pollingIntervalSeconds: 0.5, batchSize: 1 }, handler)
    await boss.createQueue("trigger-notified", { name: "trigger-notified", retryLimit: 0 })
    const notified = await boss.work(
      "trigger-notified",
      { pollingIntervalSeconds: 0.5, batchSize: 1 },
      handler,
    )
    for (const [queue, workerId, into] of [
      ["trigger", undefined, trigger],
      ["trigger-notified", notified, triggerNotified],
    ] as const) {
      for (let i = 0; i < triggers + 3; i++) {
        await sleep(Math.random() * 200)
        const t0 = performance.now()
        const id = (await boss.send(queue, {}))!
        if (workerId !== undefined) boss.notifyWorker(workerId)
        const t1 = await waitFor("the triggered pg-boss job", () => startedAt.get(id), 10_000)
        if (i >= 3) into.push(t1 - t0)
      }
    }

    const env = { PGBOSS_URL: url, PGBOSS_SCHEMA: schema }
    const workers = [
      spawnTsx(children, "bench/pgboss-worker.ts", env),
      spawnTsx(children, "bench/pgboss-worker.ts", env),
    ]
    for (let round = 0; round < rounds; round++) {
      await waitFor(
        "ready pg-boss workers",
        () => (workers.every((w) => /ready/.test(w.output)) ? true : undefined),
        60_000,
      )
      await sleep(2_000 + Math.random() * 1_000)
      // The process running the job now (a start seen, no end yet).
      const target = await waitFor(
        "a running pg-boss job",
        () =>
          workers.find((w) => {
            const s = starts(w)
            const last = s[s.length - 1]
            return last?.kind === "start" && Date.now() - last.at < 150
          }),
        20_000,
      )
      const at = Date.now()
      target.child.kill("SIGKILL")
      const others = workers.filter((w) => w !== target)
      const next = await waitFor(
        "the pg-boss takeover",
        () =>
          others
            .flatMap((w) => starts(w))
            .filter((s) => s.kind === "start" && s.at >= at)
            .sort((a, b) => a.at - b.at)[0],
        60_000,
      )
      failover.push(next.at - at)
      workers.splice(workers.indexOf(target), 1)
      workers.push(spawnTsx(children, "bench/pgboss-worker.ts", env))
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    await boss.stop({ graceful: false, wait: true }).catch(() => {})
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
    await c.connect()
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
    await c.end()
  }
  return { failover, trigger, triggerNotified }
}

/** effect-ha-jobs on the same PostgreSQL: the same crash on chaos-cron (chaos workers + ledger), and trigger latency. */
const haJobs = async (rounds: number, triggers: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-bench-pgboss-"))
  const schema = `bench_pgboss_${Date.now().toString(36)}`
  await createSchema(url, schema)
  const children = new Set<ChildProcess>()
  const failover: Array<number> = []
  const trigger: Array<number> = []
  try {
    // Trigger latency, in this process: JobManager.trigger -> first line of `run`.
    const started = new Map<string, number>()
    const quick = Job.make({
      type: "bench-trigger",
      lease: { ttl: `${LEASE_MS} millis` },
      run: Effect.flatMap(JobContext, (ctx) => Effect.sync(() => started.set(ctx.jobId, performance.now()))),
    })
    const service = HaJobs.layer([quick], { supervisor: false, instance: "bench-pgboss" }).pipe(
      Layer.provide(PgStore.layer({ url, schema, applicationName: applicationName(schema) })),
    )
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const manager = yield* JobManager.JobManager
          for (let i = 0; i < triggers + 3; i++) {
            yield* Effect.sleep(`${Math.random() * 200} millis`)
            const t0 = performance.now()
            const r = yield* manager.trigger("bench-trigger")
            if (r._tag !== "Started") return yield* Effect.dieMessage(`trigger: ${r._tag}`)
            yield* manager.awaitExecution(r.jobId)
            if (i >= 3) trigger.push(started.get(r.jobId)! - t0)
          }
        }).pipe(Effect.provide(service)),
      ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    )

    const ledger = spawnTsx(children, "chaos/ledger.ts", {
      CHAOS_LEDGER_FILE: path.join(dir, "ledger.jsonl"),
    })
    const port = await waitFor("the ledger", () => /listening on (\d+)/.exec(ledger.output)?.[1], 30_000)
    const ledgerUrl = `http://127.0.0.1:${port}`
    const cronNow = async () => {
      const r = await fetch(`${ledgerUrl}/state`, { signal: AbortSignal.timeout(2_000) })
      return ((await r.json()) as Record<string, LedgerEntry>)["chaos-cron"]
    }
    let n = 0
    const worker = () =>
      spawnTsx(children, "chaos/worker.ts", {
        CHAOS_STORE: "postgres",
        CHAOS_PG_URL: url,
        CHAOS_PG_SCHEMA: schema,
        CHAOS_PG_APPLICATION_NAME: applicationName(schema),
        CHAOS_LEDGER: ledgerUrl,
        CHAOS_INSTANCE: `p${++n}`,
        CHAOS_LEASE_MS: String(LEASE_MS),
      })
    const workers = [worker()]
    await waitFor("worker 1", () => (/ready/.test(workers[0]!.output) ? true : undefined), 60_000)
    workers.push(worker())
    for (let round = 0; round < rounds; round++) {
      await waitFor(
        "ready workers",
        () => (workers.every((w) => /ready/.test(w.output)) ? true : undefined),
        60_000,
      )
      await sleep(2_000 + Math.random() * 1_000)
      const running = await waitFor(
        "a running chaos-cron execution",
        async () => {
          const s = await cronNow()
          return s && s.kind === "start" && Date.now() - s.at < 150 ? s : undefined
        },
        20_000,
      )
      const target = workers.find((w) => w.child.pid === running.pid)
      if (!target) throw new Error("bench/pgboss: the runner of chaos-cron is not one of ours")
      const at = Date.now()
      target.child.kill("SIGKILL")
      const next = await waitFor(
        "the takeover",
        async () => {
          const s = await cronNow()
          return s && s.token > running.token && s.pid !== running.pid ? s : undefined
        },
        60_000,
      )
      failover.push(next.at - at)
      workers.splice(workers.indexOf(target), 1)
      workers.push(worker())
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    fs.rmSync(dir, { recursive: true, force: true })
    await dropSchema(url, schema).catch(() => undefined)
  }
  return { failover, trigger }
}

export const run = async (): Promise<Section> => {
  const rounds = arg("rounds", 5)
  const triggers = arg("triggers", 50)
  const ours = await haJobs(rounds, triggers)
  const theirs = await pgBoss(rounds, triggers)
  const pgVersion = await (async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
    await c.connect()
    const r = await c.query("SHOW server_version")
    await c.end()
    return String(r.rows[0]?.server_version)
  })()
  const bossVersion = (
    JSON.parse(fs.readFileSync(path.join(root, "node_modules/pg-boss/package.json"), "utf8")) as {
      version: string
    }
  ).version
  const row = (label: string, a: Array<number>, b: Array<number>, p: number) => {
    const x = p === 100 ? Math.max(...a) : percentile(a, p)
    const y = p === 100 ? Math.max(...b) : percentile(b, p)
    return `| ${label} | ${ms(x)} | ${ms(y)} | ${ratio(y / x)} |`
  }
  return {
    title: "Side by side with pg-boss: singleton job every second, SIGKILL of the process running it",
    command: "npx tsx bench/pgboss.ts [--rounds 5] [--triggers 50]",
    body: [
      `effect-ha-jobs on PostgreSQL (PgStore, lease 3 s, renewal 1 s) vs pg-boss ${bossVersion} on PostgreSQL ${pgVersion} (127.0.0.1):`,
      'queue policy "singleton", expireInSeconds 3, maintenanceIntervalSeconds 1, pollingIntervalSeconds 0.5,',
      "retryLimit 0; pg-boss's cron fires at most once a minute, so each pg-boss process sends every second",
      "with singletonKey + singletonSeconds 1. Two worker processes each; the job works 300 ms. Failover:",
      "SIGKILL while the job runs → its next start on another process. Trigger: manual trigger/send →",
      "first line of the job, in one process; for pg-boss also with `notifyWorker(workerId)` right after",
      `the send (its fastest path, only within the sending process). ${rounds} kills and ${triggers} triggers per system, one run.`,
      "",
      "| measurement | effect-ha-jobs (ms) | pg-boss (ms) | pg-boss ÷ effect-ha-jobs |",
      "|---|---:|---:|---:|",
      row("failover after SIGKILL, p50", ours.failover, theirs.failover, 50),
      row("failover after SIGKILL, max", ours.failover, theirs.failover, 100),
      row("trigger → running, p50", ours.trigger, theirs.trigger, 50),
      row("trigger → running, p99", ours.trigger, theirs.trigger, 99),
      row("trigger → running, p50, pg-boss woken by notifyWorker", ours.trigger, theirs.triggerNotified, 50),
      row("trigger → running, p99, pg-boss woken by notifyWorker", ours.trigger, theirs.triggerNotified, 99),
      "",
      `Failover samples (ms): effect-ha-jobs ${ours.failover.join(", ")}; pg-boss ${theirs.failover.join(", ")}.`,
    ].join("\n"),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!(await reachable())) {
    console.error(`bench/pgboss: no PostgreSQL at ${url}`)
    process.exit(1)
  }
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
