#!/usr/bin/env bash
# Stops the Cassandra node started by start.sh (pid file), SIGTERM first, SIGKILL after a grace
# period. Safe to run when nothing is running.
set -euo pipefail

CASS_HOME="${HA_JOBS_CASSANDRA_HOME:-$HOME/.cache/effect-ha-jobs/cassandra}"
RUN="$CASS_HOME/run"
PIDFILE="$RUN/cassandra.pid"
GRACE="${HA_JOBS_CASSANDRA_STOP_TIMEOUT:-60}"

log() { printf '[cassandra] %s\n' "$*" >&2; }
# kill -0 also succeeds on a zombie; treat state Z as gone.
alive() { kill -0 "$1" 2> /dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" != Z ]]; }
is_our_daemon() { [[ -n "${1:-}" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q 'org.apache.cassandra.service.CassandraDaemon'; }

if [[ ! -f "$PIDFILE" ]]; then
  log "not running (no pid file $PIDFILE)"
  exit 0
fi
pid="$(cat "$PIDFILE" 2> /dev/null || true)"
if ! is_our_daemon "$pid"; then
  log "not running (stale pid file, pid '${pid}' is not a CassandraDaemon); removing it"
  rm -f "$PIDFILE"
  exit 0
fi

log "stopping Cassandra (pid $pid): SIGTERM, up to ${GRACE}s"
t0=$SECONDS
kill -TERM "$pid" 2> /dev/null || true
while alive "$pid" && ((SECONDS - t0 < GRACE)); do sleep 0.5; done
if alive "$pid"; then
  log "still alive after ${GRACE}s: SIGKILL"
  kill -KILL "$pid" 2> /dev/null || true
  while alive "$pid"; do sleep 0.2; done
fi
rm -f "$PIDFILE"
log "stopped after $((SECONDS - t0))s"
