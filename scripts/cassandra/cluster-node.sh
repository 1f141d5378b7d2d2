#!/usr/bin/env bash
# Starts one node of the cluster of cluster-start.sh again, keeping its configuration and data (its
# rows, its fencing tokens): what an operator does after a node crashed. The chaos suite uses it after
# kill -9 of a node (chaos/cluster.ts).
#
#   scripts/cassandra/cluster-node.sh start N     (N = 1..3)
#
# Returns 0 once the node answers CQL and lists the two others with an agreed schema; a no-op when the
# node already runs. Its network (namespace, link) must still exist: cluster-start.sh made it, and
# only cluster-stop.sh removes it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"
# shellcheck source=jvm-options.sh
source "$HERE/jvm-options.sh"

START_TIMEOUT="${HA_JOBS_CASSANDRA_START_TIMEOUT:-180}"
[[ "${1:-}" == start && "${2:-}" =~ ^[0-9]+$ ]] || die "usage: cluster-node.sh start N"
n="$2"
[[ " ${CLUSTER_NODES[*]} " == *" $n "* ]] || die "no node $n (nodes: ${CLUSTER_NODES[*]})"
[[ "$(id -u)" == 0 ]] || die "the cluster needs root (network namespaces)"
[[ -f "$(node_dir "$n")/conf/jvm.options" ]] || die "node $n was never started (run cluster-start.sh first)"
ns_exists "$(node_ns "$n")" || die "namespace $(node_ns "$n") is gone (run cluster-start.sh)"

# Not the whole cluster's stop on failure (cluster-start.sh's fail): only this node's logs.
fail() {
  log "ERROR: $*"
  tail -n 25 "$(node_dir "$n")/logs/system.log" >&2 2> /dev/null || true
  exit 1
}

exec 8> "$CLUSTER_DIR/.cluster.lock"
flock -w 300 8 || die "could not get $CLUSTER_DIR/.cluster.lock"
if pid="$(node_pid "$n")"; then
  log "node $n already runs (pid $pid)"
  exit 0
fi
JAVA="$(find_java)" || die "no Java 17 found (or set HA_JOBS_CASSANDRA_JAVA)"
t0=$SECONDS
start_node "$n"
wait_node "$n" $((${#CLUSTER_NODES[@]} - 1)) "$t0"
log "node $n answers CQL again after $((SECONDS - t0))s (data kept)"
