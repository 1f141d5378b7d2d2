import { isIP } from "node:net"
import type { ClientOptions } from "cassandra-driver"
import { Config, ConfigError, Duration, Effect, Either, Option, Redacted } from "effect"
import {
  Consistencies,
  type Consistency,
  SerialConsistencies,
  type SerialConsistency,
} from "../../domain/Consistency.js"
import { StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"

export {
  Consistencies,
  type Consistency,
  SerialConsistencies,
  type SerialConsistency,
} from "../../domain/Consistency.js"

/** What a user passes to `CassandraStore.layer`. Everything but the contact points has a default. */
export interface CassandraOptions {
  /** "host", "host:port" or "[ipv6]:port" (port 9042 by default); a malformed entry is refused. */
  readonly contactPoints: ReadonlyArray<string>
  /** Data center of this instance; the driver only routes to it. Default "datacenter1". */
  readonly localDataCenter?: string | undefined
  /** Keyspace holding the tables of migrations/cassandra (exact, case-sensitive name). Default "ha_jobs". */
  readonly keyspace?: string | undefined
  /** Default LOCAL_QUORUM. */
  readonly consistency?: Consistency | undefined
  /**
   * Default SERIAL: one holder per lock type across every data center (the library's promise).
   * LOCAL_SERIAL gives one holder per data center and spares the cross-DC Paxos round (see README).
   */
  readonly serialConsistency?: SerialConsistency | undefined
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted<string> | string | undefined
  /** Client-side timeout of one request. Default 12 seconds (the driver's default). */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Bound on establishing the connection at layer construction. Default 10 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** How long statuses and history are kept (server-side TTL). Default 14 days, like ha-jobs. */
  readonly statusRetention?: Duration.DurationInput | undefined
  /** Extra cassandra-driver options (TLS, policies...), merged under the ones above. */
  readonly clientOptions?: Omit<ClientOptions, "contactPoints" | "localDataCenter" | "keyspace"> | undefined
}

/** The options with defaults applied and checked. */
export interface CassandraConfig {
  /** Each "host:port" or "[ipv6]:port", the port always explicit (so messages name the real one). */
  readonly contactPoints: ReadonlyArray<string>
  readonly localDataCenter: string
  readonly keyspace: string
  readonly consistency: Consistency
  readonly serialConsistency: SerialConsistency
  readonly credentials: Option.Option<{
    readonly username: string
    readonly password: Redacted.Redacted<string>
  }>
  readonly requestTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly statusRetention: Duration.Duration
  readonly clientOptions: Omit<ClientOptions, "contactPoints" | "localDataCenter" | "keyspace">
}

/** The defaults of the options: those of the environment variables (Env). */
export const defaults = {
  localDataCenter: Env.CassandraLocalDc.defaultValue,
  keyspace: Env.CassandraKeyspace.defaultValue,
  consistency: Env.CassandraConsistency.defaultValue,
  serialConsistency: Env.CassandraSerialConsistency.defaultValue,
  requestTimeout: Env.CassandraRequestTimeout.defaultValue,
  connectTimeout: Env.CassandraConnectTimeout.defaultValue,
  statusRetention: Env.CassandraStatusRetention.defaultValue,
} as const

/** The CQL port of entries without one, unless `clientOptions.protocolOptions.port` says otherwise. */
export const DefaultPort = 9042

const contactPointHelp = `give host, host:port or [ipv6]:port with a port between 1 and 65535, e.g. 10.0.0.1, db1:9042, [::1]:9042 (${Env.CassandraContactPoints.name})`

// One host name label or more: letters, digits, hyphens, underscores (Docker names), dots.
const hostNamePattern =
  /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/

/**
 * "host", "host:port", "[ipv6]:port" or a bare IPv6 address -> "host:port" / "[ipv6]:port". The
 * driver itself falls back to the default port for an entry it cannot parse ("host:notaport"), so
 * a typo would silently connect elsewhere: refuse it instead.
 */
export const parseContactPoint = (entry: string, defaultPort: number): Either.Either<string, string> => {
  const bad = (why: string) => Either.left(`contact point "${entry}" ${why}: ${contactPointHelp}`)
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry)
  let host: string
  let port: string | undefined
  if (bracketed) {
    host = bracketed[1]!
    port = bracketed[2]
    if (isIP(host) !== 6) return bad("has no IPv6 address in its brackets")
  } else if (isIP(entry) === 6) {
    host = entry
  } else {
    const parts = entry.split(":")
    if (parts.length > 2) return bad("has several colons (put an IPv6 address in brackets)")
    host = parts[0]!
    port = parts[1]
    if (!hostNamePattern.test(host)) return bad("has no valid host name or address")
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return bad(`has port "${port}", which is not a number`)
  const number = port === undefined ? defaultPort : Number(port)
  if (number < 1 || number > 65535) return bad(`has port ${number}, outside 1..65535`)
  return Either.right(isIP(host) === 6 ? `[${host}]:${number}` : `${host}:${number}`)
}

const MaxTtlMillis = 630_720_000 * 1000

// Cassandra keyspace names: letters, digits and underscores, at most 48 characters.
const keyspacePattern = /^[A-Za-z0-9_]{1,48}$/

/** Bad options are reported like every other store failure, as a StoreError of operation "configure". */
const invalidError = (field: string, message: string) =>
  StoreError.of("configure", `invalid Cassandra option ${field}: ${message}`)
const invalid = (field: string, message: string) => Either.left(invalidError(field, message))

const positive = (field: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
  if (input === undefined) return Either.right(fallback)
  const d = Duration.decodeUnknown(input)
  if (Option.isNone(d)) return invalid(field, `${field} "${String(input)}" is not a duration`)
  if (!Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0)
    return invalid(field, `${field} must be positive and finite, got ${Duration.format(d.value)}`)
  return Either.right(d.value)
}

/** Applies defaults and checks the options; the error names the option and what is wrong. */
export const resolve = (options: CassandraOptions): Either.Either<CassandraConfig, StoreError> =>
  Either.gen(function* () {
    const entries = options.contactPoints.map((s) => s.trim()).filter((s) => s.length > 0)
    if (entries.length === 0)
      return yield* invalid(
        "contactPoints",
        `no Cassandra contact points: set ${Env.CassandraContactPoints.name} to a comma-separated list of host or host:port`,
      )
    const defaultPort = options.clientOptions?.protocolOptions?.port ?? DefaultPort
    const contactPoints: Array<string> = []
    for (const entry of entries)
      contactPoints.push(
        yield* Either.mapLeft(parseContactPoint(entry, defaultPort), (message) =>
          invalidError("contactPoints", message),
        ),
      )
    const keyspace = options.keyspace ?? defaults.keyspace
    if (!keyspacePattern.test(keyspace))
      return yield* invalid(
        "keyspace",
        `keyspace "${keyspace}" must be 1 to 48 letters, digits or underscores (${Env.CassandraKeyspace.name})`,
      )
    const consistency = options.consistency ?? defaults.consistency
    if (!Consistencies.includes(consistency))
      return yield* invalid(
        "consistency",
        `consistency "${consistency}" must be one of ${Consistencies.join(", ")} (${Env.CassandraConsistency.name})`,
      )
    const serialConsistency = options.serialConsistency ?? defaults.serialConsistency
    if (!SerialConsistencies.includes(serialConsistency))
      return yield* invalid(
        "serialConsistency",
        `serial consistency "${serialConsistency}" must be SERIAL or LOCAL_SERIAL (${Env.CassandraSerialConsistency.name})`,
      )
    const { username, password } = options
    if ((username === undefined) !== (password === undefined))
      return yield* invalid(
        username === undefined ? "username" : "password",
        `set both ${Env.CassandraUsername.name} and ${Env.CassandraPassword.name}, or neither`,
      )
    const credentials =
      username !== undefined && password !== undefined
        ? Option.some({
            username,
            password: typeof password === "string" ? Redacted.make(password) : password,
          })
        : Option.none()
    const requestTimeout = yield* positive("requestTimeout", options.requestTimeout, defaults.requestTimeout)
    const connectTimeout = yield* positive("connectTimeout", options.connectTimeout, defaults.connectTimeout)
    const statusRetention = yield* positive(
      "statusRetention",
      options.statusRetention,
      defaults.statusRetention,
    )
    if (Duration.toMillis(statusRetention) < 1000 || Duration.toMillis(statusRetention) > MaxTtlMillis)
      return yield* invalid(
        "statusRetention",
        `statusRetention must be between 1 second and 20 years (Cassandra's largest TTL), got ${Duration.format(statusRetention)} (${Env.CassandraStatusRetention.name})`,
      )
    return {
      contactPoints,
      localDataCenter: options.localDataCenter ?? defaults.localDataCenter,
      keyspace,
      consistency,
      serialConsistency,
      credentials,
      requestTimeout,
      connectTimeout,
      statusRetention,
      clientOptions: options.clientOptions ?? {},
    }
  })

export const resolveEffect = (options: CassandraOptions): Effect.Effect<CassandraConfig, StoreError> =>
  Either.match(resolve(options), { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * The options from the environment (Effect Config): the CASSANDRA_* variables of Env (contact points
 * required, a comma list; durations such as "12 seconds" or "14 days").
 */
export const config: Config.Config<CassandraOptions> = Config.all({
  // Checked here too, so a bad entry fails at config time naming the variable.
  contactPoints: Env.CassandraContactPoints.config.pipe(
    Config.mapOrFail((entries) => {
      const bad = entries
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
        .map((s) => parseContactPoint(s, DefaultPort))
        .find(Either.isLeft)
      return bad === undefined
        ? Either.right(entries)
        : Either.left(ConfigError.InvalidData([Env.CassandraContactPoints.name], bad.left))
    }),
  ),
  localDataCenter: Env.CassandraLocalDc.config,
  keyspace: Env.CassandraKeyspace.config,
  consistency: Env.CassandraConsistency.config,
  serialConsistency: Env.CassandraSerialConsistency.config,
  username: Env.CassandraUsername.config,
  password: Env.CassandraPassword.config,
  requestTimeout: Env.CassandraRequestTimeout.config,
  connectTimeout: Env.CassandraConnectTimeout.config,
  statusRetention: Env.CassandraStatusRetention.config,
}).pipe(
  Config.map(
    ({ username, password, ...rest }): CassandraOptions => ({
      ...rest,
      username: Option.getOrUndefined(username),
      password: Option.getOrUndefined(password),
    }),
  ),
)
