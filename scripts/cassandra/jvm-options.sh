#!/usr/bin/env bash
# The JVM options, the logging and the shared cassandra.yaml settings of every node these scripts start (the single node of start.sh and
# the three of cluster-start.sh), and how they find Java 17, in one place. Sourced; write_jvm_options needs LIB
# (the jar folder).

# java_major JAVA: its major version. find_java: HA_JOBS_CASSANDRA_JAVA, or the first Java 17 found.
java_major() { "$1" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'; }
find_java() {
  local c
  if [[ -n "${HA_JOBS_CASSANDRA_JAVA:-}" ]]; then
    echo "$HA_JOBS_CASSANDRA_JAVA"
    return 0
  fi
  for c in /usr/lib/jvm/java-17-openjdk-amd64/bin/java \
    /usr/lib/jvm/java-17-openjdk-arm64/bin/java \
    /usr/lib/jvm/*17*/bin/java \
    "${JAVA_HOME:+$JAVA_HOME/bin/java}"; do
    if [[ -n "$c" && -x "$c" && "$(java_major "$c")" == 17 ]]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# write_jvm_options DIR HEAP [EXTRA...]: writes DIR/conf/jvm.options, one option per line, passed as a
# java @argfile; EXTRA options (e.g. the cluster's start-up speed-ups) go before the class path.
# Module flags: Cassandra 5.0 conf/jvm17-server.options (+ the three jdk.attach/jdk.compiler ones that
# 5.0's bin/cassandra.in.sh adds when a full JDK is present, CASSANDRA-19001).
write_jvm_options() {
  local dir="$1" heap="$2" extra
  shift 2
  {
    cat << EOF
-Xms$heap
-Xmx$heap
-Xss256k
-XX:+UseG1GC
-XX:+ParallelRefProcEnabled
-XX:MaxTenuringThreshold=1
-XX:G1HeapRegionSize=16m
-XX:G1RSetUpdatingPauseTimePercent=5
-XX:MaxGCPauseMillis=300
-XX:InitiatingHeapOccupancyPercent=70
-XX:+ExitOnOutOfMemoryError
-XX:+UseThreadPriorities
-XX:+PerfDisableSharedMem
-XX:ErrorFile=$dir/logs/hs_err_pid%p.log
-ea
-da:net.openhft...
-Djava.net.preferIPv4Stack=true
-Djdk.attach.allowAttachSelf=true
--add-exports
java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports
java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports
java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports
java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports
java.sql/java.sql=ALL-UNNAMED
--add-exports
java.base/java.lang.ref=ALL-UNNAMED
--add-exports
jdk.unsupported/sun.misc=ALL-UNNAMED
--add-exports
jdk.attach/sun.tools.attach=ALL-UNNAMED
--add-exports
jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
--add-opens
java.base/java.lang.module=ALL-UNNAMED
--add-opens
java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens
java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens
java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens
java.base/jdk.internal.math=ALL-UNNAMED
--add-opens
java.base/jdk.internal.module=ALL-UNNAMED
--add-opens
java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens
jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens
java.base/sun.nio.ch=ALL-UNNAMED
--add-opens
java.base/java.io=ALL-UNNAMED
--add-opens
java.base/java.lang.reflect=ALL-UNNAMED
--add-opens
java.base/java.lang=ALL-UNNAMED
--add-opens
java.base/java.util=ALL-UNNAMED
--add-opens
java.base/java.nio=ALL-UNNAMED
--add-opens
jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
-Dio.netty.tryReflectionSetAccessible=true
-Dio.netty.allocator.useCacheForAllThreads=true
-Dio.netty.allocator.maxOrder=11
-Dcassandra-foreground=yes
-Dcassandra.config=file://$dir/conf/cassandra.yaml
-Dcassandra.storagedir=$dir/data
-Dcassandra.logdir=$dir/logs
-Dlogback.configurationFile=$dir/conf/logback.xml
-Dcassandra.skip_wait_for_gossip_to_settle=0
-Dcassandra.shutdown_announce_in_ms=0
-Dcassandra.superuser_setup_delay_ms=0
EOF
    for extra in "$@"; do printf '%s\n' "$extra"; done
    cat << EOF
-cp
$dir/conf:$LIB/*
EOF
  } | sed 's/.*/"&"/' > "$dir/conf/jvm.options"
}

# write_logback DIR: DIR/conf/logback.xml, as every node logs: INFO and up into logs/system.log, only
# WARN and up onto the console (logs/stdout.log).
write_logback() {
  cat > "$1/conf/logback.xml" << 'EOF'
<configuration scan="false">
  <!-- INFO and up into logs/system.log; only WARN and up onto the console (logs/stdout.log). -->
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern>
    </encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">
      <level>WARN</level>
    </filter>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %logger{0} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG" />
    <appender-ref ref="STDOUT" />
  </root>
</configuration>
EOF
}

# node_yaml DIR PAXOS_VARIANT: the part of cassandra.yaml every node shares (data under DIR/data,
# timeouts, Paxos variant), printed for the callers' heredocs; they add addresses, seeds, auth.
node_yaml() {
  cat << EOF
data_file_directories:
  - "$1/data/data"
commitlog_directory: "$1/data/commitlog"
saved_caches_directory: "$1/data/saved_caches"
hints_directory: "$1/data/hints"
cdc_raw_directory: "$1/data/cdc_raw"

commitlog_sync: periodic
commitlog_sync_period: 10s

# Throw-away test nodes: no snapshots on DROP/TRUNCATE, no hints.
auto_snapshot: false
hinted_handoff_enabled: false

# Generous timeouts: CI machines stall (GC, noisy neighbours) and a timed-out LWT has an unknown outcome.
read_request_timeout: 10s
range_request_timeout: 20s
write_request_timeout: 10s
counter_write_request_timeout: 10s
cas_contention_timeout: 10s
truncate_request_timeout: 60s
request_timeout: 20s

# v1 (default): 4 round trips per LWT write; v2: 2 round trips.
paxos_variant: $2
EOF
}
