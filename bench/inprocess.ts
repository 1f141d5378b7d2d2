/**
 * In-process measurements on Memory and SQLite (and Cassandra when CASSANDRA_CONTACT_POINTS is set:
 * a fresh keyspace is created with scripts/migrate-cassandra.ts), through an instrumented store (every repository
 * call counted; renewals can be made to hang, as a stalled store would):
 * trigger-to-running latency, cron firing lag, store calls per renewal, local deadline to the job's
 * interruption and its margin to the store's expiry, and HTTP status reads under autocannon load
 * while a lease renews (renewal interval vs nominal).
 *
 *   npx tsx bench/inprocess.ts [--triggers 200] [--seconds 10]
 *   CASSANDRA_CONTACT_POINTS=127.0.0.1:9142 npx tsx bench/inprocess.ts   # adds a "cassandra" column
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import autocannon from "autocannon"
import { Context, Duration, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { migrateKeyspace } from "../chaos/cassandra.js"
import { applicationName, createSchema, databaseUrl, dropSchema } from "../chaos/postgres.js"
import { JobContext } from "../src/core/JobContext.js"
import type { StoreError } from "../src/domain/Errors.js"
import {
  CassandraLayer,
  HaJobs,
  HaJobsHttp,
  Job,
  JobManager,
  MemoryLayer,
  PgStore,
  SqliteLayer,
} from "../src/index.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { reachable } from "./pgboss.js"
import { ms, percentile, ratio, type Section } from "./stats.js"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

/** Counts every repository call by `method:lockType-or-jobType`; renewals hang while `stall` is set. */
class Probe {
  counts = new Map<string, number>()
  renewals: Array<{ lockType: string; sentAt: number; doneAt: number; result: string }> = []
  acquisitions: Array<{ lockType: string; sentAt: number; token: number }> = []
  stall = false
  count(key: string) {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }
  callsFor(name: string) {
    const out: Record<string, number> = {}
    for (const [k, n] of this.counts) if (k.endsWith(`:${name}`)) out[k.slice(0, k.indexOf(":"))] = n
    return out
  }
  reset() {
    this.counts.clear()
    this.renewals = []
  }
}

const subject = (args: ReadonlyArray<unknown>) => {
  const a = args[0] as { lockType?: unknown; jobType?: unknown } | string | undefined
  if (typeof a === "string") return a
  return String(a?.lockType ?? a?.jobType ?? "?")
}

const countAll = <S extends object>(probe: Probe, service: S): S =>
  Object.fromEntries(
    Object.entries(service).map(([k, f]) => [
      k,
      typeof f === "function"
        ? (...args: Array<unknown>) => {
            probe.count(`${k}:${subject(args)}`)
            return f(...args)
          }
        : f,
    ]),
  ) as S

const instrument = <E>(probe: Probe, base: Layer.Layer<LockRepository | StatusRepository, E>) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const locks = yield* LockRepository
      const statuses = yield* StatusRepository
      const counted = countAll(probe, locks)
      const wrapped = LockRepository.of({
        ...counted,
        acquire: (request) =>
          Effect.suspend(() => {
            const sentAt = performance.now()
            return Effect.tap(counted.acquire(request), (r) =>
              Effect.sync(() => {
                if (r._tag === "Acquired")
                  probe.acquisitions.push({ lockType: request.lockType, sentAt, token: r.token })
              }),
            )
          }),
        renew: (key, ttl) =>
          Effect.suspend(() => {
            const sentAt = performance.now()
            const call: Effect.Effect<"renewed" | "lost" | "cancel-requested", StoreError> = probe.stall
              ? Effect.zipRight(
                  Effect.sync(() => probe.count(`renew:${key.lockType}`)),
                  Effect.never,
                )
              : counted.renew(key, ttl)
            return Effect.tap(call, (result) =>
              Effect.sync(() =>
                probe.renewals.push({ lockType: key.lockType, sentAt, doneAt: performance.now(), result }),
              ),
            )
          }),
      })
      return Context.make(LockRepository, wrapped).pipe(
        Context.add(StatusRepository, countAll(probe, statuses)),
      )
    }),
  ).pipe(Layer.provide(base))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

