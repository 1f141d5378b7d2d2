/**
 * The PostgreSQL server of this machine as the chaos suite uses it (chaos/run.ts --store postgres):
 * a fresh schema per run (the first worker migrates it, dropped at the end), an export of what the run
 * left in it in the checker's shape, and the store faults, each aimed at the backends serving this
 * run's workers only. The workers connect with an application_name of their own per run
 * (`applicationName`), and every fault selects backends by that name and the database, so other
 * users of the server (the test suite's own PostgreSQL tests, run in parallel) are never hit:
 *
 * - stall: SIGSTOP of those backends for a few seconds, then SIGCONT. Only a backend that waits for
 *   its client (wait_event ClientRead, checked again once it is stopped) stays stopped: such a
 *   backend holds no lightweight lock (WAL insertion, buffer, lock-manager partition...) and is not
 *   half-way through updating its pg_stat_activity entry, so no other session on the server waits
 *   for it. One caught doing something else is resumed within milliseconds and tried again on the
 *   next scan (every 150 ms, which also catches connections the pools open during the stall).
 *   SIGCONT always follows: in a finally, on this process' exit and SIGINT/SIGTERM/SIGHUP, and from a
 *   detached `sleep; kill -CONT` watchdog a few seconds after the planned end, should this process die
 *   by SIGKILL. Signals are sent as this process' user (root on this machine kind, or the server's
 *   owner); a server on another machine cannot be stalled (checked at start).
 * - terminate: a storm of pg_terminate_backend on those backends, every 100 ms for a few seconds
 *   (connections dropped in the middle of a statement, the pools reconnecting).
 * - restart: `pg_ctlcluster --skip-systemctl-redirect <version> <cluster> restart -m fast`, bounded
 *   in time (the cluster from CHAOS_PG_CLUSTER, default "15 main"): this restarts the whole server,
 *   so every other user of it sees its connections closed too. Off with --no-restart (and in the
 *   test suite).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import pg from "pg"
import { runBounded } from "../bench/stats.js"
import { DefaultUrl } from "../src/stores/pg/PgStore.js"
import type { ExecutionRow } from "./check.js"

/** The server: DATABASE_URL, as the tests and `npm start` read it. */
export const databaseUrl = () => process.env.DATABASE_URL ?? DefaultUrl

/** The url without its password, for messages. */
export const shownUrl = (url: string) => url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@")

/** The cluster `pg_ctlcluster` restarts: "<version> <name>" from CHAOS_PG_CLUSTER, default "15 main". */
export const pgCluster = () => {
  const [version, name] = (process.env.CHAOS_PG_CLUSTER ?? "15 main").trim().split(/\s+/)
  if (!version || !name) throw new Error('chaos: CHAOS_PG_CLUSTER must be "<version> <name>", e.g. "15 main"')
  return { version, name }
}

/** A fresh schema name for a run (lower-case, as PgStore wants it). */
export const chaosSchema = (seed: number) =>
  `chaos_${seed}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`.replace(
    /[^a-z0-9_]/g,
    "_",
  )

/** The application_name of a run's workers: what every fault selects backends by. */
export const applicationName = (schema: string) => `effect-ha-jobs chaos ${schema}`.slice(0, 63)

/** This runner's own connections (never a fault's target: their name differs). */
const RunnerName = "effect-ha-jobs chaos runner"

/** Runs `run` on a connection of its own, every statement bounded by `statementMs`. */
const admin = async <A>(url: string, statementMs: number, run: (c: pg.Client) => Promise<A>): Promise<A> => {
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    application_name: RunnerName,
    statement_timeout: statementMs,
    query_timeout: statementMs + 2_000,
  })
  c.on("error", () => {})
  await c.connect()
  try {
    return await run(c)
  } finally {
    await Promise.race([c.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))])
  }
}

/** A local PostgreSQL backend process: its command line is the title PostgreSQL gives it. */
const isLocalBackend = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("postgres")
  } catch {
    return false
  }
}

/**
 * Creates the run's schema (the first worker migrates it) and checks that the server runs on this
 * machine, where its backends can be stopped; fails early with what is wrong.
 */
