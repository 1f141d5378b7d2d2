/**
 * One chaos worker: a HaJobs service on a shared SQLite file with a short lease, a continuous job
 * and a cron job every second. Every execution writes through the ledger (chaos/ledger.ts) with its
 * fencing token: at start, every `beatMs` while running, and at the end. A write the ledger refuses
 * (a newer token was seen) fails the execution, as a real protected resource would make it.
 *
 *   CHAOS_DB=/tmp/x.db CHAOS_LEDGER=http://127.0.0.1:PORT CHAOS_INSTANCE=w1 npx tsx chaos/worker.ts
 *
 * On Cassandra instead (keyspace migrated beforehand, see chaos/run.ts --store cassandra):
 *   CHAOS_STORE=cassandra CHAOS_KEYSPACE=ks CASSANDRA_CONTACT_POINTS=127.0.0.1 ... npx tsx chaos/worker.ts
 *
 * On PostgreSQL (PgStore, schema created by chaos/run.ts --store postgres, migrated by the first
 * worker; the application_name is the run's own, which its store faults select backends by):
 *   CHAOS_STORE=postgres CHAOS_PG_URL=postgres://... CHAOS_PG_SCHEMA=s CHAOS_PG_APPLICATION_NAME=n ... npx tsx chaos/worker.ts
 *
 * Faults and sabotage that live in the worker (set by chaos/run.ts):
 * - CHAOS_CLOCK_OFFSET_MS: this instance's Effect Clock is off by that much (clock skew between
 *   hosts). Only the library's services see it; the SQLite store keeps the real clock, since every
 *   SQLite worker shares one host and a host has one clock (Cassandra's expiry is server-side TTL,
 *   PostgreSQL's the server's clock).
 * - SIGUSR2: a synchronous busy loop for the milliseconds in CHAOS_BUSY_FILE (an event-loop stall).
 * - CHAOS_SABOTAGE=crash: the first incarnation of worker 1 dies 5 s after start by an uncaught error
 *   in a timer, as a driver bug once did (cassandra-driver's control connection after a node restart).
 * - CHAOS_SABOTAGE=ignore-lease-loss: the continuous job keeps writing with its old token after the
 *   library interrupted it (for 8 s, ignoring refusals); =no-slot-claim: every slot claim succeeds.
 * - CHAOS_DEFAULTS=1 (bench/failover.ts --defaults): the library's own defaults for the lease, the
 *   continuous job's watch and restart, and the supervisor, instead of the short chaos settings.
 * Every acquisition is reported to the ledger (POST /acquired, with the times the store call began
 * and returned) for the checker's self-fencing margin and token order (not those of /health's store
 * probe, whose reserved lock type no job has); every renewal of the continuous job's lease too
 * (POST /renewed), for the renewal gaps during floods.
 *
 * It also serves the library's HTTP API (HaJobsHttp.layerServer) on 127.0.0.1, on a port the OS
 * picks, named in its "ready" line ("http 127.0.0.1:PORT"): the target of chaos/run.ts's flood
 * fault. The HTTP settings ignore the environment (no HA_JOBS_API_TOKEN, default maxEventStreams),
 * so every worker answers the flood alike.
 */
import * as fs from "node:fs"
import { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import cassandra from "cassandra-driver"
import { Clock, ConfigProvider, Context, Data, Effect, Layer, Option, Schedule } from "effect"
import { JobContext } from "../src/core/JobContext.js"
import { CassandraLayer, HaJobs, HaJobsHttp, Job, PgStore, SqliteLayer } from "../src/index.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { ProbeType } from "../src/ports/StoreProbe.js"

const env = (name: string, fallback?: string) => {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`chaos worker: ${name} is not set`)
  return value
}

const store = env("CHAOS_STORE", "sqlite")
const ledger = env("CHAOS_LEDGER")
const instance = env("CHAOS_INSTANCE")
const ttlMs = Number(env("CHAOS_LEASE_MS", "3000"))
const beatMs = Number(env("CHAOS_BEAT_MS", "200"))
const cronWorkMs = Number(env("CHAOS_CRON_WORK_MS", "300"))
const deadAfterMs = Number(env("CHAOS_DEAD_AFTER_MS", "6000"))
const clockOffsetMs = Number(env("CHAOS_CLOCK_OFFSET_MS", "0"))
const sabotage = env("CHAOS_SABOTAGE", "none")
if (sabotage === "crash" && instance === "w1.1")
  setTimeout(() => {
    throw new TypeError("Cannot read properties of null (reading 'once') [injected crash]")
  }, 5_000)
