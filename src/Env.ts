/**
 * Every environment variable the library reads, declared once: its name, what it means (as the
 * Config's description) and its default, written as it would be set. The layers read them from here
 * through Effect Config, so any ConfigProvider works; README's configuration table lists the same
 * variables with the same defaults (test/docs/envTable.test.ts compares them).
 *
 * The constructors (`withDefault`, `optional`, `required`) are exported for applications that want
 * to declare their own variables the same way (the example service does).
 */
import { Config, ConfigProvider, Effect, type Option } from "effect"
import { Consistencies, SerialConsistencies } from "./domain/Consistency.js"

/** One environment variable. */
export interface Variable<A> {
  readonly name: string
  /** What it means; also the Config's description (`Config.withDescription`). */
  readonly description: string
  /** The value used when it is unset, written as it would be set; undefined when it has none. */
  readonly default: string | undefined
  /** Without a default: what applies when it is unset ("required", "none", ...). */
  readonly unset: string | undefined
  /** The variable read through Effect Config, with its description and its default. */
  readonly config: Config.Config<A>
}

/** A variable with a default value. */
export interface WithDefault<A> extends Variable<A> {
  readonly default: string
  readonly unset: undefined
  /** The default, parsed as the variable would be. */
  readonly defaultValue: A
}

type Read<A> = (name: string) => Config.Config<A>

const described = <A>(name: string, read: Read<A>, description: string) =>
  read(name).pipe(Config.withDescription(description))

/**
 * A variable with a default, given as it would be set in the environment ("12 seconds", "false"):
 * it is parsed by the variable's own Config, so a default that does not parse fails at load.
 */
export const withDefault = <A>(
  name: string,
  read: Read<A>,
  options: { readonly default: string; readonly description: string },
): WithDefault<A> => {
  const config = described(name, read, options.description)
  const defaultValue = Effect.runSync(
    Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map([[name, options.default]]))),
  )
  return {
    name,
    description: options.description,
    default: options.default,
    unset: undefined,
    defaultValue,
    config: Config.withDefault(config, defaultValue),
  }
}

/** A variable that may be unset (`Option.none()`); `unset` says what applies then (default "none"). */
export const optional = <A>(
  name: string,
  read: Read<A>,
  options: { readonly description: string; readonly unset?: string | undefined },
): Variable<Option.Option<A>> => ({
  name,
  description: options.description,
  default: undefined,
  unset: options.unset ?? "none",
  config: Config.option(described(name, read, options.description)),
})

/** A variable that must be set where it is read (a ConfigError names it otherwise). */
export const required = <A>(
  name: string,
  read: Read<A>,
  options: { readonly description: string },
): Variable<A> => ({
  name,
  description: options.description,
  default: undefined,
  unset: "required",
  config: described(name, read, options.description),
})

// --- The store --------------------------------------------------------------------------------

export const Store = withDefault(
  "HA_JOBS_STORE",
  Config.literal("sqlite", "postgres", "memory", "cassandra"),
  {
    default: "sqlite",
    description: "The store Store.layerFromEnv() builds: sqlite, postgres, memory or cassandra.",
  },
)

export const SqlitePath = withDefault("HA_JOBS_SQLITE_PATH", Config.string, {
  default: "./data/ha-jobs.db",
  description: "The SQLite database file (its directory is created if missing).",
})

/** Where PgStore.layerFromEnv() connects when neither DATABASE_URL nor a PG* variable is set. */
export const PgDefaultUrl = "postgres://postgres@127.0.0.1:5432/postgres"

export const DatabaseUrl = optional("DATABASE_URL", (name) => Config.redacted(name), {
  description: "The PostgreSQL server, as postgres://user:password@host:5432/database.",
  unset: `the PG* variables if one is set, else ${PgDefaultUrl}`,
})

export const PgHost = optional("PGHOST", Config.string, {
  description: "PostgreSQL host, when DATABASE_URL is unset (read by node-postgres, as by psql).",
  unset: "localhost",
})

export const PgPort = optional("PGPORT", Config.string, {
  description: "PostgreSQL port, when DATABASE_URL is unset.",
  unset: "5432",
})

export const PgDatabase = optional("PGDATABASE", Config.string, {
  description: "PostgreSQL database, when DATABASE_URL is unset.",
  unset: "the user name",
})

export const PgUser = optional("PGUSER", Config.string, {
  description: "PostgreSQL user, when DATABASE_URL is unset.",
  unset: "the operating system's user",
})

export const PgPassword = optional("PGPASSWORD", (name) => Config.redacted(name), {
  description: "PostgreSQL password, when DATABASE_URL is unset.",
})

/** The PG* variables: when DATABASE_URL is unset and one of them is set, node-postgres reads them. */
export const PgConnection: ReadonlyArray<Variable<Option.Option<unknown>>> = [
  PgHost,
  PgPort,
  PgDatabase,
  PgUser,
  PgPassword,
]

