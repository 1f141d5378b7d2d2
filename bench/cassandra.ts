/**
 * Lease operations on a real Cassandra: acquire, renew and release through the library
 * (CassandraLayer's LockRepository, inside Effect) against a raw cassandra-driver loop issuing the
 * same prepared statements with the same consistency levels, in one run, as ratios.
 *
 *   scripts/cassandra/start.sh            # or any node; CASSANDRA_PAXOS_VARIANT=v2 for Paxos v2
 *   npx tsx bench/cassandra.ts [--cycles 400] [--rounds 4] [--concurrency 16]
 *
 * Connection from CASSANDRA_CONTACT_POINTS (default 127.0.0.1), CASSANDRA_LOCAL_DC, CASSANDRA_USERNAME,
 * CASSANDRA_PASSWORD. It migrates a throw-away keyspace and drops it at the end: SimpleStrategy RF 1, or the
 * replication map in CASSANDRA_BENCH_REPLICATION (on the local cluster of `npm run cassandra:cluster:start`:
 * "{'class': 'NetworkTopologyStrategy', 'dc1': 3}" with CASSANDRA_LOCAL_DC=dc1).
 *
 * Latency: one cycle = acquire, renew, release of one lock type, sequentially; the library and raw
 * runs alternate in rounds so that drift of the node hits both alike. Throughput: `concurrency`
 * workers, each cycling on its own lock type, for the same number of operations.
 */
import cassandra from "cassandra-driver"
import { Duration, Effect, Logger, LogLevel } from "effect"
import type { JobId } from "../src/domain/Ids.js"
import { makeJobId } from "../src/domain/Ids.js"
import type { JobType, LockType } from "../src/domain/Names.js"
import * as CassandraLayer from "../src/stores/cassandra/CassandraLayer.js"
import { leaseTtlSeconds, lockStatements } from "../src/stores/cassandra/CassandraLocks.js"
import { migrate } from "../src/stores/cassandra/CassandraMigrator.js"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const cycles = arg("cycles", 400)
const rounds = arg("rounds", 4)
const concurrency = arg("concurrency", 16)
const warmup = 50

const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? "127.0.0.1").split(",").map((s) => s.trim())
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? "datacenter1"
const username = process.env.CASSANDRA_USERNAME
const password = process.env.CASSANDRA_PASSWORD
const keyspace = `ha_jobs_bench_${Date.now().toString(36)}`
const replication = process.env.CASSANDRA_BENCH_REPLICATION
const options: CassandraLayer.CassandraOptions = {
  contactPoints,
  localDataCenter,
  keyspace,
  username,
  password,
}
const ttl = Duration.seconds(60)
const ttlS = leaseTtlSeconds(ttl)

type Op = "acquire" | "renew" | "release"
type Samples = Record<Op, Array<number>>
const samples = (): Samples => ({ acquire: [], renew: [], release: [] })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** The library: LockRepository operations inside one Effect program. */
const libraryCycles = (
  locks: CassandraLayer.CassandraStores["lockRepository"],
  lockType: LockType,
  n: number,
  into?: Samples,
) =>
  Effect.gen(function* () {
    const jobType = "bench" as JobType
    for (let i = 0; i < n; i++) {
      const jobId = yield* makeJobId
      let t = performance.now()
      const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl })
      into?.acquire.push(performance.now() - t)
      if (acquired._tag !== "Acquired") throw new Error(`library: ${lockType} not acquired`)
      const key = { lockType, jobId, token: acquired.token }
      t = performance.now()
      const renewed = yield* locks.renew(key, ttl)
      into?.renew.push(performance.now() - t)
      if (renewed !== "renewed") throw new Error(`library: renew ${renewed}`)
      t = performance.now()
      const released = yield* locks.release(key)
      into?.release.push(performance.now() - t)
      if (!released) throw new Error("library: not released")
    }
  })

/** The same statements, parameters and consistency levels through cassandra-driver directly. */
const rawCycles = async (client: cassandra.Client, lockType: string, n: number, into?: Samples) => {
  const q = lockStatements((name) => `"${keyspace}".${name}`)
  const opts = {
    prepare: true,
    consistency: cassandra.types.consistencies.localQuorum,
    serialConsistency: cassandra.types.consistencies.localSerial,
  }
  const jobType = "bench"
  let last: { token: number | null; jobType: string | null } = { token: null, jobType: null }
  for (let i = 0; i < n; i++) {
    const jobId = Effect.runSync(makeJobId) as JobId
    const token = (last.token ?? 0) + 1
    let t = performance.now()
    const acquired = await client.execute(
      q.acquire,
      [ttlS, jobId, token, lockType, last.token, last.jobType, token, jobType, lockType],
      opts,
    )
    into?.acquire.push(performance.now() - t)
    if (!acquired.wasApplied()) throw new Error(`raw: ${lockType} not acquired`)
    last = { token, jobType }
    t = performance.now()
    const renewed = await client.execute(q.renew, [ttlS, jobId, token, lockType, jobId, token], opts)
    into?.renew.push(performance.now() - t)
    if (!renewed.wasApplied()) throw new Error("raw: not renewed")
    t = performance.now()
    const released = await client.execute(q.release, [lockType, jobId, token], opts)
    into?.release.push(performance.now() - t)
    if (!released.wasApplied()) throw new Error("raw: not released")
  }
}

