/**
 * The fault-injection suite on SQLite: a ledger process, `--workers` chaos workers on one SQLite
 * file, and random faults, one at a time: SIGKILL of a worker (then a restart), SIGSTOP for longer
 * than the lease then SIGCONT (a GC pause; a write the worker sent just before is held by the ledger
 * until a newer token wrote, a write delayed in the network, so fencing has something to refuse), an
 * event-loop stall ("busy": SIGUSR2 makes the worker busy-loop 300-1500 ms, less than the lease),
 * a store stall (this process holds `BEGIN EXCLUSIVE` on the file), and a flood of the HTTP API of
 * the continuous job's holder (chaos/flood.ts): for 2-5 s, up to `--flood-connections` (default
 * 2000) connections from this process on 127.0.0.1, at most 300 awaiting an answer at once, three in
 * four GET /events (100 admitted by the default maxEventStreams, the rest refused with 503) held
 * open until the end, the others GET /health and /jobs/...; then every socket is closed. Nothing
 * excuses a flood in the checker: the flooded worker must keep its lease or lose it cleanly. Its
 * figures (connections, streams admitted and refused, errors, slowest /health) are in the report.
 * Every worker incarnation also gets its own Effect Clock offset, up to +-`--skew-ms` (default
 * 30000; 0 for none). Then a quiet period (the supervisor's grace for dead executions, plus the
 * spread of the clock offsets, which delays its verdict), a graceful shutdown, and chaos/check.ts on
 * what was recorded.
 *
 *   npx tsx chaos/run.ts [--faults 20] [--seconds 120] [--workers 3] [--seed 1] [--skew-ms 30000] [--flood-connections 2000] [--keep] [--write-benchmarks]
 *   npx tsx chaos/run.ts --store cassandra [--no-restart] [--reconnect-ms 500] ...
 *   npx tsx chaos/run.ts --store postgres [--no-restart] [--keep] ...   (npm run chaos -- --store postgres)
 *   npx tsx chaos/run.ts --store cassandra-cluster [--no-restart] ...   (as root, cluster running)
 *   npx tsx chaos/run.ts --sabotage ignore-lease-loss|no-slot-claim|no-fencing-check ...
 *
 * `--sabotage` breaks a guarantee on purpose, to show the checker catches it (the run must FAIL):
 * - ignore-lease-loss: the continuous job keeps writing with its old token after losing its lease
 *   (chaos/worker.ts) -> overlap. The first fault is a pause of the continuous job's holder.
 * - no-slot-claim: every instance's slot claim succeeds, so every instance fires every cron slot
 *   (chaos/worker.ts) -> slotRunTwice.
 * - no-fencing-check: the ledger accepts any token (chaos/ledger.ts) -> staleAccepted. The first
 *   fault is a pause of the holder, whose held write arrives stale.
 *
 * With `--store cassandra` the workers use CassandraLayer on a fresh keyspace (created and migrated
 * here; `npm run cassandra:start` first, CASSANDRA_CONTACT_POINTS defaults to 127.0.0.1), and a store
 * stall is SIGSTOP of the local Cassandra process (pid file of scripts/cassandra/start.sh) for a few
 * seconds, then SIGCONT (always, also on errors). The statuses and slot claims are exported from the
 * keyspace to store.json for the checker. A store restart ("restart", Cassandra only; off with
 * --no-restart) is scripts/cassandra/stop.sh (SIGTERM: the node drains) then start.sh with
 * HA_JOBS_CASSANDRA_KEEP_DATA=1 (same data directory, so rows and fencing tokens survive), each
 * bounded in time. Both scripts and the pid file follow HA_JOBS_CASSANDRA_HOME/_PORT/_STORAGE_PORT
 * from the environment, so set those to run this against a node other than the default one.
 *
 * With `--store postgres` the workers use PgStore.layer on the server of DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres; it must run on this machine), in a fresh schema
 * chaos_<seed>_<time>_<random> created here and migrated by the first worker (as the SQLite file is),
 * with an application_name of their own for the run ("effect-ha-jobs chaos <schema>"). Every store
 * fault selects backends by that name and the database, so nothing else on the server is hit
 * (chaos/postgres.ts has the details):
 * - stall: SIGSTOP of the backends serving the workers for 1.5-4.5 s, then SIGCONT (always: in a
 *   finally, on exit and SIGINT/SIGTERM, and from a detached watchdog should this process be
 *   SIGKILLed). Only backends waiting for their client (wait_event ClientRead, checked once stopped)
 *   stay stopped, so none holds a lock another session of the server could wait for; the scan repeats
 *   every 150 ms, catching the connections the pools open meanwhile.
 * - terminate: a storm of pg_terminate_backend on those backends, every 100 ms for 1-3 s.
 * - restart: `pg_ctlcluster --skip-systemctl-redirect 15 main restart -m fast` (CHAOS_PG_CLUSTER
 *   names another cluster), bounded at 90 s, then connections accepted again within 30 s. It restarts
 *   the whole shared server, so every other user of it loses its connections too: off with
 *   --no-restart (and in npm test, whose other PostgreSQL tests use the server at the same time).
 * The statuses and slot claims are exported from the schema to store.json for the checker, and the
 * schema is dropped at the end, unless --keep or the check failed (its name is then printed).
 *
 * With `--store cassandra-cluster` the workers use the three-node cluster of
 * `npm run cassandra:cluster:start` (CASSANDRA_CLUSTER_CONTACT_POINTS, default 10.77.0.11-13, data
 * center CASSANDRA_CLUSTER_LOCAL_DC, default dc1) on a fresh keyspace with RF 3. Store stalls and
 * restarts give way to the cluster's faults (chaos/cluster.ts, every one undone on exit):
 * - node-kill: kill -9 of a node; while it is down, SIGKILL of the continuous job's holder (failover
 *   with a node down, reported apart); then the node starts again keeping its data (cluster-node.sh).
 * - node-pause: SIGSTOP of a node for 2.5-11 s (past the workers' 2 s request timeout).
 * - node-partition: the node's link down for 2-8 s; client-partition: a blackhole route to it on
 *   the host for 2-8 s (cut off from the clients, still in the cluster).
 * - two-down: two nodes frozen for 3-8 s (no quorum: judged as a store outage).
 * A fault that leaves a quorum up excuses no missed slot. The report adds the unknown LWT outcomes per
 * fault kind and how each was resolved (the workers' logs), and the slots owed while a quorum was up.
 * The statuses are exported at consistency ALL (the run is over, every node up).
 *
 * Exits non-zero on any violation. Everything runs on this machine; every loop is bounded in count and time.
 */
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import Database from "better-sqlite3"
import { machine, writeSection } from "../bench/markdown.js"
import { waitFor as poll, sleep, spawnTsx as tsx } from "../bench/stats.js"
import {
  type CassandraTarget,
  cassandraPid,
  exportCassandra,
  migrateKeyspace,
  restartCassandra,
  resumeCassandra,
  singleNode,
} from "./cassandra.js"
import { type CheckReport, check, formatReport } from "./check.js"
import {
  type ClusterNode,
  clusterContactPoints,
  clusterLocalDc,
  clusterNodes,
  current,
  cutFromClients,
  cutOff,
  freeze,
  healCluster,
  isRunning,
  killNode,
  reconnect,
  reconnectClients,
  startNode,
  thaw,
} from "./cluster.js"
import { DefaultFloodAttempts, type FloodFigures, flood } from "./flood.js"
import type { LedgerEntry } from "./ledger.js"
import {
  applicationName,
  chaosSchema,
  createSchema,
  databaseUrl,
  dropSchema,
  exportPostgres,
  restartPostgres,
  resumeBackends,
  shownUrl,
  stallBackends,
  terminateBackends,
} from "./postgres.js"

