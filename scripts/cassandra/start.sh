#!/usr/bin/env bash
# Starts a throw-away single-node Apache Cassandra 5.0 on 127.0.0.1 without Docker:
# jars from Maven Central (cached), JDK 17, fresh empty data directory on every start
# (unless HA_JOBS_CASSANDRA_KEEP_DATA=1: then the data directory of the previous run is kept).
# Returns 0 once CQL answers on 127.0.0.1:$HA_JOBS_CASSANDRA_PORT (default 9042).
# See README.md in this folder for the environment variables. Stop it with stop.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=jvm-options.sh
source "$HERE/jvm-options.sh"

CASS_HOME="${HA_JOBS_CASSANDRA_HOME:-$HOME/.cache/effect-ha-jobs/cassandra}"
HOST=127.0.0.1
PORT="${HA_JOBS_CASSANDRA_PORT:-9042}"
STORAGE_PORT="${HA_JOBS_CASSANDRA_STORAGE_PORT:-7000}"
HEAP="${HA_JOBS_CASSANDRA_HEAP:-1G}"
START_TIMEOUT="${HA_JOBS_CASSANDRA_START_TIMEOUT:-300}"
PAXOS_VARIANT="${CASSANDRA_PAXOS_VARIANT:-v1}"
AUTH="${HA_JOBS_CASSANDRA_AUTH:-none}"
KEEP_DATA="${HA_JOBS_CASSANDRA_KEEP_DATA:-0}"

VERSION="$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$HERE/pom.xml")"
LIB="$CASS_HOME/lib/$VERSION"
RUN="$CASS_HOME/run"
PIDFILE="$RUN/cassandra.pid"

log() { printf '[cassandra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$PAXOS_VARIANT" in v1 | v2) ;; *) die "CASSANDRA_PAXOS_VARIANT must be v1 or v2 (got '$PAXOS_VARIANT')" ;; esac
case "$KEEP_DATA" in 0 | 1) ;; *) die "HA_JOBS_CASSANDRA_KEEP_DATA must be 0 or 1 (got '$KEEP_DATA')" ;; esac
case "$AUTH" in
  none) AUTHENTICATOR=AllowAllAuthenticator ;;
  # The default superuser cassandra/cassandra; wait-cql.mjs logs in with CASSANDRA_USERNAME/PASSWORD.
  password)
    AUTHENTICATOR=PasswordAuthenticator
    export CASSANDRA_USERNAME="${CASSANDRA_USERNAME:-cassandra}" CASSANDRA_PASSWORD="${CASSANDRA_PASSWORD:-cassandra}"
    ;;
  *) die "HA_JOBS_CASSANDRA_AUTH must be none or password (got '$AUTH')" ;;
esac
[[ -n "$VERSION" ]] || die "cannot read <cassandra.version> from $HERE/pom.xml"
command -v node > /dev/null || die "node is required (for wait-cql.mjs)"
node "$HERE/wait-cql.mjs" --check || die "wait-cql.mjs needs the npm package cassandra-driver (see above)"

