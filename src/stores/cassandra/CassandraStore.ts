import { Config, type ConfigError, Effect, Layer, Option, Schedule, type Scope } from "effect"
import { CqlFailure, StoreError } from "../../domain/Errors.js"
import * as Metrics from "../../domain/Metrics.js"
import * as Env from "../../Env.js"
import type { LockRepository } from "../../ports/LockRepository.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import { boundLocks, boundStatuses, isNoAnswer } from "../../ports/StoreBounds.js"
import * as StoreProbe from "../../ports/StoreProbe.js"
import { type CassandraOptions, config, resolveEffect } from "./CassandraConfig.js"
import { makeLocks } from "./CassandraLocks.js"
import { makeStatuses } from "./CassandraStatuses.js"
import { checkSchema } from "./CassandraTables.js"
import { warnAtStart } from "./CassandraTopology.js"
import { type Client, connect, makeSession } from "./Driver.js"

export type {
  CassandraConfig,
  CassandraOptions,
  Consistency,
  SerialConsistency,
} from "./CassandraConfig.js"
export { config, defaults } from "./CassandraConfig.js"
export { leaseTtlSeconds } from "./CassandraLocks.js"

/**
 * @deprecated Use `Metrics.cassandraLwtOutcomeUnknown`: every metric is in Metrics, named `ha_jobs_*`
 * (this one is now `ha_jobs_cassandra_lwt_outcome_unknown_total`, was `effect_ha_jobs_cassandra_lwt_outcome_unknown`).
 */
export const lwtOutcomeUnknown = Metrics.cassandraLwtOutcomeUnknown

export interface CassandraStores {
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
  /** The connected cassandra-driver client (shut down when the scope closes). */
  readonly client: Client
  /** For messages: "Cassandra at host1,host2, keyspace ha_jobs". */
  readonly name: string
}

/**
 * Connects (one cassandra-driver Client in the current scope, shut down when it closes), checks that
 * the keyspace has the tables of migrations/cassandra, and builds both repositories on it. Fails
 * within `connectTimeout` (plus a request timeout for the schema check and up to three for one write) with an error
 * that names what is wrong and how to fix it: unreachable contact points, unknown data center,
 * missing or rejected credentials, missing keyspace, tables or columns, a keyspace that cannot take
 * a write (too few replicas up for its replication and consistency, no MODIFY permission).
 */
export const make = (options: CassandraOptions): Effect.Effect<CassandraStores, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = yield* resolveEffect(options)
    const client = yield* connect(resolved)
    const session = makeSession(client, resolved)
    yield* checkSchema(session)
    yield* warnAtStart(session)
    const lockRepository = makeLocks(session)
    const statusRepository = makeStatuses(session)
    const name = `Cassandra at ${resolved.contactPoints.join(",")}, keyspace ${resolved.keyspace}`
    // A keyspace that reads but cannot take a write at the configured consistency (replicas down or
    // missing, no MODIFY permission) would start and fail every trigger; one write tells. A timeout
    // is tried again, 1 s apart, for up to 20 s (then the last try's bound): on a cluster a node that
    // just died still gets requests until gossip convicts it (10-30 s), and one just restarted may
    // answer slowly; a process starting then should not exit for that. Chaos workers did: one 2 s
    // after a node's kill -9 (cut off at the 10 s bound), one with a node down and another restarted
    // 23 s before (two timeouts, 1 s apart). A refusal is not tried again.
    yield* StoreProbe.check(boundLocks(lockRepository), boundStatuses(statusRepository)).pipe(
      Effect.retry({
        schedule: Schedule.spaced("1 second").pipe(Schedule.upTo("20 seconds")),
        while: timedOut,
      }),
      Effect.mapError((e) =>
        StoreError.of(
          "open",
          `cannot use ${name}: ${e.operation} failed: ${e.message}${probeHint(e.message)}`,
          e,
        ),
      ),
    )
    return { lockRepository, statusRepository, client, name }
  })

/**
 * A call that timed out after it was sent, or was cut off at the store's bound (its outcome unknown):
 * worth another try, unlike a refusal.
 */
const timedOut = (e: StoreError) => (e.cause instanceof CqlFailure && e.cause.outcomeUnknown) || isNoAnswer(e)

/** What to do about the usual reasons a reachable, migrated keyspace refuses the probe's write. */
const probeHint = (message: string): string =>
  /Not enough replicas|Unavailable/i.test(message)
    ? `; fewer replicas are up than the keyspace's replication and ${Env.CassandraConsistency.name} / ${Env.CassandraSerialConsistency.name} need (QUORUM and SERIAL need a majority of the replicas): start the missing nodes, or lower the replication factor (ALTER KEYSPACE) or the consistency`
    : /permission|Unauthorized/i.test(message)
      ? `; grant SELECT and MODIFY on the keyspace to ${Env.CassandraUsername.name}`
      : ""

/** Both repositories on one Cassandra keyspace. */
export const layer = (
  options: CassandraOptions,
): Layer.Layer<LockRepository | StatusRepository, StoreError> =>
  Layer.scopedContext(Effect.map(make(options), (stores) => StoreProbe.storeContext(stores, stores.name)))

/**
 * Both repositories, the options read from a Config (Effect's meaning of `layerConfig`): one Config
 * for all of them, or one per field (`Config.Wrap`).
 */
export const layerConfig = (
  config: Config.Config.Wrap<CassandraOptions>,
): Layer.Layer<LockRepository | StatusRepository, StoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/**
 * Both repositories, configured from the environment (the CASSANDRA_* variables of Env):
 * CASSANDRA_CONTACT_POINTS (required, comma list), CASSANDRA_LOCAL_DC (datacenter1),
 * CASSANDRA_KEYSPACE (ha_jobs), CASSANDRA_CONSISTENCY (LOCAL_QUORUM), CASSANDRA_SERIAL_CONSISTENCY
 * (SERIAL), CASSANDRA_USERNAME and CASSANDRA_PASSWORD (optional), CASSANDRA_REQUEST_TIMEOUT
 * (12 seconds), CASSANDRA_CONNECT_TIMEOUT (10 seconds), CASSANDRA_STATUS_RETENTION (14 days).
 */
export const layerFromEnv = (): Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> => layerConfig(config)

/** What `layerFromEnv` would use, for start-up messages (no credentials). */
export const describeFromEnv: Effect.Effect<string, ConfigError.ConfigError> = Effect.gen(function* () {
  const points = yield* Config.option(Env.CassandraContactPoints.config)
  const keyspace = yield* Env.CassandraKeyspace.config
  return `Cassandra at ${Option.match(points, { onNone: () => "?", onSome: (p) => p.join(",") })}, keyspace ${keyspace}`
})
