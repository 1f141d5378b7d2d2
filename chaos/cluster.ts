/**
 * The three-node cluster of scripts/cassandra/cluster-start.sh, as the cluster chaos run and the
 * cluster tests hurt it: node N runs in network namespace hajcN; its host-side veth hajcN-h down cuts
 * it off from everyone; a blackhole route to its address on the host cuts it off from the clients
 * only (the nodes still gossip and replicate over the bridge); SIGSTOP freezes it; SIGKILL kills it,
 * and scripts/cassandra/cluster-node.sh starts it again keeping its data.
 *
 * Every fault has its undo, and `healCluster` undoes all of them at once (synchronously, so that it
 * also runs from an exit handler): a run that dies mid-fault does not leave a frozen or cut-off node.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runBounded } from "../bench/stats.js"
import { cassandraHome } from "./cassandra.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** What cluster-start.sh prints by default; CASSANDRA_CLUSTER_CONTACT_POINTS names another cluster. */
export const clusterContactPoints = () =>
  (process.env.CASSANDRA_CLUSTER_CONTACT_POINTS ?? "10.77.0.11,10.77.0.12,10.77.0.13")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
export const clusterLocalDc = () => process.env.CASSANDRA_CLUSTER_LOCAL_DC ?? "dc1"

export interface ClusterNode {
  readonly index: number
  readonly address: string
  /** The running daemon's pid (it changes when the node is started again). */
  readonly pid: number
  /** Host-side end of the node's veth pair: down cuts the node off. */
  readonly hostLink: string
}

const clusterDir = () => path.join(cassandraHome(), "cluster")

/** The daemon's pid when node `index`'s pid file names a live CassandraDaemon. */
const daemonPid = (index: number): number | undefined => {
  try {
    const pid = Number(
      fs.readFileSync(path.join(clusterDir(), `node${index}`, "cassandra.pid"), "utf8").trim(),
    )
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    if (/^\d+ \(.*\) Z/.test(stat)) return undefined
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("CassandraDaemon") ? pid : undefined
  } catch {
    return undefined
  }
}

/** Every node of cluster-start.sh that has a configuration (running or not), by index. */
const configured = () => {
  const dir = clusterDir()
  if (!fs.existsSync(dir)) return []
  const out: Array<{ index: number; address: string }> = []
  for (const entry of fs.readdirSync(dir)) {
    const match = /^node(\d+)$/.exec(entry)
    if (!match) continue
    try {
      const yaml = fs.readFileSync(path.join(dir, entry, "conf/cassandra.yaml"), "utf8")
      const address = /^listen_address:\s*(\S+)/m.exec(yaml)?.[1]
      if (address !== undefined) out.push({ index: Number(match[1]), address })
    } catch {
      // half-written: not a node
    }
  }
  return out.sort((a, b) => a.index - b.index)
}

/**
 * The running nodes of cluster-start.sh that the contact points name, or why the faults cannot be
 * injected (no cluster here, another cluster, not root).
 */
export const clusterNodes = (
  contactPoints: ReadonlyArray<string>,
): { readonly nodes: ReadonlyArray<ClusterNode> } | { readonly why: string } => {
  const hosts = contactPoints.map((c) => c.split(":")[0])
  const all = configured()
  const nodes = all.flatMap((n) => {
    const pid = daemonPid(n.index)
    return pid === undefined ? [] : [{ ...n, pid, hostLink: `hajc${n.index}-h` }]
  })
  const named = nodes.filter((n) => hosts.includes(n.address))
  if (named.length < 3)
    return {
      why: `the contact points (${contactPoints.join(",")}) are not three running nodes of scripts/cassandra/cluster-start.sh under ${clusterDir()} (running: ${nodes.map((n) => n.address).join(",") || "none"})`,
    }
  if (process.getuid?.() !== 0) return { why: "cutting a node off needs root (ip link, ip route)" }
  return { nodes: named }
}

export const isRunning = (node: ClusterNode) => daemonPid(node.index) !== undefined

/** The node as it runs now (a fresh pid after a restart); throws when it does not run. */
export const current = (node: ClusterNode): ClusterNode => {
  const pid = daemonPid(node.index)
  if (pid === undefined) throw new Error(`chaos: Cassandra node ${node.index} (${node.address}) does not run`)
  return { ...node, pid }
}

const ip = (...args: Array<string>) => {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 })
  return r.status === 0 ? undefined : `ip ${args.join(" ")}: ${(r.stderr || r.error?.message) ?? ""}`.trim()
}
const must = (error: string | undefined) => {
  if (error !== undefined) throw new Error(`chaos: ${error}`)
}

export const freeze = (node: ClusterNode) => process.kill(node.pid, "SIGSTOP")
export const thaw = (node: ClusterNode) => {
  try {
    process.kill(node.pid, "SIGCONT")
  } catch {}
}
/** The node's link down: it is cut off from the clients and from the other nodes. */
export const cutOff = (node: ClusterNode) => must(ip("link", "set", node.hostLink, "down"))
export const reconnect = (node: ClusterNode) => must(ip("link", "set", node.hostLink, "up"))
/** A blackhole route on the host: the clients (this host) cannot reach the node; the nodes still can. */
export const cutFromClients = (node: ClusterNode) =>
  must(ip("route", "add", "blackhole", `${node.address}/32`))
export const reconnectClients = (node: ClusterNode) =>
  must(ip("route", "del", "blackhole", `${node.address}/32`))

/** SIGKILL of the node's JVM (a crash: no drain, no flush); returns once the process is gone (bounded). */
export const killNode = async (node: ClusterNode) => {
  thaw(node)
  process.kill(node.pid, "SIGKILL")
  for (let i = 0; i < 200 && daemonPid(node.index) === node.pid; i++)
    await new Promise((r) => setTimeout(r, 50))
  if (daemonPid(node.index) === node.pid) throw new Error(`chaos: node ${node.index} survived SIGKILL`)
}

/** Starts a killed node again keeping its data (cluster-node.sh), bounded at 200 s; its new state. */
export const startNode = async (node: ClusterNode, log: (line: string) => void): Promise<ClusterNode> => {
  const t0 = Date.now()
  await runBounded(
    `starting Cassandra node ${node.index}`,
    "bash",
    [path.join(root, "scripts/cassandra/cluster-node.sh"), "start", String(node.index)],
    200_000,
    { cwd: root },
  )
  const started = current(node)
  log(
    `chaos: Cassandra node ${node.index} started again in ${Date.now() - t0} ms (pid ${started.pid}, data kept)`,
  )
  return started
}

/** Undoes every fault on every configured node: SIGCONT, links up, client routes removed. */
export const healCluster = () => {
  for (const n of configured()) {
    const pid = daemonPid(n.index)
    if (pid !== undefined)
      try {
        process.kill(pid, "SIGCONT")
      } catch {}
    ip("link", "set", `hajc${n.index}-h`, "up")
    ip("route", "del", "blackhole", `${n.address}/32`)
  }
}