# Java 17 (find_java in jvm-options.sh): Cassandra 5.0 runs on Java 11 or 17 only, and the module
# flags are the Java 17 ones; JDK 24+ refuses Cassandra's SecurityManager, so never trust whatever
# `java`/JAVA_HOME is.

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2> /dev/null; }
is_our_daemon() { [[ -n "${1:-}" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q 'org.apache.cassandra.service.CassandraDaemon'; }
cql_ok() { node "$HERE/wait-cql.mjs" --host "$HOST" --port "$PORT" --timeout "$1" --quiet > /dev/null 2>&1; }

mkdir -p "$CASS_HOME" "$RUN"
# One start.sh at a time (a second one waits here, then finds the node running).
exec 9> "$CASS_HOME/.start.lock"
flock -w 900 9 || die "could not get $CASS_HOME/.start.lock"

# --- already running? ------------------------------------------------------------------------
if [[ -f "$PIDFILE" ]]; then
  oldpid="$(cat "$PIDFILE" 2> /dev/null || true)"
  if is_our_daemon "$oldpid"; then
    # Ours, maybe still starting (an earlier start.sh was interrupted): give it the full timeout.
    if node "$HERE/wait-cql.mjs" --host "$HOST" --port "$PORT" --timeout "$START_TIMEOUT" --pid "$oldpid" --quiet > /dev/null; then
      log "already running (pid $oldpid), CQL answers on $HOST:$PORT"
      exit 0
    fi
    die "pid $oldpid (from $PIDFILE) is a Cassandra that does not answer CQL on $HOST:$PORT; run stop.sh first"
  fi
  rm -f "$PIDFILE"
fi
if port_open "$PORT"; then
  if cql_ok 20; then
    log "a Cassandra node already answers CQL on $HOST:$PORT (not started by this script: no pid file); using it"
    exit 0
  fi
  die "port $HOST:$PORT is taken by something that does not answer CQL"
fi

JAVA="$(find_java)" || die "no Java 17 found (looked at /usr/lib/jvm/*17*, \$JAVA_HOME; or set HA_JOBS_CASSANDRA_JAVA)"
[[ "$(java_major "$JAVA")" == 17 ]] || die "HA_JOBS_CASSANDRA_JAVA=$JAVA is not a Java 17"

# --- jars ------------------------------------------------------------------------------------
if [[ ! -f "$LIB/cassandra-all-$VERSION.jar" ]]; then
  command -v mvn > /dev/null || die "mvn is required to fetch the Cassandra jars"
  log "fetching cassandra-all $VERSION and its dependencies from Maven Central into $LIB"
  t0=$SECONDS
  rm -rf "$LIB.tmp"
  # Maven runs on the same Java 17. The sed drops the bare colour-reset codes Maven 3.8 prints even
  # in batch mode; pipefail keeps Maven's exit status.
  if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVA")")")" \
    mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies -Dcassandra.lib.dir="$LIB.tmp" 2>&1 |
    sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$LIB.tmp"
    die "maven could not fetch the jars"
  fi
  [[ -f "$LIB.tmp/cassandra-all-$VERSION.jar" ]] || die "maven ran but $LIB.tmp/cassandra-all-$VERSION.jar is missing"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  log "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
fi

# --- run directory: config + empty data (kept with HA_JOBS_CASSANDRA_KEEP_DATA=1) ------------
if [[ "$KEEP_DATA" == 1 && -d "$RUN/data" ]]; then
  # A restart of the same node: keyspaces, tables and rows (and the commit log) survive.
  log "keeping the data directory $RUN/data (HA_JOBS_CASSANDRA_KEEP_DATA=1)"
  if [[ -f "$RUN/logs/system.log" ]]; then mv -f "$RUN/logs/system.log" "$RUN/logs/system.previous.log"; fi
  rm -rf "$RUN/conf"
else
  rm -rf "$RUN/data" "$RUN/logs" "$RUN/conf"
fi
mkdir -p "$RUN/data" "$RUN/logs" "$RUN/conf"

# Keys are Cassandra 5.0 names (5.0 refuses unknown keys). Everything else keeps its default;
# notably user-defined functions, materialized views and SASI stay disabled (the defaults).
cat > "$RUN/conf/cassandra.yaml" << EOF
cluster_name: effect-ha-jobs-test
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$HOST:$STORAGE_PORT"
listen_address: $HOST
rpc_address: $HOST
storage_port: $STORAGE_PORT
native_transport_port: $PORT
start_native_transport: true

$(node_yaml "$RUN" "$PAXOS_VARIANT")

# HA_JOBS_CASSANDRA_AUTH=password: logins required (superuser cassandra/cassandra).
authenticator: $AUTHENTICATOR
EOF

write_logback "$RUN"

# JVM options (shared with the cluster: jvm-options.sh), plus unsafesystem: schema changes are not
# flushed, so tests create keyspaces faster. Not on the cluster, whose nodes chaos kills with -9: a
# node restarted after that had forgotten a keyspace created a minute before it died.
write_jvm_options "$RUN" "$HEAP" -Dcassandra.unsafesystem=true

# --- start -----------------------------------------------------------------------------------
log "starting Cassandra $VERSION (java: $JAVA, heap $HEAP, paxos_variant $PAXOS_VARIANT, authenticator $AUTHENTICATOR, run dir $RUN, keep data $KEEP_DATA)"
t0=$SECONDS
cd "$RUN"
# setsid: own session, so a Ctrl-C in this terminal does not reach the daemon. fd 9 (the lock) is
# closed for the child, or the daemon would hold the lock for its whole life.
setsid "$JAVA" @"$RUN/conf/jvm.options" org.apache.cassandra.service.CassandraDaemon \
  < /dev/null > "$RUN/logs/stdout.log" 2>&1 9>&- &
pid=$!
echo "$pid" > "$PIDFILE"

fail() {
  log "ERROR: $*"
  for f in "$RUN/logs/system.log" "$RUN/logs/stdout.log"; do
    if [[ -s "$f" ]]; then
      log "---- last lines of $f ----"
      tail -n 40 "$f" >&2
    fi
  done
  if kill -0 "$pid" 2> /dev/null; then
    log "killing pid $pid"
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2> /dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2> /dev/null || true
  fi
  rm -f "$PIDFILE"
  exit 1
}

trap 'fail "interrupted"' INT TERM
last_report=-1
while true; do
  elapsed=$((SECONDS - t0))
  kill -0 "$pid" 2> /dev/null || fail "Cassandra (pid $pid) exited during startup after ${elapsed}s"
  port_open "$PORT" && break
  ((elapsed < START_TIMEOUT)) || fail "CQL port $HOST:$PORT not open after ${START_TIMEOUT}s"
  if ((elapsed / 5 != last_report)); then
    last_report=$((elapsed / 5))
    line="$(tail -n 1 "$RUN/logs/system.log" 2> /dev/null | cut -c1-160 || true)"
    log "waiting (${elapsed}s, pid $pid): ${line:-<no log yet>}"
  fi
  sleep 1
done

# The port is open; confirm that CQL really answers (the shell cannot speak CQL).
remaining=$((START_TIMEOUT - (SECONDS - t0)))
((remaining > 30)) || remaining=30
if ! version="$(node "$HERE/wait-cql.mjs" --host "$HOST" --port "$PORT" --timeout "$remaining" --pid "$pid")"; then
  fail "CQL did not answer on $HOST:$PORT"
fi
log "Cassandra $version answers CQL on $HOST:$PORT after $((SECONDS - t0))s (pid $pid, pid file $PIDFILE, logs $RUN/logs)"