const busyFile = process.env.CHAOS_BUSY_FILE

// A true event-loop stall: nothing else in this process runs until it returns (timers, sockets, the
// lease keeper), unlike an Effect.sleep.
process.on("SIGUSR2", () => {
  const ms = busyFile ? Number(fs.readFileSync(busyFile, "utf8")) : 500
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy
  }
})

const real = Clock.make()
const skewed: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + clockOffsetMs,
  currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + clockOffsetMs),
  unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + BigInt(clockOffsetMs) * 1_000_000n,
  currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + BigInt(clockOffsetMs) * 1_000_000n),
  sleep: (d) => real.sleep(d),
}

class StaleWrite extends Data.TaggedError("StaleWrite")<{ readonly message: string }> {}

export type WriteKind = "start" | "beat" | "end"

/** One write to the protected resource; fails with StaleWrite when the ledger refuses the token. */
const write = (kind: WriteKind) =>
  Effect.gen(function* () {
    const ctx = yield* JobContext
    const body = JSON.stringify({
      lockType: ctx.lockType,
      jobType: ctx.jobType,
      jobId: ctx.jobId,
      token: ctx.fencingToken,
      kind,
      instance,
      pid: process.pid,
      scheduledAt: Option.getOrNull(ctx.scheduledAt),
      // Real time, whatever the skew: the checker compares it with the ledger's clock on this host.
      sentAt: Date.now(),
      clockAt: yield* Clock.currentTimeMillis,
    })
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(`${ledger}/write`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]),
        }),
      catch: (e) => new StaleWrite({ message: `ledger unreachable: ${String(e)}` }),
    })
    if (!response.ok) {
      const why = yield* Effect.promise(() => response.text())
      return yield* new StaleWrite({ message: `ledger answered ${response.status}: ${why}` })
    }
  })

const defaults = process.env.CHAOS_DEFAULTS === "1"
const lease = defaults ? undefined : { ttl: `${ttlMs} millis` as const }

/**
 * Sabotage: the beats run in a daemon fiber, out of reach of the library's interrupt on lease loss,
 * and ignore the ledger's refusals; they stop 8 s after the job was interrupted (bounded).
 */
const ignoringLeaseLoss = Effect.gen(function* () {
  let stopAt = Number.POSITIVE_INFINITY
  const beats = Effect.sleep(`${beatMs} millis`).pipe(
    Effect.zipRight(Effect.either(write("beat"))),
    Effect.repeat({ while: () => Date.now() < stopAt }),
  )
  const fiber = yield* Effect.forkDaemon(beats)
  yield* fiber.await.pipe(Effect.onInterrupt(() => Effect.sync(() => (stopAt = Date.now() + 8_000))))
  return "never"
})

const continuous = Job.make({
  type: "chaos-continuous",
  lease,
  continuous: defaults ? true : { watchEvery: "200 millis", restartDelay: "500 millis" },
  run: Effect.gen(function* () {
    yield* write("start")
    if (sabotage === "ignore-lease-loss") return yield* ignoringLeaseLoss
    yield* write("beat").pipe(
      Effect.repeat(Schedule.spaced(`${beatMs} millis`)),
      Effect.delay(`${beatMs} millis`),
    )
    return "never"
  }),
})

const cron = Job.make({
  type: "chaos-cron",
  lease,
  cron: "* * * * * ?",
  retries: 0,
  run: Effect.gen(function* () {
    yield* write("start")
    yield* Effect.sleep(`${cronWorkMs / 2} millis`)
    yield* write("beat")
    yield* Effect.sleep(`${cronWorkMs / 2} millis`)
    yield* write("end")
    return { ok: true }
  }),
})