interface StoreResult {
  readonly store: string
  triggerToRunning: Array<number>
  cronLag: Array<number>
  callsPerRenewal: Record<string, number>
  renewalsCounted: number
  deadline: Array<{ late: number; margin: number }>
  http: { p50: number; p99: number; requests: number; rps: number; errors: number }
  renewIntervals: Array<number>
  renewNominal: number
}

const TTL_MS = 3_000

const measure = (store: string, base: Layer.Layer<LockRepository | StatusRepository, unknown>) =>
  Effect.gen(function* () {
    const probe = new Probe()
    const started = new Map<string, number>()
    const interrupted = new Map<string, number>()
    const cronLag: Array<number> = []
    const lease = { ttl: `${TTL_MS} millis` as const }
    const quick = Job.make({
      type: "bench-trigger",
      lease,
      run: Effect.flatMap(JobContext, (ctx) => Effect.sync(() => started.set(ctx.jobId, performance.now()))),
    })
    const cron = Job.make({
      type: "bench-cron",
      lease,
      cron: "* * * * * ?",
      retries: 0,
      run: Effect.flatMap(JobContext, (ctx) =>
        Effect.sync(() => Option.map(ctx.scheduledAt, (slot) => cronLag.push(Date.now() - slot))),
      ),
    })
    const holder = (type: string) =>
      Job.make({
        type,
        lease,
        run: Effect.flatMap(JobContext, (ctx) =>
          Effect.never.pipe(
            Effect.onInterrupt(() => Effect.sync(() => interrupted.set(ctx.jobId, performance.now()))),
          ),
        ),
      })
    const port = yield* Effect.promise(freePort)
    const service = HaJobs.layer([quick, cron, holder("bench-steady"), holder("bench-stall")], {
      supervisor: false,
      instance: `bench-${store}`,
    }).pipe(Layer.provide(instrument(probe, base)))
    const app = HaJobsHttp.layerServer({ port, host: "127.0.0.1" }).pipe(Layer.provideMerge(service))

    return yield* Effect.gen(function* () {
      const manager = yield* JobManager.JobManager
      const startedJob = (type: string) =>
        Effect.flatMap(manager.trigger(type), (r) =>
          r._tag === "Started" ? Effect.succeed(r.jobId) : Effect.dieMessage(`${type}: ${r._tag}`),
        )

      // Trigger to running: trigger() called -> first line of `run`.
      const triggerToRunning: Array<number> = []
      const triggers = arg("triggers", 200)
      for (let i = 0; i < triggers + 10; i++) {
        const t0 = performance.now()
        const jobId = yield* startedJob("bench-trigger")
        yield* manager.awaitExecution(jobId)
        if (i >= 10) triggerToRunning.push(started.get(jobId)! - t0)
      }

      // Store calls per renewal of one running execution, in steady state.
      const steadyId = yield* startedJob("bench-steady")
      yield* Effect.sleep("1500 millis")
      probe.reset()
      const seconds = arg("seconds", 10)
      yield* Effect.sleep(`${seconds} seconds`)
      const calls = probe.callsFor("bench-steady")
      const renewalsCounted = calls.renew ?? 0
      const callsPerRenewal = Object.fromEntries(
        Object.entries(calls).map(([k, n]) => [k, n / Math.max(1, renewalsCounted)]),
      )

      // HTTP status reads under load while the steady lease renews.
      probe.reset()
      const result = yield* Effect.promise(() =>
        autocannon({
          url: `http://127.0.0.1:${port}/jobs/bench-steady/${steadyId}`,
          connections: 10,
          duration: seconds,
        }),
      )
      const intervals = probe.renewals
        .filter((r) => r.lockType === "bench-steady")
        .map((r) => r.sentAt)
        .sort((a, b) => a - b)
        .slice(1)
        .map((t, i, a) => (i === 0 ? Number.NaN : t - a[i - 1]!))
        .filter(Number.isFinite)
      const http = {
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
        rps: result.requests.average,
        errors: result.errors + result.non2xx,
      }
      yield* manager.cancel("bench-steady")

      // Local deadline -> interruption, and the margin left before the store could expire the lease.
      const deadline: Array<{ late: number; margin: number }> = []
      const timing = (yield* manager.job("bench-stall")).timing
      const ttl = TTL_MS
      const margin = Duration.toMillis(timing.margin)
      for (let i = 0; i < 5; i++) {
        probe.renewals = []
        // The previous lost lease is not released (no longer ours): it expires in the store first.
        let jobId: string | undefined
        for (let k = 0; k < 100 && jobId === undefined; k++) {
          const r = yield* manager.trigger("bench-stall")
          if (r._tag === "Started") jobId = r.jobId
          else yield* Effect.sleep("100 millis")
        }
        if (jobId === undefined) return yield* Effect.dieMessage("bench-stall never started")
        yield* Effect.sleep(`${TTL_MS / 3 + 500} millis`)
        probe.stall = true
        const t = performance.now()
        while (!interrupted.has(jobId) && performance.now() - t < 2 * TTL_MS) yield* Effect.sleep("10 millis")
        probe.stall = false
        const confirmed = probe.renewals.filter((r) => r.lockType === "bench-stall" && r.result === "renewed")
        const acquired = probe.acquisitions.filter((a) => a.lockType === "bench-stall").at(-1)!
        const lastSent = Math.max(acquired.sentAt, ...confirmed.map((r) => r.sentAt))
        const at = interrupted.get(jobId)
        if (at !== undefined)
          deadline.push({ late: at - (lastSent + ttl - margin), margin: lastSent + ttl - at })
        yield* manager.awaitExecution(jobId)
      }

      return {
        store,
        triggerToRunning,
        cronLag: cronLag.slice(1),
        callsPerRenewal,
        renewalsCounted,
        deadline,
        http,
        renewIntervals: intervals,
        renewNominal: TTL_MS / 3,
      } satisfies StoreResult
    }).pipe(Effect.provide(app))
  })

