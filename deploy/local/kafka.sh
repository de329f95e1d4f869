#!/usr/bin/env bash
# Local Apache Kafka broker (KRaft, one combined broker+controller node) on
# 127.0.0.1, without Docker: jars from Maven Central, run with the local JDK.
#
# Usage: deploy/local/kafka.sh {install|start|stop|status|wait|restart}
#
#   install  copy the Kafka jars into <local>/kafka/libs (once; fast after)
#   start    install if needed, format storage once, start in the background
#            and wait until ready; exits 0 if a broker already runs
#   stop     SIGTERM, up to 30 s, then SIGKILL; harmless if nothing runs
#   status   "running" (exit 0) or "not running" (exit 1)
#   wait     wait until the broker accepts connections and says it started
#
# Environment:
#   POLES_LOCAL_DIR        runtime dir (default: <repo>/.local)
#   KAFKA_PORT             client listener port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx768m)
#
# Files: <local>/kafka/{libs/,data/,server.properties,cluster.id,kafka.pid},
#        <local>/logs/kafka.log (broker stdout+stderr, appended).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CONF_DIR="$ROOT/deploy/local/kafka"
POM="$CONF_DIR/pom.xml"
TEMPLATE="$CONF_DIR/server.properties.template"
LOG4J_CONF="$CONF_DIR/log4j2.properties"

LOCAL_DIR="${POLES_LOCAL_DIR:-$ROOT/.local}"
KAFKA_DIR="$LOCAL_DIR/kafka"
# One copy of the jars serves every data directory (tests use their own POLES_LOCAL_DIR).
LIBS_DIR="${KAFKA_LIBS_DIR:-$ROOT/.local/kafka/libs}"
DATA_DIR="$KAFKA_DIR/data"
PROPS="$KAFKA_DIR/server.properties"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
PID_FILE="$KAFKA_DIR/kafka.pid"
LOG_DIR="$LOCAL_DIR/logs"
LOG_FILE="$LOG_DIR/kafka.log"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"

# kafka.sh writes this line into the log before each launch; readiness is
# judged on the log text after the last one.
START_MARKER="=== kafka.sh: starting broker"
READY_PATTERN='Kafka Server started'

say() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

is_installed() {
  local v
  v="$(kafka_version)"
  [[ -n "$v" && -f "$LIBS_DIR/kafka_2.13-$v.jar" ]]
}

cmd_install() {
  if is_installed; then
    return 0
  fi
  require java "install a JDK 17+, e.g. apt-get install -y openjdk-17-jdk-headless"
  require mvn "install Maven, e.g. apt-get install -y maven"
  local v tmp
  v="$(kafka_version)"
  [[ -n "$v" ]] || die "no <kafka.version> in $POM"
  say "installing Kafka $v jars into $LIBS_DIR (maven)"
  mkdir -p "$KAFKA_DIR"
  mkdir -p "$(dirname "$LIBS_DIR")"
  tmp="$(mktemp -d "$(dirname "$LIBS_DIR")/libs.tmp.XXXXXX")"
  # Maven's quiet output is only escape codes on success; show it on failure.
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    cat "$tmp.mvn.log" >&2
    rm -rf "$tmp" "$tmp.mvn.log"
    die "maven could not fetch the Kafka jars (output above)"
  fi
  rm -f "$tmp.mvn.log"
  [[ -f "$tmp/kafka_2.13-$v.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$v.jar missing after maven run"; }
  chmod 755 "$tmp"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  say "installed $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
}

# The pid from the pid file if that process is alive and is our broker.
live_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  echo "$pid"
}