export const createSchema = async (url: string, schema: string) => {
  const local = await admin(url, 10_000, async (c) => {
    const pid = Number((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid)
    if (!isLocalBackend(pid)) return false
    await c.query(`CREATE SCHEMA ${schema}`)
    return true
  }).catch((e: unknown) => {
    throw new Error(
      `chaos: cannot create schema ${schema} on PostgreSQL at ${shownUrl(url)} (${e instanceof Error ? e.message : String(e)}); start it (pg_ctlcluster 15 main start) or set DATABASE_URL`,
    )
  })
  if (!local)
    throw new Error(
      `chaos: PostgreSQL at ${shownUrl(url)} does not run on this machine (its backend's process is not here): --store postgres stalls the store by stopping its backends`,
    )
}

/** Drops the run's schema (after terminating whatever of the run still holds a connection). */
export const dropSchema = (url: string, schema: string) =>
  admin(url, 30_000, async (c) => {
    await c.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
      [applicationName(schema)],
    )
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  })

/** The statuses (latest per execution) and cron slot claims of the run's schema, in the checker's shape. */
export const exportPostgres = (url: string, schema: string, file: string) =>
  admin(url, 60_000, async (c) => {
    // bigint columns come back as strings.
    const num = (x: unknown) => (x === null || x === undefined ? null : Number(x))
    const executions: Array<ExecutionRow> = (
      await c.query(
        `SELECT job_type, job_id, lock_type, job_state, job_result, job_status_ts, fencing_token,
                scheduled_at, trigger_source, instance
           FROM ${schema}.ha_executions`,
      )
    ).rows.map((row) => ({
      job_type: row.job_type,
      job_id: row.job_id,
      lock_type: row.lock_type,
      job_state: row.job_state,
      job_result: row.job_result,
      job_status_ts: Number(row.job_status_ts),
      fencing_token: num(row.fencing_token),
      scheduled_at: num(row.scheduled_at),
      trigger_source: row.trigger_source,
      instance: row.instance,
    }))
    const slots = (await c.query(`SELECT job_type, slot, instance FROM ${schema}.ha_slots`)).rows.map(
      (row) => ({
        job_type: row.job_type as string,
        slot: Number(row.slot),
        instance: row.instance as string,
      }),
    )
    // Overlapped slots are events, not statuses: the checker counts them as accounted for.
    const overlaps = (
      await c.query(`SELECT job_type, count, from_at, to_at FROM ${schema}.ha_events WHERE kind = 'overlap'`)
    ).rows.map((row) => ({
      job_type: row.job_type as string,
      count: Number(row.count),
      from: Number(row.from_at),
      to: Number(row.to_at),
    }))
    fs.writeFileSync(file, JSON.stringify({ executions, slots, overlaps }))
  })

/** Backends stopped right now (resumed by resumeBackends), and every backend a fault ever touched. */
const stopped = new Set<number>()
export const touchedBackends = new Set<number>()

/** SIGCONT to every backend we stopped; safe to call any number of times, from anywhere. */
export const resumeBackends = () => {
  for (const pid of stopped) {
    try {
      process.kill(pid, "SIGCONT")
    } catch {}
    stopped.delete(pid)
  }
}

const onExit = () => resumeBackends()
const onSignal = (signal: NodeJS.Signals) => {
  resumeBackends()
  process.exit(signal === "SIGINT" ? 130 : signal === "SIGHUP" ? 129 : 143)
}