/**
 * "terminate" (a pg_terminate_backend storm) exists on PostgreSQL only; the node-* kinds, client-partition
 * and two-down on the three-node Cassandra cluster only (see the header).
 */
export type FaultKind =
  | "kill"
  | "pause"
  | "busy"
  | "stall"
  | "terminate"
  | "restart"
  | "flood"
  | "node-kill"
  | "node-pause"
  | "node-partition"
  | "client-partition"
  | "two-down"

/**
 * A worker's "Cassandra LWT outcome unknown" or "... resolved" log (CassandraLwt), when it was read;
 * the operation and resolution come from its annotations.
 */
export interface LwtEvent {
  readonly at: number
  readonly instance: string
  readonly kind: "unknown" | "resolved"
  readonly operation: string
  readonly resolution?: string | undefined
}

export const sabotageModes = ["ignore-lease-loss", "no-slot-claim", "no-fencing-check", "crash"] as const
export type Sabotage = (typeof sabotageModes)[number]

/** One worker process: its Effect Clock offset and when it lived (real time). */
export interface Incarnation {
  readonly instance: string
  readonly pid: number | undefined
  readonly clockOffsetMs: number
  readonly started: number
  ready: number
  ended: number
}

/** A worker that exited without being told to (no kill fault, no shutdown): a crash. */
export interface Crash {
  readonly instance: string
  readonly pid: number | undefined
  readonly at: number
  readonly exit: string
  /** The first line of its last error output, for the summary; the whole tail is in crash-<instance>.log. */
  readonly error: string
}

