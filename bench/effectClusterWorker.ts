/**
 * One @effect/cluster runner for bench/effectCluster.ts: a socket runner (NodeClusterSocket) whose
 * runner and message storage live in PostgreSQL (BENCH_PG_URL), listening on 127.0.0.1:BENCH_RUNNER_PORT.
 * It registers one singleton, "bench-heartbeat", which inserts (pid, Date.now()) into `beats` every
 * 200 ms for as long as this runner holds its shard: the driver reads failover off that table.
 *
 * Every ShardingConfig timing stays at @effect/cluster's defaults (the point of the bench); only the
 * runner's address is set, because the default (localhost:34431) would collide between processes.
 * Prints "ready" once the cluster layer is built; SIGTERM shuts down gracefully (NodeRuntime.runMain).
 */
import { RunnerAddress, Sharding, Singleton } from "@effect/cluster"
import { NodeClusterSocket, NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Console, Effect, Layer, Option, Redacted, Schedule } from "effect"

const url = process.env.BENCH_PG_URL
const port = Number(process.env.BENCH_RUNNER_PORT)
if (!url || !Number.isInteger(port))
  throw new Error("effectClusterWorker: BENCH_PG_URL and BENCH_RUNNER_PORT are required")

// One beat; a failed insert (e.g. a dropped connection) is logged, not fatal: a singleton that dies
// is only restarted by @effect/cluster on the next shard change, which would stall the bench.
const beat = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  yield* sql`INSERT INTO beats (pid, at) VALUES (${process.pid}, ${Date.now()})`
}).pipe(Effect.catchAllCause((cause) => Effect.logWarning("beat failed", cause)))

const Heartbeat = Singleton.make("bench-heartbeat", Effect.repeat(beat, Schedule.spaced("200 millis")))

// "ready" once Sharding exists, i.e. the runner listens and its storage is migrated.
const Ready = Layer.effectDiscard(
  Effect.zipRight(Sharding.Sharding, Console.log(`ready pid=${process.pid} port=${port}`)),
)

const Cluster = NodeClusterSocket.layer({
  storage: "sql",
  // runnerAddress is both what peers dial and (runnerListenAddress unset) what we listen on.
  shardingConfig: {
    runnerAddress: Option.some(RunnerAddress.RunnerAddress.make({ host: "127.0.0.1", port })),
  },
})

const Pg = PgClient.layer({ url: Redacted.make(url), applicationName: `bench effect-cluster ${process.pid}` })

Layer.mergeAll(Heartbeat, Ready).pipe(
  Layer.provide(Cluster),
  Layer.provide(Pg),
  Layer.launch,
  NodeRuntime.runMain,
)