const fmt = (ms: number) => ms.toFixed(2)
const ratio = (lib: number, raw: number) => (lib / raw).toFixed(2)

const program = Effect.gen(function* () {
  yield* migrate({ ...options, createKeyspace: { replication } }).pipe(
    Logger.withMinimumLogLevel(LogLevel.Warning),
  )
  const { lockRepository: locks, client } = yield* CassandraLayer.make(options)
  const version = yield* Effect.promise(() => client.execute("SELECT release_version FROM system.local"))
  const paxos = yield* Effect.promise(() =>
    client
      .execute("SELECT value FROM system_views.settings WHERE name = 'paxos_variant'")
      .then((rs) => String(rs.first()?.get("value") ?? "unknown"))
      .catch(() => "unknown"),
  )
  console.log(
    `Cassandra ${String(version.first()?.get("release_version"))}, ${contactPoints.length} contact point(s), replication ${replication ?? "RF 1"}, paxos_variant ${paxos}, ${cycles} cycles x ${rounds} rounds, throughput with ${concurrency} workers; keyspace ${keyspace}`,
  )

  // Warm-up: prepares the statements and the JIT on both paths.
  yield* libraryCycles(locks, "bench-warm-lib" as LockType, warmup)
  yield* Effect.promise(() => rawCycles(client, "bench-warm-raw", warmup))

  const lib = samples()
  const raw = samples()
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so neither always follows the other's compactions.
    const libRound = libraryCycles(locks, `bench-lib-${r}` as LockType, cycles, lib)
    const rawRound = Effect.promise(() => rawCycles(client, `bench-raw-${r}`, cycles, raw))
    yield* r % 2 === 0 ? Effect.zipRight(libRound, rawRound) : Effect.zipRight(rawRound, libRound)
  }

  // Throughput: operations per second with `concurrency` workers on their own lock types.
  const perWorker = Math.max(1, Math.floor(cycles / concurrency) * 2)
  const throughput = { lib: 0, raw: 0 }
  for (let r = 0; r < 2; r++) {
    let t = performance.now()
    yield* Effect.forEach(
      Array.from({ length: concurrency }, (_, w) => w),
      (w) => libraryCycles(locks, `bench-tl-${r}-${w}` as LockType, perWorker),
      { concurrency: "unbounded", discard: true },
    )
    throughput.lib += (concurrency * perWorker * 3) / ((performance.now() - t) / 1000) / 2
    t = performance.now()
    yield* Effect.promise(() =>
      Promise.all(
        Array.from({ length: concurrency }, (_, w) => rawCycles(client, `bench-tr-${r}-${w}`, perWorker)),
      ),
    )
    throughput.raw += (concurrency * perWorker * 3) / ((performance.now() - t) / 1000) / 2
  }

  const lines = [
    "| operation | library p50 (ms) | raw p50 (ms) | p50 ratio | library p99 (ms) | raw p99 (ms) | p99 ratio |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ]
  for (const op of ["acquire", "renew", "release"] as const) {
    const [l50, r50, l99, r99] = [
      percentile(lib[op], 50),
      percentile(raw[op], 50),
      percentile(lib[op], 99),
      percentile(raw[op], 99),
    ]
    lines.push(
      `| ${op} | ${fmt(l50)} | ${fmt(r50)} | ${ratio(l50, r50)} | ${fmt(l99)} | ${fmt(r99)} | ${ratio(l99, r99)} |`,
    )
  }
  const seq = (s: Samples) =>
    (s.acquire.length * 3) / (s.acquire.concat(s.renew, s.release).reduce((a, b) => a + b, 0) / 1000)
  lines.push(
    "",
    "| throughput (lease operations/s) | library | raw | ratio |",
    "|---|---:|---:|---:|",
    `| sequential (1 worker) | ${seq(lib).toFixed(0)} | ${seq(raw).toFixed(0)} | ${ratio(seq(lib), seq(raw))} |`,
    `| ${concurrency} concurrent workers | ${throughput.lib.toFixed(0)} | ${throughput.raw.toFixed(0)} | ${ratio(throughput.lib, throughput.raw)} |`,
  )
  console.log(`\n${lines.join("\n")}\n`)
  yield* Effect.promise(() => client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`))
})

await Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(`bench/cassandra: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  },
)
