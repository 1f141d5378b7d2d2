# shellcheck shell=bash
# Shared by cluster-start.sh and cluster-stop.sh (sourced, not run). start.sh / stop.sh (the single
# node) keep their own copies of the Java lookup, the jar fetch and the JVM options and are unchanged.
#
# The three-node cluster: node N (1..3) runs in network namespace hajcN with address 10.77.0.1N/24
# on its eth0, whose veth peer (hajcN-h, in the host namespace) is a port of the bridge hajbr0
# (10.77.0.1/24 on the host). Nothing else is routed: the host reaches the nodes over the bridge.

CLUSTER_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CASS_HOME="${HA_JOBS_CASSANDRA_HOME:-$HOME/.cache/effect-ha-jobs/cassandra}"
CLUSTER_DIR="$CASS_HOME/cluster"
CLUSTER_NODES=(1 2 3)
CLUSTER_BRIDGE=hajbr0
CLUSTER_HOST_ADDR=10.77.0.1
CLUSTER_PREFIX=24
CLUSTER_DC=dc1
CLUSTER_CQL_PORT=9042
CLUSTER_STORAGE_PORT=7000

node_ns() { echo "hajc$1"; }
node_addr() { echo "10.77.0.1$1"; }
# The host-side end of node N's veth pair: `ip link set hajcN-h down` partitions node N.
node_hostlink() { echo "hajc$1-h"; }
node_dir() { echo "$CLUSTER_DIR/node$1"; }
node_pidfile() { echo "$CLUSTER_DIR/node$1/cassandra.pid"; }

contact_points() {
  local n out=""
  for n in "${CLUSTER_NODES[@]}"; do out="${out:+$out,}$(node_addr "$n")"; done
  echo "$out"
}