export interface Fault {
  readonly kind: FaultKind
  readonly start: number
  end: number
  /** The worker hit (none for a stall, a terminate storm or a restart, which hit the store). */
  readonly instance?: string | undefined
  readonly pid?: number | undefined
  /** The continuous job's token when the fault began, if the target held it. */
  readonly holderToken?: number | undefined
  readonly holderLockType?: string | undefined
  /** A pause: the write of the target the ledger held during it (decided after a newer token). */
  heldWrite?: { readonly lockType: string; readonly token: number } | undefined
  /** A flood: what its connections got (chaos/flood.ts). */
  flood?: FloodFigures | undefined
  /** A stall or terminate storm on PostgreSQL: the backends of the workers stopped or terminated. */
  backends?: number | undefined
  /** A cluster fault: the Cassandra nodes hit (1..3). */
  nodes?: Array<number> | undefined
  /** A kill of a worker inside a node-kill fault: a Cassandra node was down meanwhile. */
  nodeDown?: boolean | undefined
  /** A node-kill: how long the killed node took to start again (cluster-node.sh), ms. */
  nodeStartMs?: number | undefined
}

export interface ChaosOptions {
  readonly faults: number
  readonly seconds: number
  readonly workers: number
  readonly seed: number
  readonly leaseMs: number
  readonly deadAfterMs: number
  readonly dir?: string | undefined
  /**
   * "sqlite" (default), "cassandra" (the local node of `npm run cassandra:start`) or "postgres" (the
   * local server of DATABASE_URL).
   */
  readonly store?: "sqlite" | "cassandra" | "cassandra-cluster" | "postgres" | undefined
  /**
   * With the Cassandra store: also restart the node (stop.sh, start.sh keeping the data); with
   * PostgreSQL, the server (pg_ctlcluster restart); on the cluster, node-kill (kill -9 of a node, then
   * cluster-node.sh start). Default true.
   */
  readonly restart?: boolean | undefined
  /** With PostgreSQL: the server (default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres). */
  readonly databaseUrl?: string | undefined
  /** With PostgreSQL: keep the run's schema (by default dropped at the end unless the check failed). */
  readonly keepSchema?: boolean | undefined
  /** With the Cassandra store: the workers' constant driver reconnection delay (default: the driver's). */
  readonly reconnectMs?: number | undefined
  /** Each worker incarnation's Effect Clock is off by a random amount within +-skewMs (default 30000). */
  readonly skewMs?: number | undefined
  /**
   * The quiet period after the faults (default: the supervisor's grace + 2 leases + 3 s + the spread
   * of the clock offsets, see below).
   */
  readonly quietMs?: number | undefined
  /** Connections a flood fault opens at most (default 2000). */
  readonly floodConnections?: number | undefined
  /** Break a guarantee on purpose (see the header); the run must then fail. */
  readonly sabotage?: Sabotage | undefined
  readonly log?: ((line: string) => void) | undefined
}

export const defaults: ChaosOptions = {
  faults: 20,
  seconds: 120,
  workers: 3,
  seed: Date.now() % 100_000,
  leaseMs: 3_000,
  deadAfterMs: 6_000,
}

/** A small deterministic PRNG (mulberry32), so a run can be repeated with --seed. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Polls every 50 ms; the message names the chaos run. */
const waitFor = <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, ms: number) =>
  poll(`${what} (chaos, ${ms} ms)`, probe, ms, 50)

const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  )

interface Worker {
  readonly slot: number
  current: Incarnation
  incarnation: number
  instance: string
  child: ChildProcess
  output: string
  /** The port of its HTTP API (from its "ready" line). */
  port: number | undefined
}

