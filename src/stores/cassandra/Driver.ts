import cassandra from "cassandra-driver"
import { Duration, Effect, Option, Redacted, type Scope } from "effect"
import { CqlFailure, describeCause, StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"
import type { CassandraConfig, Consistency, SerialConsistency } from "./CassandraConfig.js"

export type Client = cassandra.Client
export type ResultSet = cassandra.types.ResultSet
export type Row = cassandra.types.Row

const { consistencies, responseErrorCodes } = cassandra.types

export const consistencyCode = (c: Consistency | SerialConsistency): number => {
  switch (c) {
    case "ONE":
      return consistencies.one
    case "TWO":
      return consistencies.two
    case "THREE":
      return consistencies.three
    case "QUORUM":
      return consistencies.quorum
    case "ALL":
      return consistencies.all
    case "LOCAL_QUORUM":
      return consistencies.localQuorum
    case "EACH_QUORUM":
      return consistencies.eachQuorum
    case "LOCAL_ONE":
      return consistencies.localOne
    case "SERIAL":
      return consistencies.serial
    case "LOCAL_SERIAL":
      return consistencies.localSerial
  }
}

/**
 * The request may have been applied: the coordinator or the client timed out after the request was
 * sent (WriteTimeout, ReadTimeout, client-side OperationTimedOut, a socket closed mid-request). For a
 * lightweight transaction this means "outcome unknown": read at SERIAL before deciding.
 */
export const isOutcomeUnknown = (e: unknown): boolean => {
  if (e instanceof cassandra.errors.OperationTimedOutError) return true
  if (e instanceof cassandra.errors.ResponseError)
    return (
      e.code === responseErrorCodes.writeTimeout ||
      e.code === responseErrorCodes.readTimeout ||
      e.code === responseErrorCodes.writeFailure
    )
  if (e instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.values((e.innerErrors ?? {}) as Record<string, unknown>)
    return inner.some(isOutcomeUnknown)
  }
  // The socket closed after the request was written: the node may have executed it.
  if (e instanceof Error && (e as { isSocketError?: boolean }).isSocketError === true)
    return (e as { requestNotWritten?: boolean }).requestNotWritten !== true
  return false
}

const codeNames: Record<number, string> = Object.fromEntries(
  Object.entries(responseErrorCodes).map(([name, code]) => [code, name]),
)

/**
 * One line describing a driver error: the per-host errors of NoHostAvailable, a server error's code
 * by name (WriteTimeout (CAS): ...); any other error as every message describes it (describeCause).
 */
export const describeDriverError = (e: unknown): string => {
  if (e instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.entries((e.innerErrors ?? {}) as Record<string, unknown>)
    if (inner.length === 0) return e.message
    return inner.map(([host, err]) => `${host}: ${describeDriverError(err)}`).join("; ")
  }
  if (e instanceof cassandra.errors.ResponseError) {
    const extra = e as { writeType?: string }
    const name = codeNames[e.code] ?? `0x${e.code.toString(16)}`
    return `${name}${extra.writeType ? ` (${extra.writeType})` : ""}: ${e.message}`
  }
  return describeCause(e)
}

/**
 * The coordinator that did not answer in time ("10.77.0.12:9042"), when the failure is the client's
 * own timeout: a frozen or cut-off node that the driver still counts as up, and will pick again.
 */
export const timedOutHost = (failure: CqlFailure): string | undefined =>
  failure.cause instanceof cassandra.errors.OperationTimedOutError
    ? (failure.cause as { host?: string }).host
    : undefined

/**
 * Every coordinator that timed out in a failed call: the one of a single-host error, or each host of
 * a NoHostAvailableError (an idempotent request the driver already tried on several) whose error was
 * a client-side timeout.
 */
export const timedOutHosts = (failure: CqlFailure): ReadonlyArray<string> => {
  const single = timedOutHost(failure)
  if (single !== undefined) return [single]
  if (!(failure.cause instanceof cassandra.errors.NoHostAvailableError)) return []
  const inner = (failure.cause as { innerErrors?: Record<string, unknown> }).innerErrors ?? {}
  return Object.entries(inner)
    .filter(([, error]) => error instanceof cassandra.errors.OperationTimedOutError)
    .map(([host]) => host)
}

/** A driver call's error as a CqlFailure, with the verdict on whether the request may have applied. */
export const cqlFailure = (cause: unknown): CqlFailure =>
  new CqlFailure({ cause, outcomeUnknown: isOutcomeUnknown(cause) })

/**
 * The message of the StoreError a failed driver call becomes (`StoreError.refail(operation,
 * describeFailure)`): the call, whether it may have applied, the driver's error.
 */
export const describeFailure = (failure: CqlFailure, operation: string): string =>
  `Cassandra ${operation} failed${failure.outcomeUnknown ? " (outcome unknown)" : ""}: ${describeDriverError(failure.cause)}`

export interface ExecuteOptions {
  /** Read at the serial consistency level (linearizable; sees the result of every LWT). */
  readonly serialRead?: boolean
  /** Safe to retry. LWTs are not (the driver then never retries them on its own). */
  readonly idempotent: boolean
  /**
   * Coordinators ("host:port") that just timed out: the request goes to another node of the local
   * data center that the driver counts as up, if there is one (else as the load balancing says).
   */
  readonly avoidHosts?: ReadonlyArray<string> | undefined
}

/** The connected client and the settings every statement uses. */
export interface Session {
  readonly client: Client
  readonly config: CassandraConfig
  /** `"<keyspace>".<table>` */
  readonly table: (name: string) => string
  readonly execute: (
    query: string,
    params: ReadonlyArray<unknown>,
    options: ExecuteOptions,
  ) => Effect.Effect<ResultSet, CqlFailure>
  /**
   * A batch of idempotent prepared statements (several partitions, one timestamp): logged (applied
   * all or none, through the batchlog) unless `logged` is false.
   */
  readonly batch: (
    queries: ReadonlyArray<{ readonly query: string; readonly params: ReadonlyArray<unknown> }>,
    options?: { readonly logged?: boolean | undefined },
  ) => Effect.Effect<ResultSet, CqlFailure>
}

export const clientOptions = (config: CassandraConfig, keyspace?: string): cassandra.DseClientOptions => {
  const extra = config.clientOptions
  return {
    ...extra,
    contactPoints: [...config.contactPoints],
    localDataCenter: config.localDataCenter,
    ...(keyspace === undefined ? {} : { keyspace }),
    ...Option.match(config.credentials, {
      onNone: () => ({}),
      onSome: ({ username, password }) => ({
        authProvider: new cassandra.auth.PlainTextAuthProvider(username, Redacted.value(password)),
      }),
    }),
    policies: {
      // The driver's default waits 1 s, 2 s, 4 s ... (up to 10 min) before reconnecting to a node
      // that went down; a job store must be back within a lease, so retry soon and often.
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(200, 2_000, false),
      // A node that is frozen or cut off (no RST: the driver still deems it up until a heartbeat
      // fails, 30 s) holds every request sent to it until the request timeout. An idempotent
      // statement (a read, a status write; never a lightweight transaction) not answered within
      // 500 ms is also sent to the next node, once: measured latencies are ~1-10 ms here, so a
      // healthy cluster almost never pays the extra request.
      speculativeExecution: new cassandra.policies.speculativeExecution.ConstantSpeculativeExecutionPolicy(
        500,
        1,
      ),
      ...extra.policies,
    },
    socketOptions: {
      ...extra.socketOptions,
      connectTimeout: Duration.toMillis(config.connectTimeout),
      readTimeout: Duration.toMillis(config.requestTimeout),
    },
    queryOptions: {
      ...extra.queryOptions,
      consistency: consistencyCode(config.consistency),
      serialConsistency: consistencyCode(config.serialConsistency),
      prepare: true,
    },
  }
}

/** The part of the driver's internal ControlConnection that {@link serializeControlConnectionRefresh} wraps. */
interface ControlConnectionInternals {
  _refresh?: (hostIterator?: unknown) => Promise<void>
  _isShuttingDown?: boolean
}

/**
 * Works around a race in cassandra-driver 4.x (all releases up to 4.10.0; NODEJS-681,
 * apache/cassandra-nodejs-driver#462, not released). When the control connection reconnects through
 * its contact-point fallback (NODEJS-632) it installs its health listeners twice on the new
 * connection, so the next time that node restarts two `_refresh` calls run at once. Each starts by
 * setting `host` and `connection` to null; the one that finishes first then calls
 * `_setHealthListeners(null, ...)` and throws "Cannot read properties of null (reading 'once')". When
 * that refresh was started by the driver's reconnection timer nobody handles the rejection and
 * Node ends the process.
 *
 * Lets one top-level refresh run at a time, as the upstream fix does: a health listener or timer that
 * fires while a refresh runs joins it (that refresh is already acquiring a new connection); calls with
 * an iterator are the driver's own retry inside the running refresh and pass through. Does nothing
 * when the driver has no `_refresh` (a later driver): remove once a driver release contains the fix.
 */
export const serializeControlConnectionRefresh = (client: Client): void => {
  const cc = (client as unknown as { readonly controlConnection?: ControlConnectionInternals })
    .controlConnection
  const refresh = cc?._refresh
  if (cc === undefined || typeof refresh !== "function") return
  let running: Promise<void> | undefined
  cc._refresh = (hostIterator) => {
    if (hostIterator !== undefined) return refresh.call(cc, hostIterator)
    if (running !== undefined) return running
    running = refresh
      .call(cc)
      .catch((cause: unknown) => {
        // The driver catches its own failures: this is another bug. Log it and try again rather than
        // leave an unhandled rejection (which ends the process) or a control connection that never
        // reconnects.
        client.emit(
          "log",
          "error",
          "ControlConnection",
          `refresh failed: ${describeDriverError(cause)}`,
          cause,
        )
        if (cc._isShuttingDown !== true) setTimeout(() => void cc._refresh?.(), 1_000).unref()
      })
      .finally(() => {
        running = undefined
      })
    return running
  }
}

const hostsOf = (config: CassandraConfig) => config.contactPoints.join(", ")

/**
 * Turns a failure to connect into a StoreError that says what is wrong and which setting fixes it.
 */
export const connectError = (config: CassandraConfig, cause: unknown): StoreError => {
  const operation = "connect"
  const inner: Array<unknown> =
    cause instanceof cassandra.errors.NoHostAvailableError
      ? Object.values((cause.innerErrors ?? {}) as Record<string, unknown>)
      : [cause]
  const text = describeDriverError(cause)
  const make = (message: string) => StoreError.of(operation, message, cause)
  if (inner.some((e) => e instanceof cassandra.errors.AuthenticationError)) {
    const requiresAuth = /requires authentication|no authenticator/i.test(text)
    return make(
      Option.isNone(config.credentials) || requiresAuth
        ? `Cassandra at ${hostsOf(config)} requires authentication: set ${Env.CassandraUsername.name} and ${Env.CassandraPassword.name} (${text})`
        : `Cassandra at ${hostsOf(config)} rejected the credentials of user "${Option.getOrThrow(config.credentials).username}": check ${Env.CassandraUsername.name} and ${Env.CassandraPassword.name} (${text})`,
    )
  }
  if (/localDataCenter/.test(text))
    return make(
      `local data center "${config.localDataCenter}" is unknown: set ${Env.CassandraLocalDc.name} (${text})`,
    )
  if (cause instanceof cassandra.errors.NoHostAvailableError && inner.length === 0)
    return make(
      `none of the contact points (${hostsOf(config)}) resolves to an address: check ${Env.CassandraContactPoints.name} (${text})`,
    )
  return make(
    `cannot reach Cassandra at ${hostsOf(config)}: check ${Env.CassandraContactPoints.name}, that the node is up and that its CQL port is reachable (${text})`,
  )
}

/**
 * A connected client in the current scope, shut down when the scope closes (also when connecting
 * fails). Connecting is bounded by `connectTimeout`: a node that accepts TCP but never answers would
 * otherwise hold construction for the driver's request timeout per attempt.
 */
export const connect = (
  config: CassandraConfig,
  keyspace?: string,
): Effect.Effect<Client, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new cassandra.Client(clientOptions(config, keyspace))
        serializeControlConnectionRefresh(client)
        return client
      }),
      // The driver's shutdown waits for a connection attempt still in flight: do not hold the
      // scope for it (it completes in the background).
      (client) =>
        Effect.promise(() => client.shutdown().catch(() => undefined)).pipe(
          Effect.timeout("2 seconds"),
          Effect.ignore,
        ),
    )
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) => connectError(config, cause),
    }).pipe(
      Effect.timeoutFail({
        duration: config.connectTimeout,
        onTimeout: () =>
          StoreError.of(
            "connect",
            `no answer from Cassandra at ${hostsOf(config)} within ${Duration.format(config.connectTimeout)}: check ${Env.CassandraContactPoints.name}, the network path to those CQL ports, or raise ${Env.CassandraConnectTimeout.name}`,
          ),
      }),
    )
    return client
  })

