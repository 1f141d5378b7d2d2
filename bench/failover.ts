/**
 * Failover between real processes on one store (the chaos workers and ledger): the holder of the
 * continuous job is killed (SIGKILL) or stopped gracefully (SIGTERM); the time until another
 * worker's execution writes with a newer fencing token, as the ledger saw it, divided by the lease.
 * On SQLite (one file) always; on PostgreSQL when one answers at DATABASE_URL (a fresh schema); on
 * Cassandra too when CASSANDRA_CONTACT_POINTS is set (a fresh keyspace).
 * The memory store lives inside one process, so process failover does not apply to it.
 *
 *   npx tsx bench/failover.ts [--rounds 5]
 *   CASSANDRA_CONTACT_POINTS=127.0.0.1 npx tsx bench/failover.ts [--rounds 5]
 *   npx tsx bench/failover.ts --defaults [--rounds 3]   # the library's default lease and watch
 *
 * --defaults: the workers use the library's defaults (lease ttl, the continuous job's watch interval
 * and restart delay, the supervisor) instead of a 3 s lease: what a user gets without tuning (issue 21).
 * It also measures dead detection: from the SIGKILL until the killed execution reads DEAD through a
 * surviving worker's API (the supervisor at its defaults marks it).
 */
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Duration } from "effect"
import { migrateKeyspace } from "../chaos/cassandra.js"
import type { LedgerEntry } from "../chaos/ledger.js"
import { applicationName, createSchema, databaseUrl, dropSchema } from "../chaos/postgres.js"
import { DefaultLeaseTtl } from "../src/domain/LeaseTiming.js"
import { DefaultCron } from "../src/jobs/Supervisor.js"
import { reachable } from "./pgboss.js"
import { ms, percentile, ratio, type Section, sleep, spawnTsx as tsx, waitFor } from "./stats.js"

/** The library's defaults (--defaults), or a 3 s lease and a 200 ms watch. */
interface Setup {
  readonly defaults: boolean
  readonly leaseMs: number
}
const setupOf = (defaults: boolean): Setup => ({
  defaults,
  leaseMs: defaults ? Duration.toMillis(DefaultLeaseTtl) : 3_000,
})

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

type Store = "sqlite" | "cassandra" | "postgres"
/** Failover per signal; `dead`: SIGKILL → the killed execution reads DEAD (--defaults only). */
type Samples = Record<"SIGKILL" | "SIGTERM" | "dead", Array<number>>

/** The supervisor's default period in ms, read from its default cron ("every N seconds"). */
export const supervisorPeriodMs = () => Number(/^\*\/(\d+) /.exec(DefaultCron)?.[1] ?? Number.NaN) * 1_000

const measure = async (
  store: Store,
  rounds: number,
  { defaults, leaseMs: LEASE_MS }: Setup,
): Promise<Samples> => {
  const keyspace = `bench_failover_${Date.now().toString(36)}`
  if (store === "cassandra") migrateKeyspace(keyspace)
  // PostgreSQL: a fresh schema (the first worker migrates it), dropped at the end.
  const pgUrl = databaseUrl()
  if (store === "postgres") await createSchema(pgUrl, keyspace)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-bench-failover-"))
  const children = new Set<ChildProcess>()
  const outputs = new Map<ChildProcess, string>()
  const start = (script: string, env: Record<string, string>) => {
    const c = tsx(script, env)
    children.add(c)
    outputs.set(c, "")
    c.stdout!.on("data", (d) => outputs.set(c, (outputs.get(c)! + d).slice(-10_000)))
    c.stderr!.on("data", (d) => outputs.set(c, (outputs.get(c)! + d).slice(-10_000)))
    return c
  }
  const results: Samples = { SIGKILL: [], SIGTERM: [], dead: [] }
  try {
    const ledger = start("chaos/ledger.ts", { CHAOS_LEDGER_FILE: path.join(dir, "ledger.jsonl") })
    const port = await waitFor(
      "the ledger",
      () => /listening on (\d+)/.exec(outputs.get(ledger)!)?.[1],
      30_000,
    )
    const url = `http://127.0.0.1:${port}`
    const holderNow = async () => {
      const r = await fetch(`${url}/state`)
      return ((await r.json()) as Record<string, LedgerEntry>)["chaos-continuous"]
    }
    let n = 0
    const worker = () =>
      start("chaos/worker.ts", {
        CHAOS_STORE: store,
        CHAOS_DB: path.join(dir, "bench.db"),
        CHAOS_KEYSPACE: keyspace,
        CHAOS_PG_URL: pgUrl,
        CHAOS_PG_SCHEMA: keyspace,
        CHAOS_PG_APPLICATION_NAME: applicationName(keyspace),
        CHAOS_LEDGER: url,
        CHAOS_INSTANCE: `b${++n}`,
        CHAOS_LEASE_MS: String(LEASE_MS),
        ...(defaults ? { CHAOS_DEFAULTS: "1" } : {}),
      })
    const workers = [worker()]
    await waitFor("worker 1", () => (/ready/.test(outputs.get(workers[0]!)!) ? true : undefined), 60_000)
    workers.push(worker())
    for (let round = 0; round < rounds; round++)
      for (const signal of ["SIGKILL", "SIGTERM"] as const) {
        await waitFor(
          "two ready workers",
          () => (workers.every((w) => /ready/.test(outputs.get(w)!)) ? true : undefined),
          60_000,
        )
        // Let the newcomer settle and the holder renew at least once.
        await sleep(LEASE_MS / 3 + 500 + Math.random() * (LEASE_MS / 3))
        const holder = await waitFor("a holder", holderNow, 20_000)
        const target = workers.find((w) => w.pid === holder.pid)
        if (!target) throw new Error("bench/failover: the holder is not one of ours")
        const at = Date.now()
        target.kill(signal)
        const next = await waitFor(
          "the takeover",
          async () => {
            const h = await holderNow()
            return h && h.token > holder.token ? h : undefined
          },
          4 * LEASE_MS + 5_000,
        )
        results[signal].push(next.at - at)
        workers.splice(workers.indexOf(target), 1)
        if (defaults && signal === "SIGKILL") {
          // The survivor's API (its "ready" line names the port) shows the killed execution's status.
          const port = /http 127\.0\.0\.1:(\d+)/.exec(outputs.get(workers[0]!)!)?.[1]
          const stateUrl = `http://127.0.0.1:${port}/jobs/chaos-continuous/${holder.jobId}`
          await waitFor(
            "the killed execution DEAD",
            async () => {
              const r = await fetch(stateUrl).catch(() => undefined)
              const state = r?.ok ? ((await r.json()) as { jobState?: string }).jobState : undefined
              return state === "DEAD" ? true : undefined
            },
            4 * LEASE_MS + 4 * supervisorPeriodMs() + 30_000,
            200,
          )
          results.dead.push(Date.now() - at)
        }
        workers.push(worker())
      }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    fs.rmSync(dir, { recursive: true, force: true })
    if (store === "postgres") await dropSchema(pgUrl, keyspace).catch(() => undefined)
  }
  return results
}