export const runChaos = async (options: Partial<ChaosOptions> = {}): Promise<CheckReport> => {
  const o: ChaosOptions = { ...defaults, ...options }
  const log = o.log ?? ((line: string) => console.log(line))
  const random = prng(o.seed)
  const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo))
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-"))
  fs.mkdirSync(dir, { recursive: true })
  const db = path.join(dir, "chaos.db")
  const store = o.store ?? "sqlite"
  const cluster = store === "cassandra-cluster"
  const onCassandra = store === "cassandra" || cluster
  const restart = (onCassandra || store === "postgres") && o.restart !== false
  // The cluster's keyspace has a replica on each of the three nodes (RF 3), as in production.
  const target: CassandraTarget = cluster
    ? {
        contactPoints: clusterContactPoints().join(","),
        localDc: clusterLocalDc(),
        replication: `{'class': 'NetworkTopologyStrategy', '${clusterLocalDc()}': 3}`,
      }
    : singleNode()
  let nodes: Array<ClusterNode> = []
  const lwtEvents: Array<LwtEvent> = []
  const keyspace = `chaos_${o.seed}_${Date.now().toString(36)}`.replace(/[^A-Za-z0-9_]/g, "_")
  let stoppedCassandra: number | undefined
  const pgUrl = o.databaseUrl ?? databaseUrl()
  const schema = chaosSchema(o.seed)
  let schemaCreated = false
  let dropSchemaAtEnd = o.keepSchema !== true
  const ledgerFile = path.join(dir, "ledger.jsonl")
  const faults: Array<Fault> = []
  const children = new Set<ChildProcess>()
  const started = Date.now()
  if (store === "cassandra") {
    cassandraPid() // fails early when no local node runs
    migrateKeyspace(keyspace, target)
    log(`chaos: Cassandra keyspace ${keyspace} created on ${target.contactPoints}`)
  }
  if (cluster) {
    const found = clusterNodes(target.contactPoints.split(","))
    if ("why" in found)
      throw new Error(`chaos: --store cassandra-cluster: ${found.why} (npm run cassandra:cluster:start)`)
    nodes = [...found.nodes]
    healCluster() // what an earlier run may have left frozen or cut off
    process.on("exit", healCluster)
    migrateKeyspace(keyspace, target)
    log(
      `chaos: Cassandra keyspace ${keyspace} (${target.replication}) created on the cluster ${target.contactPoints}`,
    )
  }
  const skewMs = o.skewMs ?? 30_000
  const sabotage = o.sabotage
  if (sabotage !== undefined && !sabotageModes.includes(sabotage))
    throw new Error(`chaos: unknown sabotage ${sabotage} (one of ${sabotageModes.join(", ")})`)
  if (store === "postgres") {
    await createSchema(pgUrl, schema)
    schemaCreated = true
    log(
      `chaos: PostgreSQL schema ${schema} created on ${shownUrl(pgUrl)}; workers' application_name "${applicationName(schema)}"`,
    )
  }
  const incarnations: Array<Incarnation> = []
  const crashes: Array<Crash> = []
  // Exits the runner asked for (a kill fault, the final SIGTERM); any other exit is a crash.
  const expectedExits = new WeakSet<ChildProcess>()
  const busyFile = path.join(dir, "busy-ms")
  log(
    `chaos: store ${store}, dir ${dir}, seed ${o.seed}, ${o.workers} workers, lease ${o.leaseMs} ms, clock skew up to +-${skewMs} ms, up to ${o.faults} faults in ${o.seconds} s${sabotage ? `, SABOTAGE ${sabotage}` : ""}`,
  )

  // The ledger: its own process, so that nothing here (a held SQLite lock) can delay its decisions.
  const ledger = tsx("chaos/ledger.ts", {
    CHAOS_LEDGER_FILE: ledgerFile,
    ...(sabotage === "no-fencing-check" ? { CHAOS_LEDGER_ACCEPT_ANY: "1" } : {}),
  })
  children.add(ledger)
  let ledgerOut = ""
  ledger.stdout!.on("data", (d) => (ledgerOut += d))
  ledger.stderr!.on("data", (d) => (ledgerOut += d))
  try {
    const port = await waitFor("the ledger", () => /listening on (\d+)/.exec(ledgerOut)?.[1], 30_000)
    const ledgerUrl = `http://127.0.0.1:${port}`
    const state = async (): Promise<Record<string, LedgerEntry>> => {
      const r = await fetch(`${ledgerUrl}/state`, { signal: AbortSignal.timeout(2_000) })
      return (await r.json()) as Record<string, LedgerEntry>
    }

    const ledgerPost = (what: string) =>
      fetch(`${ledgerUrl}${what}`, { method: "POST", signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      )

    const workers: Array<Worker> = []
    const start = (w: Worker) => {
      w.instance = `w${w.slot}.${w.incarnation}`
      w.output = ""
      w.port = undefined
      const clockOffsetMs = skewMs > 0 ? between(-skewMs, skewMs) : 0
      w.child = tsx("chaos/worker.ts", {
        CHAOS_CLOCK_OFFSET_MS: String(clockOffsetMs),
        CHAOS_BUSY_FILE: busyFile,
        ...(sabotage === "ignore-lease-loss" || sabotage === "no-slot-claim" || sabotage === "crash"
          ? { CHAOS_SABOTAGE: sabotage }
          : {}),
        CHAOS_DB: db,
        CHAOS_STORE: onCassandra ? "cassandra" : store,
        CHAOS_KEYSPACE: keyspace,
        CASSANDRA_CONTACT_POINTS: target.contactPoints,
        CASSANDRA_LOCAL_DC: target.localDc,
        ...(store === "postgres"
          ? {
              CHAOS_PG_URL: pgUrl,
              CHAOS_PG_SCHEMA: schema,
              CHAOS_PG_APPLICATION_NAME: applicationName(schema),
            }
          : {}),
        CHAOS_LEDGER: ledgerUrl,
        CHAOS_INSTANCE: w.instance,
        CHAOS_LEASE_MS: String(o.leaseMs),
        CHAOS_DEAD_AFTER_MS: String(o.deadAfterMs),
        ...(o.reconnectMs === undefined ? {} : { CHAOS_CASSANDRA_RECONNECT_MS: String(o.reconnectMs) }),
      })
      children.add(w.child)
      w.current = {
        instance: w.instance,
        pid: w.child.pid,
        clockOffsetMs,
        started: Date.now(),
        ready: Number.POSITIVE_INFINITY,
        ended: Number.POSITIVE_INFINITY,
      }
      incarnations.push(w.current)
      const instance = w.instance
      let partial = ""
      // The event whose annotations (indented lines: "  operation: acquire") are being read.
      let annotating: { -readonly [K in keyof LwtEvent]: LwtEvent[K] } | undefined
      // Each incarnation's whole output, as it comes: a missed slot is explained by its claimant's
      // log, which the in-memory tail below (20 kB, for readiness and crash reports) had lost.
      const logFile = path.join(dir, `${instance}.log`)
      const onOutput = (d: unknown) => {
        fs.appendFileSync(logFile, String(d))
        if (onCassandra) {
          const lines = (partial + d).split("\n")
          partial = lines.pop() ?? ""
          for (const line of lines) {
            const annotation = /^\s+(operation|resolution)[:=]\s*"?([^"\s]+)/.exec(line)
            if (annotation && annotating)
              annotating[annotation[1] as "operation" | "resolution"] = annotation[2] ?? "?"
            else if (!/^\s/.test(line)) {
              const kind = /Cassandra LWT outcome (unknown|resolved)/.exec(line)?.[1] as
                | LwtEvent["kind"]
                | undefined
              annotating = kind === undefined ? undefined : { at: Date.now(), instance, kind, operation: "?" }
              if (annotating) lwtEvents.push(annotating)
            }
          }
        }
        w.output = (w.output + d).slice(-20_000)
        if (w.current.ready === Number.POSITIVE_INFINITY && /ready/.test(w.output))
          w.current.ready = Date.now()
        if (w.port === undefined) {
          const port = / http 127\.0\.0\.1:(\d+) ready/.exec(w.output)?.[1]
          if (port !== undefined) w.port = Number(port)
        }
      }
      w.child.stdout!.on("data", onOutput)
      w.child.stderr!.on("data", onOutput)
      const child = w.child
      const incarnation = w.current
      child.once("exit", (code, signal) => {
        if (expectedExits.has(child)) return
        incarnation.ended = Date.now()
        const tail = w.output
        fs.writeFileSync(path.join(dir, `crash-${incarnation.instance}.log`), tail)
        // The uncaught error's own line ("TypeError: ..."), not the warnings logged before it.
        const lines = tail
          .split("\n")
          .map((l) => l.trim())
          .reverse()
        const error =
          lines.find((l) => /^[A-Za-z]*Error\b.*:/.test(l)) ?? lines.find((l) => l.length > 0) ?? "no output"
        crashes.push({
          instance: incarnation.instance,
          pid: incarnation.pid,
          at: incarnation.ended,
          exit: signal ?? `code ${code}`,
          error,
        })
        log(`chaos: ${incarnation.instance} CRASHED (${signal ?? `code ${code}`}): ${error}`)
      })
    }
    /**
     * Until a new incarnation is ready, or has died starting (a crash, counted by the checker; the
     * next restartCrashed starts it again), so that one crash does not end the run.
     */
    const startedOrDied = (w: Worker) =>
      waitFor(
        `${w.instance} to restart`,
        () =>
          /ready/.test(w.output) || w.child.exitCode !== null || w.child.signalCode !== null
            ? true
            : undefined,
        60_000,
      )
    /** Crashed workers come back (a supervisor would restart them), so the run goes on. */
    const restartCrashed = async () => {
      for (const w of workers)
        if (!expectedExits.has(w.child) && (w.child.exitCode !== null || w.child.signalCode !== null)) {
          children.delete(w.child)
          w.incarnation++
          start(w)
          await startedOrDied(w)
        }
    }
    for (let i = 1; i <= o.workers; i++) {
      const w = { slot: i, incarnation: 1, instance: "", output: "" } as Worker
      start(w)
      workers.push(w)
      // The first one creates the schema alone.
      if (i === 1)
        await waitFor("worker 1 to start", () => (/ready/.test(w.output) ? true : undefined), 60_000)
    }
    await waitFor(
      "all workers to start",
      () => (workers.every((w) => /ready/.test(w.output)) ? true : undefined),
      60_000,
    )
    await waitFor(
      "the continuous job and the cron job to write",
      async () => {
        const s = await state()
        return s["chaos-continuous"] && s["chaos-cron"] ? true : undefined
      },
      30_000,
    )
    log(`chaos: ${o.workers} workers up after ${Date.now() - started} ms; injecting faults`)

    const allKinds: ReadonlyArray<FaultKind> = cluster
      ? [
          "kill",
          "pause",
          "busy",
          "flood",
          "node-pause",
          "node-partition",
          "client-partition",
          "two-down",
          ...(restart ? (["node-kill"] as const) : []),
        ]
      : [
          "kill",
          "pause",
          "busy",
          "stall",
          ...(store === "postgres" ? (["terminate"] as const) : []),
          "flood",
          ...(restart ? (["restart"] as const) : []),
        ]
    /** `k` distinct cluster nodes, at random, as they run now. */
    const pickNodes = (k: number) =>
      [...nodes]
        .map((n) => ({ n, r: random() }))
        .sort((a, b) => a.r - b.r)
        .slice(0, k)
        .map(({ n }) => current(n))
    /** SIGKILL of a worker, then a new incarnation in its place once it is ready. */
    const killWorker = async (target: Worker) => {
      expectedExits.add(target.child)
      target.child.kill("SIGKILL")
      await exited(target.child)
      target.current.ended = Date.now()
      children.delete(target.child)
      await sleep(between(200, 1_500))
      target.incarnation++
      start(target)
      await startedOrDied(target)
    }
    const newHolderSince = (since: number) =>
      waitFor(
        "a continuous holder after the fault",
        async () => {
          const s = (await state())["chaos-continuous"]
          return s && s.at > since - 1 && Date.now() - s.at < 1_000 ? true : undefined
        },
        4 * o.leaseMs + 10_000,
      ).catch((e) => log(String(e)))
    const floodConnections = o.floodConnections ?? DefaultFloodAttempts
    let kinds: Array<FaultKind> = [...allKinds]
    const faultDeadline = Date.now() + o.seconds * 1000
    for (let n = 0; n < o.faults && Date.now() < faultDeadline; n++) {
      await sleep(between(1_000, 3_000))
      await restartCrashed()
      // Kinds in shuffled rounds (one of each), so that even a short run sees each of them.
      if (n % allKinds.length === 0) kinds = [...allKinds].sort(() => random() - 0.5)
      // Sabotage that needs a stale writer gets one at once: a pause of the continuous holder.
      const forced = n === 0 && (sabotage === "ignore-lease-loss" || sabotage === "no-fencing-check")
      const kind = forced ? "pause" : kinds[n % allKinds.length]!
      const current = (await state())["chaos-continuous"]
      let fault: Fault
      if (kind === "node-pause" || kind === "two-down") {
        // Frozen (SIGSTOP) past the workers' 2 s request timeout, the LWT timeout a client sees; a
        // single node up to 11 s, past the server's 10 s write and CAS timeouts too.
        const hit = pickNodes(kind === "two-down" ? 2 : 1)
        const ms = kind === "two-down" ? between(3_000, 8_000) : between(2_500, 11_000)
        fault = { kind, start: Date.now(), end: 0, nodes: hit.map((n) => n.index) }
        try {
          for (const n of hit) freeze(n)
          await sleep(ms)
        } finally {
          for (const n of hit) thaw(n)
          fault.end = Date.now()
        }
      } else if (kind === "node-partition" || kind === "client-partition") {
        const [n] = pickNodes(1)
        const ms = between(2_000, 8_000)
        fault = { kind, start: Date.now(), end: 0, nodes: [n!.index] }
        try {
          if (kind === "node-partition") cutOff(n!)
          else cutFromClients(n!)
          await sleep(ms)
        } finally {
          if (kind === "node-partition") reconnect(n!)
          else reconnectClients(n!)
          fault.end = Date.now()
        }
      } else if (kind === "node-kill") {
        // kill -9 of a node; with it down, a kill of the continuous job's holder (failover with a node
        // down, measured apart); once a new holder writes, the node starts again keeping its data.
        const [victim] = pickNodes(1)
        fault = { kind, start: Date.now(), end: 0, nodes: [victim!.index] }
        try {
          await killNode(victim!)
          await sleep(between(500, 1_500))
          const holding = (await state())["chaos-continuous"]
          const holder = workers.find((w) => w.child.pid === holding?.pid)
          if (holder && holding) {
            const kill: Fault = {
              kind: "kill",
              start: Date.now(),
              end: 0,
              instance: holder.instance,
              pid: holder.child.pid,
              holderToken: holding.token,
              holderLockType: "chaos-continuous",
              nodeDown: true,
            }
            await killWorker(holder)
            kill.end = Date.now()
            faults.push(kill)
            await newHolderSince(kill.end)
          }
          const t = Date.now()
          const started = await startNode(victim!, log)
          fault.nodeStartMs = Date.now() - t
          nodes = nodes.map((n) => (n.index === started.index ? started : n))
        } finally {
          fault.end = Date.now()
        }
      } else if (kind === "restart") {
        fault = { kind, start: Date.now(), end: 0 }
        try {
          if (store === "postgres") await restartPostgres(pgUrl, log)
          else await restartCassandra(log)
        } finally {
          fault.end = Date.now()
        }
      } else if (kind === "terminate") {
        const ms = between(1_000, 3_000)
        fault = { kind, start: Date.now(), end: 0 }
        try {
          fault.backends = await terminateBackends(pgUrl, schema, ms)
        } finally {
          fault.end = Date.now()
        }
      } else if (kind === "stall") {
        const ms = between(1_500, 4_500)
        fault = { kind, start: Date.now(), end: 0 }
        if (store === "postgres") {
          try {
            fault.backends = await stallBackends(pgUrl, schema, ms)
          } finally {
            resumeBackends()
          }
        } else if (store === "cassandra") {
          const pid = cassandraPid()
          try {
            stoppedCassandra = pid
            process.kill(pid, "SIGSTOP")
            await sleep(ms)
          } finally {
            resumeCassandra(pid)
            stoppedCassandra = undefined
          }
        } else {
          const conn = new Database(db, { timeout: 5_000 })
          try {
            conn.exec("BEGIN EXCLUSIVE")
            await sleep(ms)
            conn.exec("COMMIT")
          } finally {
            conn.close()
          }
        }
        fault.end = Date.now()
      } else {
        // Mostly the holder of the continuous job (the interesting case), sometimes anyone; a flood
        // always the holder (its renewals are what a flood could delay), if there is one.
        const holder = workers.find((w) => w.child.pid === current?.pid)
        const target =
          holder && (forced || kind === "flood" || random() < 0.75)
            ? holder
            : workers[Math.floor(random() * workers.length)]!
        const held = target.child.pid === current?.pid
        fault = {
          kind,
          start: Date.now(),
          end: 0,
          instance: target.instance,
          pid: target.child.pid,
          holderToken: held ? current!.token : undefined,
          holderLockType: held ? "chaos-continuous" : undefined,
        }
        if (kind === "kill") {
          await killWorker(target)
        } else if (kind === "flood") {
          if (target.port === undefined) log(`chaos: ${target.instance} has no HTTP port; no flood`)
          else
            fault.flood = await flood({
              port: target.port,
              attempts: floodConnections,
              ms: between(2_000, 5_000),
            })
        } else if (kind === "busy") {
          const ms = between(300, 1_500)
          fs.writeFileSync(busyFile, String(ms))
          target.child.kill("SIGUSR2")
          await sleep(ms + 100)
        } else {
          const pid = target.child.pid!
          await ledgerPost(`/hold?pid=${pid}`)
          const held = await waitFor(
            "a write to hold",
            async () => {
              const r = await fetch(`${ledgerUrl}/held?pid=${pid}`, { signal: AbortSignal.timeout(2_000) })
              return ((await r.json()) as Fault["heldWrite"] | null) ?? undefined
            },
            1_000,
          ).catch(() => undefined)
          target.child.kill("SIGSTOP")
          await sleep(o.leaseMs + between(500, 2_000))
          if (held) {
            fault.heldWrite = held
            await waitFor(
              "a newer token before releasing the held write",
              async () => (((await state())[held.lockType]?.token ?? 0) > held.token ? true : undefined),
              3 * o.leaseMs,
            ).catch((e) => log(String(e)))
          }
          await ledgerPost(`/release?pid=${pid}`)
          target.child.kill("SIGCONT")
        }
        fault.end = Date.now()
      }
      faults.push(fault)
      const f = fault.flood
      log(
        `chaos: fault ${n + 1} ${fault.kind}${fault.nodes ? ` node ${fault.nodes.join("+")}` : ""}${fault.instance ? ` ${fault.instance}` : ""}${fault.holderToken !== undefined ? " (holder)" : ""} ${fault.end - fault.start} ms${fault.backends === undefined ? "" : `: ${fault.backends} backends ${fault.kind === "stall" ? "stopped" : "terminated"}`}${f ? `: ${f.attempts} connections, /events ${f.admitted} admitted ${f.refused} refused, ${f.requestsOk}/${f.requests} other requests ok, slowest /health ${f.healthSlowestMs} ms, ${f.errors} errors, ${f.unanswered} unanswered, own event loop delayed up to ${f.clientLoopMaxMs} ms` : ""}`,
      )
      // Wait for a holder of the continuous job again before the next fault (bounded).
      await newHolderSince(fault.end)
    }

    // Quiet: the supervisor gets its grace to mark executions of killed workers DEAD.
    // The supervisor judges an execution's age by its own clock, against the status time its writer's
    // clock stamped: one written by a worker whose clock runs ahead looks younger by the difference to
    // a supervisor on a worker whose clock runs behind. The grace covers that spread (up to 2 x skew).
    const live = workers.map((w) => w.current.clockOffsetMs)
    const spreadMs = Math.max(0, Math.max(...incarnations.map((i) => i.clockOffsetMs)) - Math.min(...live))
    const quietMs = o.quietMs ?? o.deadAfterMs + 2 * o.leaseMs + 3_000 + spreadMs
    log(`chaos: ${faults.length} faults injected; quiet for ${quietMs} ms`)
    await sleep(quietMs)
    const quietEnd = Date.now()

    // Graceful shutdown of every worker (SIGTERM: leases released, running jobs CANCELED).
    await restartCrashed()
    for (const w of workers) {
      expectedExits.add(w.child)
      w.child.kill("SIGTERM")
      w.current.ended = Date.now()
    }
    const stopped = await Promise.race([
      Promise.all(workers.map((w) => exited(w.child))).then(() => true),
      sleep(20_000).then(() => false),
    ])
    if (!stopped) log("chaos: a worker did not stop within 20 s of SIGTERM")
    fs.writeFileSync(
      path.join(dir, "faults.json"),
      JSON.stringify(
        {
          options: {
            ...o,
            databaseUrl: store === "postgres" ? shownUrl(pgUrl) : undefined,
            store,
            restart,
            keyspace,
            schema: store === "postgres" ? schema : undefined,
            skewMs,
            sabotage: sabotage ?? null,
          },
          faults,
          incarnations,
          crashes,
          lwt: lwtEvents,
          quietEnd,
          started,
        },
        null,
        2,
      ),
    )
    if (onCassandra) await exportCassandra(keyspace, path.join(dir, "store.json"), target)
    if (store === "postgres") await exportPostgres(pgUrl, schema, path.join(dir, "store.json"))
    const report = check({ dir, leaseMs: o.leaseMs, deadAfterMs: o.deadAfterMs, shutdownClean: stopped })
    log(formatReport(report))
    if (!report.passed && store === "postgres") {
      dropSchemaAtEnd = false
      log(`chaos: PostgreSQL schema ${schema} kept for inspection`)
    }
    return report
  } finally {
    if (cluster) {
      healCluster()
      process.off("exit", healCluster)
      // A run that failed during a node-kill leaves that node down: start it again for the next one.
      for (const n of nodes)
        if (!isRunning(n))
          await startNode(n, log).catch((e) =>
            log(
              `chaos: could not start Cassandra node ${n.index} again: ${e instanceof Error ? e.message : e}`,
            ),
          )
    }
    resumeCassandra(stoppedCassandra)
    resumeBackends()
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
    ledger.kill("SIGTERM")
    if (schemaCreated && dropSchemaAtEnd)
      await dropSchema(pgUrl, schema).catch((e) =>
        log(
          `chaos: could not drop PostgreSQL schema ${schema}: ${e instanceof Error ? e.message : String(e)}`,
        ),
      )
  }
}

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