export const PgSchema = optional("HA_JOBS_PG_SCHEMA", Config.string, {
  description: "The PostgreSQL schema of the tables (created if missing, made the search_path).",
  unset: "the user's search_path",
})

// --- Cassandra --------------------------------------------------------------------------------

export const CassandraContactPoints = required(
  "CASSANDRA_CONTACT_POINTS",
  (name) => Config.array(Config.string(), name),
  {
    description:
      "Comma list of host, host:port or [ipv6]:port (port 9042 by default); a malformed entry (host:notaport) is refused.",
  },
)

export const CassandraLocalDc = withDefault("CASSANDRA_LOCAL_DC", Config.string, {
  default: "datacenter1",
  description: "The data center of this instance; the driver routes only to it.",
})

export const CassandraKeyspace = withDefault("CASSANDRA_KEYSPACE", Config.string, {
  default: "ha_jobs",
  description: "The keyspace holding the tables of migrations/cassandra.",
})

export const CassandraConsistency = withDefault("CASSANDRA_CONSISTENCY", Config.literal(...Consistencies), {
  default: "LOCAL_QUORUM",
  description: "Consistency of reads and writes.",
})

export const CassandraSerialConsistency = withDefault(
  "CASSANDRA_SERIAL_CONSISTENCY",
  Config.literal(...SerialConsistencies),
  {
    default: "SERIAL",
    description:
      "Consistency of lightweight transactions: SERIAL (one holder across all data centers) or LOCAL_SERIAL (one per data center, no cross-DC round trip).",
  },
)

export const CassandraUsername = optional("CASSANDRA_USERNAME", Config.string, {
  description: "User for password authentication (with CASSANDRA_PASSWORD).",
})

export const CassandraPassword = optional("CASSANDRA_PASSWORD", (name) => Config.redacted(name), {
  description: "Password for password authentication (with CASSANDRA_USERNAME).",
})

export const CassandraRequestTimeout = withDefault("CASSANDRA_REQUEST_TIMEOUT", Config.duration, {
  default: "12 seconds",
  description: "Client-side timeout of one request.",
})

export const CassandraConnectTimeout = withDefault("CASSANDRA_CONNECT_TIMEOUT", Config.duration, {
  default: "10 seconds",
  description: "Bound on connecting when the layer is built.",
})

export const CassandraStatusRetention = withDefault("CASSANDRA_STATUS_RETENTION", Config.duration, {
  default: "14 days",
  description: "TTL of every status row.",
})

// --- HTTP ---------------------------------------------------------------------------------------

export const Port = withDefault("PORT", Config.integer, {
  default: "9000",
  description: "HTTP port of the API and dashboard (HaJobsHttp.layerServer); 0 picks a free port.",
})

export const ApiToken = optional("HA_JOBS_API_TOKEN", (name) => Config.redacted(name), {
  description: "Bearer token required on every route except /health and the static pages.",
})

export const ReadOnly = withDefault("HA_JOBS_READ_ONLY", Config.boolean, {
  default: "false",
  description: "Refuse triggers and cancels (403); the dashboard disables its buttons.",
})

export const BasePath = optional("HA_JOBS_BASE_PATH", Config.string, {
  description: "Where the app is mounted, e.g. /ops/ha-jobs; every URL the API writes starts with it.",
})

export const EventsInterval = withDefault("HA_JOBS_EVENTS_INTERVAL", Config.duration, {
  default: "1 second",
  description: "How often /events polls the store for changes.",
})

export const EventsMaxStreams = withDefault("HA_JOBS_EVENTS_MAX_STREAMS", Config.integer, {
  default: "100",
  description: "How many /events streams may be open at once; beyond, 503 with Retry-After.",
})

export const Compat = withDefault("HA_JOBS_COMPAT", Config.literal("none", "ha-jobs"), {
  default: "none",
  description:
    'ha-jobs: ha-jobs\' defaults (lease 60 s, supervisor every minute, DEAD after 5 minutes) and the API answers as ha-jobs did, so its overview page and REST clients work unchanged (README "Migrating from ha-jobs").',
})

/** Every variable the library reads, in README's order. */
export const all: ReadonlyArray<Variable<unknown>> = [
  Store,
  SqlitePath,
  DatabaseUrl,
  ...PgConnection,
  PgSchema,
  CassandraContactPoints,
  CassandraLocalDc,
  CassandraKeyspace,
  CassandraConsistency,
  CassandraSerialConsistency,
  CassandraUsername,
  CassandraPassword,
  CassandraRequestTimeout,
  CassandraConnectTimeout,
  CassandraStatusRetention,
  Port,
  ApiToken,
  ReadOnly,
  BasePath,
  EventsInterval,
  EventsMaxStreams,
  Compat,
]
