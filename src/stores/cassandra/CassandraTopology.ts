/**
 * Start-up warnings about the cluster's shape: settings that work today and fail on the first node
 * loss (replication factor 1 on several nodes), or that need every node up (a replication factor
 * larger than the data center), and contact points that are not nodes of the cluster. They are
 * warnings, not errors, because the store works now; the write probe at start already refuses a
 * keyspace that cannot take a write at the configured consistency.
 */
import { Effect } from "effect"
import * as Env from "../../Env.js"
import type { Session } from "./Driver.js"

export interface Host {
  /** "10.0.0.1:9042" or "10.0.0.1". */
  readonly address: string
  readonly datacenter: string
  readonly isUp: boolean
}

export interface Topology {
  readonly keyspace: string
  readonly localDataCenter: string
  /** The keyspace's replication map, as system_schema.keyspaces holds it. */
  readonly replication: Readonly<Record<string, string>>
  readonly hosts: ReadonlyArray<Host>
  readonly contactPoints: ReadonlyArray<string>
}

const hostOf = (address: string) => address.replace(/^\[?([^\]]+?)\]?(:\d+)?$/, "$1")
const isIpLiteral = (host: string) => /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(":")

/** The keyspace's replicas in the local data center (SimpleStrategy: its factor, anywhere). */
export const localReplicationFactor = (topology: Topology): number => {
  const { replication, localDataCenter } = topology
  const factor = String(replication.class ?? "").endsWith("SimpleStrategy")
    ? replication.replication_factor
    : replication[localDataCenter]
  const n = Number.parseInt(factor ?? "0", 10)
  return Number.isNaN(n) ? 0 : n
}

/** What is risky about this cluster and keyspace, one sentence with its fix per finding. */
export const warnings = (topology: Topology): ReadonlyArray<string> => {
  const { keyspace, localDataCenter, hosts } = topology
  const rf = localReplicationFactor(topology)
  const nodes = hosts.filter((h) => h.datacenter === localDataCenter).length
  const alter = (n: number) =>
    `ALTER KEYSPACE "${keyspace}" WITH replication = {'class': 'NetworkTopologyStrategy', '${localDataCenter}': ${n}}, then run nodetool repair`
  const out: Array<string> = []
  if (rf === 1 && nodes > 1)
    out.push(
      `keyspace "${keyspace}" keeps one replica on a ${nodes}-node data center "${localDataCenter}": losing that node loses the leases and statuses it holds, and no write succeeds until it is back; use 3 replicas: ${alter(Math.min(3, nodes))}`,
    )
  if (rf > nodes && nodes > 0)
    out.push(
      `keyspace "${keyspace}" asks for ${rf} replicas in data center "${localDataCenter}", which has ${nodes} node(s): only ${nodes} exist, so a quorum needs almost every node up; add nodes or lower the factor: ${alter(nodes)}`,
    )
  const known = new Set(hosts.map((h) => hostOf(h.address)))
  const up = new Set(hosts.filter((h) => h.isUp).map((h) => hostOf(h.address)))
  for (const point of topology.contactPoints) {
    const host = hostOf(point)
    if (!isIpLiteral(host)) continue
    if (!known.has(host))
      out.push(
        `contact point ${point} is not a node of this cluster: remove it from ${Env.CassandraContactPoints.name}`,
      )
    else if (!up.has(host))
      out.push(
        `contact point ${point} is down: the store uses the other nodes; fix or remove it in ${Env.CassandraContactPoints.name}`,
      )
  }
  return out
}

/** Reads the topology through the connected client and logs each warning once, at start. */
export const warnAtStart = (session: Session): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { keyspace, localDataCenter, contactPoints } = session.config
    const rows = yield* session.execute(
      "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?",
      [keyspace],
      { idempotent: true },
    )
    const replication = (rows.first()?.get("replication") ?? {}) as Record<string, string>
    const hosts = session.client.hosts
      .values()
      .map((h) => ({ address: h.address, datacenter: h.datacenter, isUp: h.isUp() }))
    for (const warning of warnings({ keyspace, localDataCenter, replication, hosts, contactPoints }))
      yield* Effect.logWarning(`Cassandra: ${warning}`)
  }).pipe(
    // Advice only: a failure to read the topology must not stop a store that works.
    Effect.catchAllCause((cause) => Effect.logDebug("could not read the Cassandra topology", cause)),
  )