const stringArg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const store = stringArg("store") ?? "sqlite"
  if (store !== "sqlite" && store !== "cassandra" && store !== "cassandra-cluster" && store !== "postgres")
    throw new Error(`chaos: unknown --store ${store} (sqlite, cassandra, cassandra-cluster or postgres)`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-"))
  const seed = arg("seed", defaults.seed)
  const report = await runChaos({
    dir,
    faults: arg("faults", defaults.faults),
    seconds: arg("seconds", defaults.seconds),
    workers: arg("workers", defaults.workers),
    seed,
    store,
    restart: !process.argv.includes("--no-restart"),
    keepSchema: process.argv.includes("--keep"),
    reconnectMs: stringArg("reconnect-ms") === undefined ? undefined : arg("reconnect-ms", 0),
    skewMs: arg("skew-ms", 30_000),
    floodConnections: arg("flood-connections", DefaultFloodAttempts),
    sabotage: stringArg("sabotage") as Sabotage | undefined,
  })
  if (process.argv.includes("--write-benchmarks")) {
    const command = `npx tsx chaos/run.ts ${process.argv.slice(2).join(" ")}`
    writeSection(
      `chaos-${store}`,
      [
        store === "cassandra-cluster"
          ? "## Fault injection on the three-node Cassandra cluster (chaos)\n\nKeyspace with RF 3; besides the worker faults: node kill -9 + restart (with a kill of the continuous holder while it is down), node SIGSTOP, node cut off, node cut off from the clients, two nodes frozen."
          : store === "cassandra"
            ? "## Fault injection on Cassandra (chaos; store stall = SIGSTOP of the Cassandra process, store restart = stop.sh + start.sh keeping the data)"
            : store === "postgres"
              ? "## Fault injection on PostgreSQL (chaos; store stall = SIGSTOP of the workers' backends, terminate = pg_terminate_backend storm, store restart = pg_ctlcluster restart -m fast)"
              : "## Fault injection on SQLite (chaos)",
        "",
        `Command: \`${command}\` (seed ${seed})`,
        "",
        machine(),
        "",
        "```",
        formatReport(report),
        "```",
      ].join("\n"),
    )
  }
  // A passing run's files are removed unless --keep; a failing run's are kept for inspection.
  if (report.passed && !process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true })
  else console.log(`chaos: run files in ${dir} (check again with: npx tsx chaos/check.ts ${dir})`)
  process.exit(report.passed ? 0 : 1)
}