port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Log text written since the last launch by this script (the rotated log too: a broker that has
# run long may have moved its "started" line into kafka.log.1). grep finds the last marker; an
# awk that accumulated the whole log was quadratic and made a long-running broker never "ready".
log_since_start() {
  local logs=() last
  [[ -f "$LOG_FILE.1" ]] && logs+=("$LOG_FILE.1")
  [[ -f "$LOG_FILE" ]] && logs+=("$LOG_FILE")
  ((${#logs[@]})) || return 0
  last=$(cat "${logs[@]}" | grep -n -F "$START_MARKER" | tail -n 1 | cut -d: -f1)
  cat "${logs[@]}" | tail -n +"$((${last:-0} + 1))"
}

is_ready() {
  port_open "$KAFKA_PORT" || return 1
  # grep -c reads to the end: with pipefail, grep -q would stop early, the writer would die of
  # SIGPIPE and a broker with a long log would never count as ready.
  [[ $(log_since_start | grep -c "$READY_PATTERN") -gt 0 ]]
}

log_tail() {
  echo "---- last lines of $LOG_FILE ----" >&2
  if [[ -f "$LOG_FILE" ]]; then tail -n 40 "$LOG_FILE" >&2; else echo "(no log)" >&2; fi
  echo "----" >&2
}

cmd_wait() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while true; do
    if is_ready; then
      say "broker ready on 127.0.0.1:$KAFKA_PORT"
      return 0
    fi
    if [[ -f "$PID_FILE" ]] && ! live_pid >/dev/null; then
      log_tail
      die "broker process exited before becoming ready"
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      die "broker not ready on 127.0.0.1:$KAFKA_PORT after ${KAFKA_START_TIMEOUT}s"
    fi
    sleep 0.5
  done
}

render_props() {
  mkdir -p "$DATA_DIR"
  local esc_data
  esc_data="$(printf '%s' "$DATA_DIR" | sed 's/[\\|&]/\\&/g')"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_DATA_DIR@|$esc_data|g" \
      "$TEMPLATE" >"$PROPS.tmp"
  mv "$PROPS.tmp" "$PROPS"
}

cluster_id() {
  local id=""
  # An already formatted data dir decides.
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    id="$(sed -n 's/^cluster\.id=//p' "$DATA_DIR/meta.properties" | head -n1)"
  fi
  if [[ -z "$id" && -s "$CLUSTER_ID_FILE" ]]; then
    id="$(head -n1 "$CLUSTER_ID_FILE" | tr -d '[:space:]')"
  fi
  if [[ -z "$id" ]]; then
    id="$(java -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" \
      kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')"
    [[ -n "$id" ]] || die "could not generate a cluster id"
  fi
  echo "$id" >"$CLUSTER_ID_FILE"
  echo "$id"
}

format_storage() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local id
  id="$(cluster_id)"
  say "formatting $DATA_DIR (cluster id $id)"
  # Static quorum (controller.quorum.voters): no --standalone here, Kafka
  # refuses it together with controller.quorum.voters.
  java -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" \
    kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$PROPS" \
    >>"$LOG_FILE" 2>&1 || { log_tail; die "kafka-storage format failed"; }
}

cmd_start() {
  local pid
  if pid="$(live_pid)"; then
    say "broker already running (pid $pid)"
    cmd_wait
    return 0
  fi
  if [[ -f "$PID_FILE" ]]; then
    # Stale pid file: our broker died (kill -9, crash) and may still be
    # releasing its port; give it a moment before judging the port.
    local n=0
    while port_open "$KAFKA_PORT" && ((n < 20)); do
      sleep 0.5
      n=$((n + 1))
    done
  fi
  if port_open "$KAFKA_PORT"; then
    say "something already listens on 127.0.0.1:$KAFKA_PORT; assuming a broker is running"
    return 0
  fi
  rm -f "$PID_FILE"
  cmd_install
  require java "install a JDK 17+"
  require setsid "util-linux"
  mkdir -p "$KAFKA_DIR" "$LOG_DIR"
  render_props
  format_storage

  # Keep one previous log once it grows large.
  if [[ -f "$LOG_FILE" ]] && (($(wc -c <"$LOG_FILE") > 50 * 1024 * 1024)); then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  echo "$START_MARKER $(date -u +%Y-%m-%dT%H:%M:%SZ) port=$KAFKA_PORT ===" >>"$LOG_FILE"
  # setsid: own session, so the broker outlives this shell and its job
  # control; the inner bash writes its pid and execs java (same pid).
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    java $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  # wait for the pid file from the child
  local n=0
  while [[ ! -s "$PID_FILE" ]] && ((n < 50)); do
    sleep 0.1
    n=$((n + 1))
  done
  [[ -s "$PID_FILE" ]] || die "broker did not start (no pid file)"
  say "started broker pid $(cat "$PID_FILE"), log $LOG_FILE"
  cmd_wait
}

cmd_stop() {
  local pid
  if ! pid="$(live_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping broker pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "still running after 30s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  local pid
  if pid="$(live_pid)"; then
    if is_ready; then
      echo "running (pid $pid, ready on 127.0.0.1:$KAFKA_PORT)"
    else
      echo "running (pid $pid, not ready yet)"
    fi
    return 0
  fi
  echo "not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  restart) cmd_stop; cmd_start ;;
  *)
    echo "usage: $0 {install|start|stop|status|wait|restart}" >&2
    exit 2
    ;;
esac