/** A fresh keyspace on CASSANDRA_CONTACT_POINTS, created and migrated by scripts/migrate-cassandra.ts. */
const cassandraLayer = (contactPoints: string) => {
  const keyspace = `bench_inprocess_${Date.now().toString(36)}`
  migrateKeyspace(keyspace)
  console.log(`bench/inprocess: Cassandra keyspace ${keyspace} created on ${contactPoints}`)
  return CassandraLayer.layer({
    contactPoints: contactPoints.split(","),
    keyspace,
    ...(process.env.CASSANDRA_LOCAL_DC ? { localDataCenter: process.env.CASSANDRA_LOCAL_DC } : {}),
  })
}

export const run = async (): Promise<Section> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-bench-"))
  const pgSchema = `bench_inprocess_${Date.now().toString(36)}`
  const results: Array<StoreResult> = []
  const contactPoints = process.env.CASSANDRA_CONTACT_POINTS
  try {
    const stores: Array<readonly [string, Layer.Layer<LockRepository | StatusRepository, unknown>]> = [
      ["memory", MemoryLayer],
      ["sqlite", SqliteLayer.layer({ filename: path.join(dir, "bench.db") })],
    ]
    // PostgreSQL when one answers at DATABASE_URL: a fresh schema, dropped at the end.
    const pgUrl = databaseUrl()
    if (await reachable(pgUrl)) {
      await createSchema(pgUrl, pgSchema)
      stores.push([
        "postgres",
        PgStore.layer({ url: pgUrl, schema: pgSchema, applicationName: applicationName(pgSchema) }),
      ])
    } else console.log(`bench/inprocess: no PostgreSQL at DATABASE_URL; no postgres column`)
    if (contactPoints) stores.push(["cassandra", cassandraLayer(contactPoints)])
    else console.log("bench/inprocess: CASSANDRA_CONTACT_POINTS is not set; no cassandra column")
    for (const [store, layer] of stores) {
      console.log(`bench/inprocess: ${store} ...`)
      results.push(
        await Effect.runPromise(
          Effect.scoped(measure(store, layer)).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
        ),
      )
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    await dropSchema(databaseUrl(), pgSchema).catch(() => undefined)
  }
  const row = (label: string, f: (r: StoreResult) => string) => `| ${label} | ${results.map(f).join(" | ")} |`
  const lines = [
    `| measurement (lease ttl ${TTL_MS} ms, renewal every ${TTL_MS / 3} ms, margin ${TTL_MS / 10} ms) | ${results.map((r) => r.store).join(" | ")} |`,
    `|---|${results.map(() => "---:").join("|")}|`,
    row(
      "trigger → running p50 / p99 (ms)",
      (r) => `${ms(percentile(r.triggerToRunning, 50))} / ${ms(percentile(r.triggerToRunning, 99))}`,
    ),
    row(
      "cron firing lag p50 / p99 (ms after the slot)",
      (r) => `${ms(percentile(r.cronLag, 50))} / ${ms(percentile(r.cronLag, 99))}`,
    ),
    row(
      "store calls per renewal of a running execution",
      (r) =>
        `${Object.entries(r.callsPerRenewal)
          .map(([k, n]) => `${k} ${ratio(n)}`)
          .join(", ")} (${r.renewalsCounted} renewals)`,
    ),
    row("stalled store: interruption after the local deadline, max (ms)", (r) =>
      ms(Math.max(...r.deadline.map((d) => d.late))),
    ),
    row(
      "stalled store: margin from interruption to the earliest store expiry, min (ms) / min ÷ configured margin",
      (r) => {
        const m = Math.min(...r.deadline.map((d) => d.margin))
        return `${ms(m)} / ${ratio(m / (TTL_MS / 10))} (n=${r.deadline.length})`
      },
    ),
    row(
      "HTTP GET one status under load (10 connections): p50 / p99 (ms), req/s",
      (r) => `${r.http.p50} / ${r.http.p99}, ${r.http.rps.toFixed(0)} (${r.http.errors} errors)`,
    ),
    row(
      "renewal interval under that load: p50 / p99 / max ÷ nominal",
      (r) =>
        `${ratio(percentile(r.renewIntervals, 50) / r.renewNominal)} / ${ratio(percentile(r.renewIntervals, 99) / r.renewNominal)} / ${ratio(Math.max(...r.renewIntervals) / r.renewNominal)}`,
    ),
  ]
  if (contactPoints)
    lines.push(
      "",
      `Cassandra: a fresh keyspace on ${contactPoints} (scripts/migrate-cassandra.ts --create-keyspace), default consistency; the stall is simulated in the wrapped repository as for the other stores. The margin is to the lease's nominal expiry (last confirmed renewal sent + ${TTL_MS} ms); the row's Cassandra TTL is whole seconds, ceil(ttl) + 1 = ${Math.ceil(TTL_MS / 1000) + 1} s, so the row itself outlives that by up to 1 s more.`,
    )
  return {
    title: `In-process: latency, lag, store calls, self-fencing, HTTP under load (${results.map((r) => r.store).join(", ")})`,
    command: `${contactPoints ? `CASSANDRA_CONTACT_POINTS=${contactPoints} ` : ""}npx tsx bench/inprocess.ts [--triggers 200] [--seconds 10]`,
    body: lines.join("\n"),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run()
  console.log(`\n${section.body}\n`)
  process.exit(0)
}