const Store =
  store === "cassandra"
    ? CassandraLayer.layer({
        contactPoints: env("CASSANDRA_CONTACT_POINTS").split(","),
        // dc1 on the three-node cluster (run.ts --store cassandra-cluster).
        ...(process.env.CASSANDRA_LOCAL_DC ? { localDataCenter: process.env.CASSANDRA_LOCAL_DC } : {}),
        keyspace: env("CHAOS_KEYSPACE"),
        requestTimeout: `${Number(env("CHAOS_CASSANDRA_REQUEST_TIMEOUT_MS", "2000"))} millis`,
        connectTimeout: "10 seconds",
        // A node with PasswordAuthenticator (CI): the same credentials as the migration.
        ...(process.env.CASSANDRA_USERNAME
          ? { username: process.env.CASSANDRA_USERNAME, password: env("CASSANDRA_PASSWORD") }
          : {}),
        // CHAOS_CASSANDRA_RECONNECT_MS (run.ts --reconnect-ms): a constant reconnection delay instead of
        // the driver's default exponential one (1 s, 2 s, 4 s, ... after the node went down).
        ...(process.env.CHAOS_CASSANDRA_RECONNECT_MS
          ? {
              clientOptions: {
                policies: {
                  reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(
                    Number(process.env.CHAOS_CASSANDRA_RECONNECT_MS),
                  ),
                },
              },
            }
          : {}),
      })
    : store === "postgres"
      ? PgStore.layer({
          url: env("CHAOS_PG_URL"),
          schema: env("CHAOS_PG_SCHEMA"),
          applicationName: env("CHAOS_PG_APPLICATION_NAME"),
        })
      : SqliteLayer.layer({ filename: env("CHAOS_DB") })

/**
 * An acquisition (or a renewal) for the ledger: the store call began at `sentAt` and returned at
 * `acquiredAt` (the new holder can act on the lock no earlier). Fire and forget, so it never delays
 * the acquisition.
 */
const reportAcquired = (
  lockType: string,
  jobId: string,
  token: number,
  sentAt: number,
  renewal?: { readonly result: string },
) => {
  const acquiredAt = Date.now()
  fetch(`${ledger}/${renewal ? "renewed" : "acquired"}`, {
    method: "POST",
    body: JSON.stringify({
      lockType,
      jobType: "",
      jobId,
      token,
      instance,
      pid: process.pid,
      sentAt,
      acquiredAt,
      ...renewal,
    }),
    headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(2_000),
  }).catch(() => undefined)
}

const Repositories = Layer.effectContext(
  Effect.gen(function* () {
    const locks = yield* LockRepository
    const statuses = yield* StatusRepository
    const wrapped = LockRepository.of({
      ...locks,
      acquire: (request) =>
        Effect.suspend(() => {
          const before = Date.now()
          return Effect.tap(locks.acquire(request), (result) => {
            if (result._tag === "Acquired" && request.lockType !== ProbeType)
              reportAcquired(request.lockType, request.jobId, result.token, before)
          })
        }),
      // The continuous job's renewals, for the renewal gaps during floods of the HTTP API.
      renew: (key, ttl) =>
        key.lockType !== continuous.type
          ? locks.renew(key, ttl)
          : Effect.suspend(() => {
              const before = Date.now()
              return Effect.onExit(locks.renew(key, ttl), (exit) =>
                Effect.sync(() =>
                  reportAcquired(key.lockType, key.jobId, key.token, before, {
                    result: exit._tag === "Success" ? exit.value : "error",
                  }),
                ),
              )
            }),
      ...(sabotage === "no-slot-claim" ? { claimSlot: () => Effect.succeed(true) } : {}),
    })
    return Context.make(LockRepository, wrapped).pipe(Context.add(StatusRepository, statuses))
  }),
).pipe(Layer.provide(Store))

// The supervisor with the same short lease: its default 60 s lease would leave dead executions
// PENDING for a minute after its holder is killed. The skewed Clock applies to building the service
// (and so to every fiber it forks), not to the store, which was built before with the real clock.
const Service = HaJobs.layer([continuous, cron], {
  instance,
  supervisor: defaults ? {} : { cron: "* * * * * ?", deadAfter: `${deadAfterMs} millis`, lease },
}).pipe(Layer.locallyEffect(Effect.withClock(skewed)), Layer.provide(Repositories))

// The HTTP API on 127.0.0.1, port picked by the OS; settings from defaults only (an empty config
// provider: nothing from this process' environment), so no token is asked and the streams cap is
// the library's default.
const Http = HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1" }).pipe(
  Layer.locallyEffect(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))),
  Layer.provideMerge(Service),
)

Effect.gen(function* () {
  const address = (yield* HttpServer.HttpServer).address
  const http = address._tag === "TcpAddress" ? `${address.hostname}:${address.port}` : "none"
  yield* Effect.log(
    `chaos worker ${instance} pid ${process.pid} clock offset ${clockOffsetMs} ms sabotage ${sabotage} http ${http} ready`,
  )
  return yield* Effect.never
}).pipe(Effect.provide(Http), NodeRuntime.runMain)
