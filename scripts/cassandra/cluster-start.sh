#!/usr/bin/env bash
# Starts a throw-away three-node Apache Cassandra 5.0 cluster (one data center, dc1) without Docker,
# from the same cached jars as start.sh, each node in its own network namespace so that a node can
# really be cut off (see README.md, "Three-node cluster"):
#
#   node N (1..3): namespace hajcN, address 10.77.0.1N (CQL 9042, storage 7000), host-side veth hajcN-h
#   bridge hajbr0 on the host with 10.77.0.1/24
#
# Fresh empty data directories on every start. Node 1 starts first; nodes 2 and 3 start together once
# node 1 answers CQL (auto_bootstrap false: they join an empty cluster). Returns 0 once every node
# answers CQL and lists the two others with an agreed schema. A no-op when the cluster already runs
# and answers. Needs root (namespaces). The LAST line on stdout is
#   CASSANDRA_CONTACT_POINTS=10.77.0.11,10.77.0.12,10.77.0.13
# everything else goes to stderr. Stop it with cluster-stop.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"
# shellcheck source=jvm-options.sh
source "$HERE/jvm-options.sh"

HEAP="${HA_JOBS_CASSANDRA_CLUSTER_HEAP:-768M}"
START_TIMEOUT="${HA_JOBS_CASSANDRA_START_TIMEOUT:-300}"
PAXOS_VARIANT="${CASSANDRA_PAXOS_VARIANT:-v1}"

VERSION="$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$HERE/pom.xml")"
LIB="$CASS_HOME/lib/$VERSION"

case "$PAXOS_VARIANT" in v1 | v2) ;; *) die "CASSANDRA_PAXOS_VARIANT must be v1 or v2 (got '$PAXOS_VARIANT')" ;; esac
[[ -n "$VERSION" ]] || die "cannot read <cassandra.version> from $HERE/pom.xml"
[[ "$(id -u)" == 0 ]] || die "the cluster needs root (network namespaces, veth pairs, a bridge)"
command -v node > /dev/null || die "node is required (for the CQL readiness check)"
ensure_iproute2

mkdir -p "$CLUSTER_DIR"
# One cluster-start/stop at a time.
exec 8> "$CLUSTER_DIR/.cluster.lock"
flock -w 900 8 || die "could not get $CLUSTER_DIR/.cluster.lock"

T0=$SECONDS

# --- already running? --------------------------------------------------------------------------
running=()
for n in "${CLUSTER_NODES[@]}"; do
  if pid="$(node_pid "$n")"; then running+=("$n:$pid"); fi
