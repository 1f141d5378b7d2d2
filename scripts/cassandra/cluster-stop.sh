#!/usr/bin/env bash
# Stops the three-node cluster of cluster-start.sh: SIGCONT + SIGTERM to every node (pid files),
# SIGKILL after a grace period, then removes the namespaces hajc1..3, their veth pairs and the bridge
# hajbr0. Safe to run when nothing is running (it still removes leftover namespaces).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

[[ "$(id -u)" == 0 ]] || die "the cluster needs root (network namespaces)"
mkdir -p "$CLUSTER_DIR"
exec 8> "$CLUSTER_DIR/.cluster.lock"
flock -w 900 8 || die "could not get $CLUSTER_DIR/.cluster.lock"
cluster_stop
