/**
 * The baseline: @effect/cluster's own failover at its defaults, on the same PostgreSQL as our bench.
 * Two bench/effectClusterWorker.ts processes (socket runners, SQL runner and message storage, one
 * `Singleton` inserting a heartbeat row every 200 ms); the process writing the heartbeat is killed
 * (SIGKILL) or stopped (SIGTERM) at t0; failover = the first beat of another process after t0, − t0.
 * A fresh database per run (the runners create their tables in it), dropped at the end.
 *
 *   npx tsx bench/effectCluster.ts [--rounds 3]   (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import type { ChildProcess } from "node:child_process"
import * as net from "node:net"
import pg from "pg"
import { databaseUrl } from "../chaos/postgres.js"
import { reachable } from "./pgboss.js"
import { ms, percentile, type Section, sleep, spawnTsx, waitFor } from "./stats.js"

const LABEL = "@effect/cluster 0.60.2 (defaults)"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

/** The same server, another database. */
const withDatabase = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

const admin = async <A>(url: string, run: (c: pg.Client) => Promise<A>) => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await c.connect()
  try {
    return await run(c)
  } finally {
    await c.end().catch(() => undefined)
  }
}

/** A port free right now (each runner needs an address of its own). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

type Samples = Record<"SIGKILL" | "SIGTERM", Array<number>>

const measure = async (rounds: number): Promise<Samples> => {
  const db = `bench_cluster_${Date.now().toString(36)}`
  const serverUrl = databaseUrl()
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${db}`))
  const url = withDatabase(serverUrl, db)
  // One long-lived connection to read the beats (bigint comes back as a string).
  const reader = new pg.Client({ connectionString: url })
  const children = new Set<ChildProcess>()
  const outputs = new Map<ChildProcess, string>()
  const results: Samples = { SIGKILL: [], SIGTERM: [] }
  try {
    await reader.connect()
    await reader.query(
      "CREATE TABLE beats (pid int NOT NULL, at bigint NOT NULL); CREATE INDEX ON beats (at)",
    )
    const newest = async () => {
      const r = await reader.query<{ pid: number; at: string }>(
        "SELECT pid, at FROM beats ORDER BY at DESC LIMIT 1",
      )
      const row = r.rows[0]
      return row && { pid: row.pid, at: Number(row.at) }
    }
    const start = async () => {
      const port = await freePort()
      const c = spawnTsx("bench/effectClusterWorker.ts", {
        BENCH_PG_URL: url,
        BENCH_RUNNER_PORT: String(port),
      })
      children.add(c)
      outputs.set(c, "")
      const keep = (d: Buffer) => outputs.set(c, (outputs.get(c)! + d).slice(-10_000))
      c.stdout!.on("data", keep)
      c.stderr!.on("data", keep)
      return { child: c, port }
    }
    const isReady = (c: ChildProcess) => /ready/.test(outputs.get(c)!)
    // Worker 1 alone first: both runners create their tables on start (CREATE TABLE IF NOT EXISTS and
    // a migrator), which can race when two run it on an empty database.
    const workers = [await start()]
    await waitFor("worker 1 ready", () => (isReady(workers[0]!.child) ? true : undefined), 60_000)
    workers.push(await start())
    for (let round = 0; round < rounds; round++)
      for (const signal of ["SIGKILL", "SIGTERM"] as const) {
        await waitFor(
          "two ready workers",
          () => (workers.every((w) => isReady(w.child)) ? true : undefined),
          60_000,
        )
        // Both runners registered with a fresh heartbeat (a dead runner's row lingers until it expires),
        // then time for the rebalance a newcomer triggers (peers poll runners every 3 s, then hand the
        // shard over) to finish, so that we do not kill a writer in the middle of a handover.
        const addresses = workers.map((w) => `127.0.0.1:${w.port}`)
        await waitFor(
          "both runners registered",
          async () => {
            const r = await reader.query<{ n: string }>(
              "SELECT count(*) AS n FROM cluster_runners WHERE address = ANY($1) AND last_heartbeat > now() - interval '15 seconds'",
              [addresses],
            )
            return Number(r.rows[0]!.n) === addresses.length ? true : undefined
          },
          60_000,
          200,
        ).catch(async (e) => {
          const r = await reader.query("SELECT address, healthy, last_heartbeat FROM cluster_runners")
          throw new Error(`${(e as Error).message}: ${JSON.stringify(r.rows)} (want ${addresses})`)
        })
        await sleep(5_000)
        await waitFor(
          "beats flowing",
          async () => {
            const b = await newest()
            return b && Date.now() - b.at < 1_000 ? true : undefined
          },
          120_000,
          100,
        )
        await sleep(2_000 + Math.random() * 6_000)
        const writer = await newest()
        const target = workers.find((w) => w.child.pid === writer?.pid)
        if (!writer || Date.now() - writer.at > 1_000 || !target)
          throw new Error(`bench/effectCluster: no live writer among our workers (${JSON.stringify(writer)})`)
        const t0 = Date.now()
        target.child.kill(signal)
        // How old the victim's runner heartbeat was at t0: it explains the spread of SIGKILL failovers.
        const age = await reader.query<{ s: string }>(
          "SELECT extract(epoch FROM now() - last_heartbeat) AS s FROM cluster_runners WHERE address = $1",
          [`127.0.0.1:${target.port}`],
        )
        const next = await waitFor(
          `the takeover after ${signal}`,
          async () => {
            const r = await reader.query<{ pid: number; at: string }>(
              "SELECT pid, at FROM beats WHERE pid <> $1 AND at > $2 ORDER BY at LIMIT 1",
              [writer.pid, t0],
            )
            return r.rows[0]
          },
          180_000,
          100,
        )
        results[signal].push(Number(next.at) - t0)
        console.error(
          `${signal} round ${round + 1}: ${Number(next.at) - t0} ms (pid ${writer.pid} → ${next.pid}; its runner heartbeat ${Number(age.rows[0]?.s).toFixed(1)} s old at t0)`,
        )
        workers.splice(workers.indexOf(target), 1)
        workers.push(await start())
      }
  } catch (e) {
    for (const [c, out] of outputs) console.error(`--- worker ${c.pid} ---\n${out.slice(-2_000)}`)
    throw e
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    await reader.end().catch(() => undefined)
    // The killed runners' connections may linger a moment; WITH (FORCE) ends whatever is left.
    await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)).catch(
      () => undefined,
    )
  }
  return results
}

export const run = async (): Promise<Section> => {
  const rounds = arg("rounds", 3)
  if (!(await reachable(databaseUrl()))) throw new Error(`bench/effectCluster: no PostgreSQL at DATABASE_URL`)
  const results = await measure(rounds)
  const line = (signal: keyof Samples) => {
    const xs = results[signal]
    return `| ${LABEL} | ${signal} | ${xs.length} | ${ms(percentile(xs, 50))} | ${ms(Math.max(...xs))} |`
  }
  return {
    title: "Failover of @effect/cluster at its defaults (PostgreSQL, two runner processes)",
    command: "npx tsx bench/effectCluster.ts [--rounds 3]",
    body: [
      'Two socket runners (`NodeClusterSocket.layer({ storage: "sql" })`, @effect/sql-pg) on a fresh database;',
      "a `Singleton` inserts a heartbeat every 200 ms. Signal to the runner writing it → first beat of the other runner.",
      "Every ShardingConfig timing at its default (only the runner address is set). On PostgreSQL the shard locks are",
      "advisory locks, freed as soon as the killed runner's connection closes; what decides a SIGKILL failover is when",
      "the survivor stops counting the dead runner: its row drops out of `getRunners` once `last_heartbeat` is older than",
      "`shardLockExpiration` (35 s), and that heartbeat is refreshed every min(`shardLockRefreshInterval` 10 s,",
      "35 s ÷ 3) = 10 s, so 25–35 s after the kill, plus up to one `refreshAssignmentsInterval` (3 s) until the survivor",
      "polls the runners, plus its shard acquisition (a loop that pauses 1 s): about 25–39 s. The ping health check",
      "(`runnerHealthCheckInterval` 1 min) can mark the dead runner unhealthy sooner only when its turn falls in that window.",
      "SIGTERM: the runner unregisters itself and releases its locks on shutdown; the survivor needs one poll (≤ 3 s) plus acquisition.",
      "",
      "| library | signal | n | p50 (ms) | max (ms) |",
      "|---|---|---:|---:|---:|",
      line("SIGKILL"),
      line("SIGTERM"),
    ].join("\n"),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