done
if ((${#running[@]} == ${#CLUSTER_NODES[@]})); then
  for n in "${CLUSTER_NODES[@]}"; do
    cql_check "$(node_addr "$n")" 20 $((${#CLUSTER_NODES[@]} - 1)) > /dev/null ||
      die "node $n ($(node_addr "$n")) runs but does not answer CQL (partitioned or frozen?); run cluster-stop.sh first"
  done
  log "already running (${running[*]}), all nodes answer CQL; checked in $((SECONDS - T0))s"
  echo "CASSANDRA_CONTACT_POINTS=$(contact_points)"
  exit 0
fi
if ((${#running[@]} > 0)); then
  die "only some nodes run (${running[*]}); run cluster-stop.sh first"
fi

JAVA="$(find_java)" || die "no Java 17 found (looked at /usr/lib/jvm/*17*, \$JAVA_HOME; or set HA_JOBS_CASSANDRA_JAVA)"
[[ "$(java_major "$JAVA")" == 17 ]] || die "HA_JOBS_CASSANDRA_JAVA=$JAVA is not a Java 17"

# --- jars (as start.sh, under start.sh's lock so that the two never fetch at once) ---------------
if [[ ! -f "$LIB/cassandra-all-$VERSION.jar" ]]; then
  command -v mvn > /dev/null || die "mvn is required to fetch the Cassandra jars"
  exec 9> "$CASS_HOME/.start.lock"
  flock -w 900 9 || die "could not get $CASS_HOME/.start.lock"
  if [[ ! -f "$LIB/cassandra-all-$VERSION.jar" ]]; then
    log "fetching cassandra-all $VERSION and its dependencies from Maven Central into $LIB"
    rm -rf "$LIB.tmp"
    if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVA")")")" \
      mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies -Dcassandra.lib.dir="$LIB.tmp" 2>&1 |
      sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
      rm -rf "$LIB.tmp"
      die "maven could not fetch the jars"
    fi
    [[ -f "$LIB.tmp/cassandra-all-$VERSION.jar" ]] || die "maven ran but $LIB.tmp/cassandra-all-$VERSION.jar is missing"
    rm -rf "$LIB"
    mv "$LIB.tmp" "$LIB"
  fi
  exec 9>&-
fi

# --- network -----------------------------------------------------------------------------------
# On any failure from here on: print the logs, stop what was started, remove the namespaces.
fail() {
  trap - INT TERM
  log "ERROR: $*"
  local n f
  for n in "${CLUSTER_NODES[@]}"; do
    for f in "$(node_dir "$n")/logs/system.log" "$(node_dir "$n")/logs/stdout.log"; do
      if [[ -s "$f" ]]; then
        log "---- last lines of $f ----"
        tail -n 25 "$f" >&2
      fi
    done
  done
  HA_JOBS_CASSANDRA_STOP_TIMEOUT=10 cluster_stop
  exit 1
}
trap 'fail "interrupted"' INT TERM

cluster_net_up || fail "cannot set up the network namespaces"
log "network: bridge $CLUSTER_BRIDGE $CLUSTER_HOST_ADDR/$CLUSTER_PREFIX, namespaces $(for n in "${CLUSTER_NODES[@]}"; do printf '%s=%s ' "$(node_ns "$n")" "$(node_addr "$n")"; done)($((SECONDS - T0))s)"

# --- configuration -----------------------------------------------------------------------------
# Evenly spread tokens (Murmur3, one token per node): node N gets -2^63 + (N-1) * 2^64/3.
TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)
SEEDS="$(node_addr 1):$CLUSTER_STORAGE_PORT,$(node_addr 2):$CLUSTER_STORAGE_PORT"

write_node_config() {
  local n="$1" dir addr
  dir="$(node_dir "$n")"
  addr="$(node_addr "$n")"
  rm -rf "$dir/data" "$dir/logs" "$dir/conf"
  mkdir -p "$dir/data" "$dir/logs" "$dir/conf"
  # Keys are Cassandra 5.0 names; settings as start.sh's single node, plus the cluster ones.
  cat > "$dir/conf/cassandra.yaml" << EOF
cluster_name: effect-ha-jobs-cluster
num_tokens: 1
initial_token: ${TOKENS[$((n - 1))]}
# The nodes join an empty cluster: nothing to stream.
auto_bootstrap: false
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: GossipingPropertyFileSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$SEEDS"
listen_address: $addr
rpc_address: $addr
storage_port: $CLUSTER_STORAGE_PORT
native_transport_port: $CLUSTER_CQL_PORT
start_native_transport: true

$(node_yaml "$dir" "$PAXOS_VARIANT")
authenticator: AllowAllAuthenticator

# Three JVMs share two cores.
concurrent_compactors: 1
EOF
  printf 'dc=%s\nrack=rack1\n' "$CLUSTER_DC" > "$dir/conf/cassandra-rackdc.properties"
  write_logback "$dir"
  # start.sh's JVM options (jvm-options.sh) plus the cluster's start-up speed-ups: a short ring
  # delay, and C1 only (-XX:TieredStopAtLevel=1: far less JIT work while three JVMs start on two
  # cores; peak throughput does not matter here).
  write_jvm_options "$dir" "$HEAP" -XX:TieredStopAtLevel=1 "-Dcassandra.ring_delay_ms=${HA_JOBS_CASSANDRA_RING_DELAY_MS:-5000}"
}

for n in "${CLUSTER_NODES[@]}"; do write_node_config "$n"; done
log "starting Cassandra $VERSION x${#CLUSTER_NODES[@]} (java: $JAVA, heap $HEAP each, paxos_variant $PAXOS_VARIANT, dc $CLUSTER_DC, dir $CLUSTER_DIR)"

t1=$SECONDS
start_node 1
wait_node 1 "" "$t1"
node1=$((SECONDS - t1))
log "node 1 answers CQL after ${node1}s"

t2=$SECONDS
for n in "${CLUSTER_NODES[@]:1}"; do start_node "$n"; done
for n in "${CLUSTER_NODES[@]:1}"; do wait_node "$n" $((${#CLUSTER_NODES[@]} - 1)) "$t2"; done
# Node 1 must see the others too (gossip is not instantaneous in both directions).
cql_check "$(node_addr 1)" 60 $((${#CLUSTER_NODES[@]} - 1)) > /dev/null || fail "node 1 does not list the other nodes"
trap - INT TERM

log "cluster up: node 1 after ${node1}s, nodes 2-${#CLUSTER_NODES[@]} $((SECONDS - t2))s later; start time $((SECONDS - T0))s in total (logs $CLUSTER_DIR/node*/logs)"
echo "CASSANDRA_CONTACT_POINTS=$(contact_points)"