/** A detached process that sends SIGCONT to `pids` after `ms`, in case this one dies by SIGKILL. */
const watchdog = (pids: ReadonlyArray<number>, ms: number) => {
  const child = spawn(
    "sh",
    ["-c", `sleep ${Math.ceil(ms / 1000)}; kill -CONT ${pids.join(" ")} 2>/dev/null`],
    {
      detached: true,
      stdio: "ignore",
    },
  )
  child.on("error", () => {})
  child.unref()
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const Ours = `application_name = $1 AND datname = current_database() AND backend_type = 'client backend'`

/**
 * The stall: for `ms`, every backend of the run's workers that waits for its client is stopped
 * (SIGSTOP), then all are resumed (SIGCONT). Returns how many backends were stopped.
 */
export const stallBackends = async (url: string, schema: string, ms: number) => {
  const name = applicationName(schema)
  const end = Date.now() + ms
  process.on("exit", onExit)
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  process.on("SIGHUP", onSignal)
  let count = 0
  try {
    await admin(url, 1_000, async (c) => {
      while (Date.now() < end) {
        const idle = (
          await c.query(`SELECT pid FROM pg_stat_activity WHERE ${Ours} AND wait_event = 'ClientRead'`, [
            name,
          ])
        ).rows
          .map((r) => Number(r.pid))
          .filter((pid) => !stopped.has(pid) && isLocalBackend(pid))
        const now: Array<number> = []
        for (const pid of idle) {
          try {
            process.kill(pid, "SIGSTOP")
            stopped.add(pid)
            now.push(pid)
          } catch {}
        }
        if (now.length > 0) {
          watchdog(now, end - Date.now() + 5_000)
          // Stopped, its wait event is frozen: one that left ClientRead in between is resumed at once.
          const still = await c
            .query(`SELECT pid FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event = 'ClientRead'`, [
              now,
            ])
            .then((r) => new Set(r.rows.map((row) => Number(row.pid))))
            .catch(() => new Set<number>())
          for (const pid of now)
            if (still.has(pid)) {
              count++
              touchedBackends.add(pid)
            } else {
              stopped.delete(pid)
              try {
                process.kill(pid, "SIGCONT")
              } catch {}
            }
        }
        await sleep(Math.min(150, Math.max(0, end - Date.now())))
      }
    })
  } finally {
    resumeBackends()
    process.off("exit", onExit)
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    process.off("SIGHUP", onSignal)
  }
  return count
}

/**
 * The terminate storm: for `ms`, every 100 ms, pg_terminate_backend on every backend of the run's
 * workers. Returns how many were terminated.
 */
export const terminateBackends = (url: string, schema: string, ms: number) =>
  admin(url, 2_000, async (c) => {
    const end = Date.now() + ms
    let count = 0
    while (Date.now() < end) {
      const rows = (
        await c.query(`SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE ${Ours}`, [
          applicationName(schema),
        ])
      ).rows
      for (const r of rows)
        if (r.done) {
          count++
          touchedBackends.add(Number(r.pid))
        }
      await sleep(Math.min(100, Math.max(0, end - Date.now())))
    }
    return count
  })

/** Runs pg_ctlcluster (as this user), killed after `ms`; resolves with its output. */
const pgCtlCluster = (action: "restart" | "start", ms: number) => {
  const { version, name } = pgCluster()
  return runBounded(
    `pg_ctlcluster ${action}`,
    "pg_ctlcluster",
    ["--skip-systemctl-redirect", "-m", "fast", version, name, action],
    ms,
  )
}

/**
 * A store restart: pg_ctlcluster restart in fast mode (sessions terminated, a checkpoint, the server
 * started again), bounded at 90 s, then connections accepted again within 30 s. Should the restart
 * fail, one `start` is tried before the error is thrown. Returns the time it took as measured here.
 */
export const restartPostgres = async (url: string, log: (line: string) => void) => {
  resumeBackends()
  const t0 = Date.now()
  try {
    await pgCtlCluster("restart", 90_000)
  } catch (e) {
    await pgCtlCluster("start", 60_000).catch(() => undefined)
    throw e
  }
  const restarted = Date.now()
  for (;;) {
    try {
      await admin(url, 2_000, (c) => c.query("SELECT 1"))
      break
    } catch (e) {
      if (Date.now() - restarted > 30_000)
        throw new Error(`chaos: PostgreSQL not back 30 s after its restart: ${e}`)
      await sleep(200)
    }
  }
  const { version, name } = pgCluster()
  log(
    `chaos: PostgreSQL ${version} ${name} restarted (pg_ctlcluster ${restarted - t0} ms, answering after ${Date.now() - t0} ms)`,
  )
}
