/**
 * The local Cassandra node of scripts/cassandra/*.sh, as the chaos suite and the benchmarks use it:
 * its pid (to SIGSTOP it as a store stall), a restart keeping its data, a fresh migrated keyspace,
 * and an export of what a chaos run left in the store, in the checker's shape.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import cassandra from "cassandra-driver"
import { runBounded } from "../bench/stats.js"
import type { ExecutionRow } from "./check.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** The run root of scripts/cassandra/start.sh: HA_JOBS_CASSANDRA_HOME, as the scripts read it. */
export const cassandraHome = () =>
  process.env.HA_JOBS_CASSANDRA_HOME ?? path.join(os.homedir(), ".cache/effect-ha-jobs/cassandra")
export const cassandraPidFile = () => path.join(cassandraHome(), "run/cassandra.pid")
export const contactPoints = () => process.env.CASSANDRA_CONTACT_POINTS ?? "127.0.0.1"

/** Where a chaos run's keyspace lives: the single node (default) or the three-node cluster (RF 3). */
export interface CassandraTarget {
  readonly contactPoints: string
  readonly localDc: string
  /** The keyspace's replication map (default: SimpleStrategy, RF 1, as migrate-cassandra.ts creates it). */
  readonly replication?: string | undefined
}

export const singleNode = (): CassandraTarget => ({
  contactPoints: contactPoints(),
  localDc: process.env.CASSANDRA_LOCAL_DC ?? "datacenter1",
})

/** The pid of the local Cassandra node started by scripts/cassandra/start.sh. */
export const cassandraPid = () => {
  const pid = Number(
    fs.readFileSync(process.env.CHAOS_CASSANDRA_PID_FILE ?? cassandraPidFile(), "utf8").trim(),
  )
  if (!Number.isInteger(pid) || pid <= 0) throw new Error("chaos: no Cassandra pid (npm run cassandra:start)")
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
  if (!cmdline.includes("CassandraDaemon")) throw new Error(`chaos: pid ${pid} is not a CassandraDaemon`)
  return pid
}

/** Resumes Cassandra if we stopped it; safe to call any number of times. */
export const resumeCassandra = (pid: number | undefined) => {
  if (pid === undefined) return
  try {
    process.kill(pid, "SIGCONT")
  } catch {}
}

/** Runs one of scripts/cassandra/*.sh (environment inherited), killed after `ms`; resolves with its output. */
export const cassandraScript = (script: "stop.sh" | "start.sh", env: Record<string, string>, ms: number) =>
  runBounded(script, "bash", [path.join(root, "scripts/cassandra", script)], ms, {
    cwd: root,
    env: { ...process.env, ...env },
  })

/**
 * A store restart: stop.sh (SIGTERM, SIGKILL after 30 s), then start.sh keeping the data directory
 * (HA_JOBS_CASSANDRA_KEEP_DATA=1), bounded at 60 s + 150 s. Returns the down time as measured here.
 */
export const restartCassandra = async (log: (line: string) => void) => {
  const t0 = Date.now()
  await cassandraScript("stop.sh", { HA_JOBS_CASSANDRA_STOP_TIMEOUT: "30" }, 60_000)
  const stopped = Date.now()
  const out = await cassandraScript(
    "start.sh",
    { HA_JOBS_CASSANDRA_KEEP_DATA: "1", HA_JOBS_CASSANDRA_START_TIMEOUT: "120" },
    150_000,
  )
  if (!/keeping the data directory/.test(out))
    throw new Error(`chaos: start.sh did not keep the data:\n${out}`)
  log(
    `chaos: Cassandra restarted (stop ${stopped - t0} ms, start ${Date.now() - stopped} ms), pid ${cassandraPid()}`,
  )
}

/** Creates and migrates a fresh keyspace (scripts/migrate-cassandra.ts), bounded in time. */
export const migrateKeyspace = (keyspace: string, target: CassandraTarget = singleNode()) => {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "scripts/migrate-cassandra.ts"),
      "--keyspace",
      keyspace,
      "--create-keyspace",
      ...(target.replication === undefined ? [] : ["--replication", target.replication]),
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        CASSANDRA_CONTACT_POINTS: target.contactPoints,
        CASSANDRA_LOCAL_DC: target.localDc,
      },
      encoding: "utf8",
      timeout: 120_000,
    },
  )
  if (r.status !== 0) throw new Error(`chaos: migrating keyspace ${keyspace} failed: ${r.stdout}${r.stderr}`)
}

/** The statuses (latest per execution) and cron slot claims of a keyspace, in the checker's shape. */
export const exportCassandra = async (
  keyspace: string,
  file: string,
  target: CassandraTarget = singleNode(),
) => {
  const client = new cassandra.Client({
    contactPoints: target.contactPoints.split(","),
    localDataCenter: target.localDc,
    keyspace,
    socketOptions: { connectTimeout: 10_000, readTimeout: 30_000 },
    // The workers write at LOCAL_QUORUM, and a replica that was down or cut off missed writes (no
    // hinted handoff on the test cluster). A full-table scan at LOCAL_QUORUM still missed such rows
    // here (6 of 340, found by the same scan a minute later), so the export reads every replica
    // (ALL: the run is over and every node up) and merges what they hold.
    queryOptions: { consistency: cassandra.types.consistencies.all },
    ...(process.env.CASSANDRA_USERNAME
      ? {
          authProvider: new cassandra.auth.PlainTextAuthProvider(
            process.env.CASSANDRA_USERNAME,
            process.env.CASSANDRA_PASSWORD ?? "",
          ),
        }
      : {}),
  })
  try {
    const time = (d: Date | null) => (d === null ? null : d.getTime())
    /** Every row of a small table, page by page (bounded: at most 1000 pages). */
    const all = async (query: string) => {
      const rows: Array<cassandra.types.Row> = []
      let pageState: string | undefined
      for (let page = 0; page < 1000; page++) {
        const r = await client.execute(query, [], {
          prepare: true,
          fetchSize: 1000,
          ...(pageState ? { pageState } : {}),
        })
        rows.push(...r.rows)
        pageState = r.pageState ?? undefined
        if (!pageState) break
      }
      return rows
    }
    const executions: Array<ExecutionRow> = (await all("SELECT * FROM status_by_day")).map((row) => ({
      job_type: row.get("job_type"),
      job_id: row.get("job_id"),
      lock_type: row.get("lock_type"),
      job_state: row.get("job_state"),
      job_result: row.get("job_result"),
      job_status_ts: time(row.get("job_status_ts"))!,
      fencing_token: row.get("fencing_token") === null ? null : Number(row.get("fencing_token")),
      scheduled_at: time(row.get("scheduled_at")),
      trigger_source: row.get("trigger_source"),
      instance: row.get("instance"),
    }))
    const slots = (await all("SELECT job_type, slot, instance FROM cron_slots")).map((row) => ({
      job_type: row.get("job_type") as string,
      slot: Number(row.get("slot")),
      instance: row.get("instance") as string,
    }))
    // Overlapped slots are events, not statuses: the checker counts them as accounted for.
    const overlaps = (await all("SELECT job_type, kind, count, from_at, to_at FROM events_by_type")).flatMap(
      (row) =>
        row.get("kind") === "overlap"
          ? [
              {
                job_type: row.get("job_type") as string,
                count: Number(row.get("count")),
                from: time(row.get("from_at"))!,
                to: time(row.get("to_at"))!,
              },
            ]
          : [],
    )
    fs.writeFileSync(file, JSON.stringify({ executions, slots, overlaps }))
  } finally {
    await client.shutdown()
  }
}