/** A node of `dc` the driver counts as up, other than `avoid`, picked at random; none: let the policy pick. */
const otherHost = (client: Client, dc: string, avoid: ReadonlyArray<string>) => {
  const hosts = client.hosts
    .values()
    .filter((h) => h.isUp() && h.datacenter === dc && !avoid.includes(h.address))
  return hosts.length === 0 ? undefined : hosts[Math.floor(Math.random() * hosts.length)]
}

export const makeSession = (client: Client, config: CassandraConfig): Session => {
  const serial = consistencyCode(config.serialConsistency)
  const consistency = consistencyCode(config.consistency)
  const readTimeout = Duration.toMillis(config.requestTimeout)
  return {
    client,
    config,
    table: (name) => `"${config.keyspace}".${name}`,
    execute: (query, params, options) =>
      Effect.tryPromise({
        try: () => {
          const host =
            options.avoidHosts === undefined || options.avoidHosts.length === 0
              ? undefined
              : otherHost(client, config.localDataCenter, options.avoidHosts)
          return client.execute(query, [...params], {
            prepare: true,
            consistency: options.serialRead ? serial : consistency,
            serialConsistency: serial,
            isIdempotent: options.idempotent,
            readTimeout,
            ...(host === undefined ? {} : { host }),
          })
        },
        catch: cqlFailure,
      }),
    batch: (queries, options = {}) =>
      Effect.tryPromise({
        try: () =>
          client.batch(
            queries.map((q) => ({ query: q.query, params: [...q.params] })),
            { prepare: true, logged: options.logged ?? true, consistency, isIdempotent: true, readTimeout },
          ),
        catch: cqlFailure,
      }),
  }
}