export const run = async (defaults = process.argv.includes("--defaults")): Promise<Section> => {
  const setup = setupOf(defaults)
  const LEASE_MS = setup.leaseMs
  const rounds = arg("rounds", defaults ? 3 : 5)
  const contactPoints = process.env.CASSANDRA_CONTACT_POINTS
  const postgres = await reachable(databaseUrl())
  const stores: Array<Store> = [
    "sqlite",
    ...(postgres ? (["postgres"] as const) : []),
    ...(contactPoints ? (["cassandra"] as const) : []),
  ]
  const rows: Array<string> = []
  const deadRows: Array<string> = []
  // The goal (issue 21): DEAD within the lease + one supervisor period + 5 s.
  const deadBound = LEASE_MS + supervisorPeriodMs() + 5_000
  for (const store of stores) {
    const results = await measure(store, rounds, setup)
    const line = (label: string, xs: Array<number>) =>
      `| ${store} | ${label} | ${xs.length} | ${ms(percentile(xs, 50))} | ${ms(Math.max(...xs))} | ${ratio(percentile(xs, 50) / LEASE_MS)} | ${ratio(Math.max(...xs) / LEASE_MS)} |`
    rows.push(
      line("SIGKILL (lease left to expire)", results.SIGKILL),
      line("SIGTERM (graceful handover: lease released)", results.SIGTERM),
    )
    if (defaults)
      deadRows.push(
        `| ${store} | ${results.dead.length} | ${ms(percentile(results.dead, 50))} | ${ms(Math.max(...results.dead))} | ${ms(deadBound)} |`,
      )
  }
  return {
    title: `Failover between processes (${defaults ? `the library's defaults: lease ${LEASE_MS / 1000} s` : "lease 3 s"}): ${stores.join(", ")}`,
    command: `${contactPoints ? `CASSANDRA_CONTACT_POINTS=${contactPoints} ` : ""}npx tsx bench/failover.ts ${defaults ? "--defaults --rounds 3" : "[--rounds 5]"}`,
    body: [
      "Signal to the holder of a continuous job (two worker processes) → first write with a newer fencing",
      "token accepted by the ledger. PostgreSQL (when one answers at DATABASE_URL): a fresh schema. Cassandra: a fresh keyspace on a single local node; its lease row",
      `expires by TTL in whole seconds, ceil(ttl) + 1 = ${LEASE_MS / 1000 + 1} s after the last renewal. The memory store lives`,
      "inside one process, so failover between processes does not apply to it.",
      ...(defaults
        ? [
            "",
            "At the defaults a user gets without tuning. The goal (issue 21): SIGKILL failover p50 ≤ 15 s and max ≤ 20 s.",
          ]
        : []),
      "",
      "| store | signal | n | p50 (ms) | max (ms) | p50 ÷ lease | max ÷ lease |",
      "|---|---|---:|---:|---:|---:|---:|",
      ...rows,
      ...(defaults
        ? [
            "",
            `Dead detection: SIGKILL of the holder → its execution reads DEAD through the survivor's API (supervisor at its defaults: \`${DefaultCron}\`, DEAD once the lease is gone and the last status is one ttl old). Goal: ≤ lease + one supervisor period + 5 s = ${ms(deadBound)} ms.`,
            "",
            "| store | n | p50 (ms) | max (ms) | goal (ms) |",
            "|---|---:|---:|---:|---:|",
            ...deadRows,
          ]
        : []),
    ].join("\n"),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
