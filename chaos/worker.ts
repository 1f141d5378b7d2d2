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
 */
import { NodeRuntime } from "@effect/platform-node"
import cassandra from "cassandra-driver"
import { Data, Effect, Layer, Option, Schedule } from "effect"
import { CassandraLayer, HaJobs, Job, JobContext, SqliteLayer } from "../src/index.js"

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
      sentAt: Date.now(),
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

const lease = { ttl: `${ttlMs} millis` as const }

const continuous = Job.make({
  type: "chaos-continuous",
  lease,
  continuous: { watchEvery: "200 millis", restartDelay: "500 millis" },
  run: Effect.gen(function* () {
    yield* write("start")
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

// The supervisor with the same short lease: its default 60 s lease would leave dead executions
// PENDING for a minute after its holder is killed.
const Service = HaJobs.layer([continuous, cron], {
  instance,
  supervisor: { cron: "* * * * * ?", deadAfter: `${deadAfterMs} millis`, lease },
}).pipe(
  Layer.provide(
    store === "cassandra"
      ? CassandraLayer.layer({
          contactPoints: env("CASSANDRA_CONTACT_POINTS").split(","),
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
      : SqliteLayer.layer({ filename: env("CHAOS_DB") }),
  ),
)

Effect.log(`chaos worker ${instance} pid ${process.pid} ready`).pipe(
  Effect.zipRight(Effect.never),
  Effect.provide(Service),
  NodeRuntime.runMain,
)