log() { printf '[cassandra-cluster] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# kill -0 also succeeds on a zombie; treat state Z as gone.
alive() { kill -0 "$1" 2> /dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" != Z ]]; }
is_our_daemon() { [[ -n "${1:-}" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q 'org.apache.cassandra.service.CassandraDaemon'; }
# The pid of node N's daemon, when its pid file names a live CassandraDaemon.
node_pid() {
  local f pid
  f="$(node_pidfile "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f" 2> /dev/null || true)"
  is_our_daemon "$pid" || return 1
  echo "$pid"
}


# --- CQL readiness -----------------------------------------------------------------------------
# cql_check HOST TIMEOUT [PEERS] [PID]: asks HOST only (allow-list policy) until it answers
# `SELECT release_version FROM system.local` and, with PEERS, until it lists PEERS peers whose schema
# version equals its own (gossip joined, schema agreed). Prints the release version. wait-cql.mjs
# only waits for an answer; this also waits for the peers and their schema agreement.
cql_check() {
  CQL_HOST="$1" CQL_TIMEOUT="$2" CQL_PEERS="${3:-}" CQL_PID="${4:-}" CQL_DC="$CLUSTER_DC" \
    CQL_PORT="$CLUSTER_CQL_PORT" CQL_REQUIRE_FROM="$CLUSTER_HERE/../../package.json" \
    node --input-type=module -e '
import { createRequire } from "node:module"
const require = createRequire(process.env.CQL_REQUIRE_FROM)
let cassandra
try {
  cassandra = require("cassandra-driver")
} catch (e) {
  console.error("cql_check: cannot load cassandra-driver (run npm install): " + e.message)
  process.exit(3)
}
const env = process.env
const host = `${env.CQL_HOST}:${env.CQL_PORT}`
const peers = env.CQL_PEERS === "" ? undefined : Number(env.CQL_PEERS)
const pid = env.CQL_PID === "" ? undefined : Number(env.CQL_PID)
const started = Date.now()
const deadline = started + Number(env.CQL_TIMEOUT) * 1000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const alive = () => {
  if (pid === undefined) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === "EPERM"
  }
}
const lb = cassandra.policies.loadBalancing
let last = ""
while (Date.now() < deadline) {
  if (!alive()) {
    console.error(`cql_check: process ${pid} is gone`)
    process.exit(2)
  }
  const client = new cassandra.Client({
    contactPoints: [host],
    localDataCenter: env.CQL_DC,
    policies: {
      loadBalancing: new lb.AllowListPolicy(new lb.DCAwareRoundRobinPolicy(env.CQL_DC), [host]),
      reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000),
    },
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
  })
  try {
    const local = (await client.execute("SELECT release_version, schema_version FROM system.local")).first()
    let ok = true
    if (peers !== undefined) {
      const rows = (await client.execute("SELECT peer, schema_version FROM system.peers_v2")).rows
      const agreed = rows.filter((r) => String(r.schema_version) === String(local.schema_version)).length
      ok = rows.length === peers && agreed === peers
      if (!ok) last = `${rows.length} peers, ${agreed} with the same schema version`
    }
    await client.shutdown().catch(() => {})
    if (ok) {
      console.log(local.release_version)
      process.exit(0)
    }
  } catch (e) {
    await client.shutdown().catch(() => {})
    last = (e?.innerErrors ? Object.values(e.innerErrors).map(String).join("; ") : String(e)).slice(0, 200)
  }
  await sleep(500)
}
console.error(`cql_check: ${host} not ready within ${env.CQL_TIMEOUT}s: ${last}`)
process.exit(1)
'
}

# --- network -----------------------------------------------------------------------------------
ensure_iproute2() {
  if ! command -v ip > /dev/null; then
    log "installing iproute2"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >&2 ||
      die "cannot install iproute2 (ip is required)"
  fi
}

ns_exists() { ip netns list 2> /dev/null | awk '{print $1}' | grep -qx "$1"; }

# Bridge on the host, one namespace + veth pair per node; every step idempotent. Links that a chaos
# test left down are brought up again.
cluster_net_up() {
  local n ns link
  # Every step ends with `|| return 1`: callers use `cluster_net_up || fail ...`, where errexit is off.
  ip link show "$CLUSTER_BRIDGE" > /dev/null 2>&1 || ip link add "$CLUSTER_BRIDGE" type bridge || return 1
  ip addr replace "$CLUSTER_HOST_ADDR/$CLUSTER_PREFIX" dev "$CLUSTER_BRIDGE" || return 1
  ip link set "$CLUSTER_BRIDGE" up || return 1
  for n in "${CLUSTER_NODES[@]}"; do
    ns="$(node_ns "$n")"
    link="$(node_hostlink "$n")"
    ns_exists "$ns" || ip netns add "$ns" || return 1
    if ! ip link show "$link" > /dev/null 2>&1; then
      ip -n "$ns" link del eth0 > /dev/null 2>&1 || true
      ip link add "$link" type veth peer name eth0 netns "$ns" || return 1
    fi
    ip link set "$link" master "$CLUSTER_BRIDGE" || return 1
    ip link set "$link" up || return 1
    ip -n "$ns" link set lo up || return 1
    ip -n "$ns" addr replace "$(node_addr "$n")/$CLUSTER_PREFIX" dev eth0 || return 1
    ip -n "$ns" link set eth0 up || return 1
    ip -n "$ns" route replace default via "$CLUSTER_HOST_ADDR" dev eth0 || return 1
  done
}

# Removes the namespaces (which removes their veth pairs) and the bridge.
cluster_net_down() {
  local n ns link
  for n in "${CLUSTER_NODES[@]}"; do
    ns="$(node_ns "$n")"
    link="$(node_hostlink "$n")"
    if ns_exists "$ns"; then ip netns del "$ns" 2> /dev/null || log "could not delete namespace $ns"; fi
    if ip link show "$link" > /dev/null 2>&1; then ip link del "$link" 2> /dev/null || true; fi
  done
  if ip link show "$CLUSTER_BRIDGE" > /dev/null 2>&1; then ip link del "$CLUSTER_BRIDGE" 2> /dev/null || true; fi
}

# --- stop --------------------------------------------------------------------------------------
# Stops every node (SIGCONT first: a node frozen by a test would never see the SIGTERM), SIGKILL
# after the grace period, then whatever still runs inside the namespaces (only this script puts
# processes there), then removes the network.
cluster_stop() {
  local grace="${HA_JOBS_CASSANDRA_STOP_TIMEOUT:-60}" n pid pids=() t0=$SECONDS ns
  for n in "${CLUSTER_NODES[@]}"; do
    if pid="$(node_pid "$n")"; then
      pids+=("$pid")
      kill -CONT "$pid" 2> /dev/null || true
      kill -TERM "$pid" 2> /dev/null || true
    fi
  done
  if ((${#pids[@]} > 0)); then
    log "stopping ${#pids[@]} node(s) (pids ${pids[*]}): SIGTERM, up to ${grace}s"
    for pid in "${pids[@]}"; do
      while alive "$pid" && ((SECONDS - t0 < grace)); do sleep 0.5; done
      if alive "$pid"; then
        log "pid $pid still alive after ${grace}s: SIGKILL"
        kill -KILL "$pid" 2> /dev/null || true
      fi
    done
    for pid in "${pids[@]}"; do while alive "$pid"; do sleep 0.2; done; done
  fi
  for n in "${CLUSTER_NODES[@]}"; do
    rm -f "$(node_pidfile "$n")"
    ns="$(node_ns "$n")"
    if ns_exists "$ns"; then
      for pid in $(ip netns pids "$ns" 2> /dev/null); do
        log "killing pid $pid left in namespace $ns"
        kill -CONT "$pid" 2> /dev/null || true
        kill -KILL "$pid" 2> /dev/null || true
      done
    fi
  done
  cluster_net_down
  log "stopped after $((SECONDS - t0))s"
}

# --- starting a node ---------------------------------------------------------------------------
# Used by cluster-start.sh (every node, fresh) and cluster-node.sh (one node again, keeping its data).
# The caller sets JAVA and START_TIMEOUT and defines fail MESSAGE (what to do when a node cannot start).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2> /dev/null; }

start_node() {
  local n="$1" dir pid
  dir="$(node_dir "$n")"
  # setsid: own session (a Ctrl-C here does not reach it); ip netns exec execs java, so $! is its pid.
  # The locks (fd 8, 9) are closed for the daemon.
  (cd "$dir" && exec setsid ip netns exec "$(node_ns "$n")" "$JAVA" @"$dir/conf/jvm.options" \
    org.apache.cassandra.service.CassandraDaemon < /dev/null > "$dir/logs/stdout.log" 2>&1 8>&- 9>&-) &
  pid=$!
  echo "$pid" > "$(node_pidfile "$n")"
  log "node $n: starting at $(node_addr "$n") in namespace $(node_ns "$n") (pid $pid)"
}

# Waits for node N's CQL port, then for CQL (with PEERS: until it lists PEERS peers with its schema).
wait_node() {
  local n="$1" peers="${2:-}" t0="$3" pid addr last=-1 elapsed remaining
  pid="$(cat "$(node_pidfile "$n")")"
  addr="$(node_addr "$n")"
  while true; do
    elapsed=$((SECONDS - t0))
    alive "$pid" || fail "node $n (pid $pid) exited during startup after ${elapsed}s"
    port_open "$addr" "$CLUSTER_CQL_PORT" && break
    ((elapsed < START_TIMEOUT)) || fail "node $n: CQL port $addr:$CLUSTER_CQL_PORT not open after ${START_TIMEOUT}s"
    if ((elapsed / 5 != last)); then
      last=$((elapsed / 5))
      log "node $n: waiting (${elapsed}s): $(tail -n 1 "$(node_dir "$n")/logs/system.log" 2> /dev/null | cut -c1-140 || true)"
    fi
    sleep 0.5
  done
  remaining=$((START_TIMEOUT - (SECONDS - t0)))
  ((remaining > 30)) || remaining=30
  cql_check "$addr" "$remaining" "$peers" "$pid" > /dev/null || fail "node $n: CQL not ready at $addr:$CLUSTER_CQL_PORT"
}

