#!/usr/bin/env bash
# Local Apache Kafka on 127.0.0.1, without Docker: jars from Maven Central, run with the local
# JDK. One combined broker+controller KRaft node by default (a small machine), or a cluster of
# KAFKA_BROKERS combined nodes (3 for `make chaos`, or `KAFKA_BROKERS=3 make up`): replication
# factor min(3, brokers), min.insync.replicas 2 on three, internal topics likewise.
# Secured as in production: SASL/SCRAM-SHA-512 logins, ACLs, nothing allowed by default (see
# shared/kafka_acls.py for the principals and what each may do); every node has the same users.
#
# Usage: deploy/local/kafka.sh {install|start|stop|status|wait|restart|bootstrap}
#
#   install    copy the Kafka jars into <local>/kafka/libs (once; fast after)
#   start      install if needed, generate the passwords and format each node's storage with
#              the SCRAM users once, start every node not running (in the background), wait
#              until all are ready, apply the ACLs; exits 0 if they already run
#   stop       SIGTERM to every node at once, up to 30 s, then SIGKILL; harmless if none runs
#   status     "running" (exit 0, every node runs) or "not running" (exit 1, one or more do not)
#   wait       wait until every node accepts connections and says it started
#   bootstrap  print the clients' bootstrap list (127.0.0.1:<port>,... one per node)
#
# Environment:
#   POLES_LOCAL_DIR        runtime dir (default: <repo>/.local)
#   KAFKA_BROKERS          nodes (default: what the last start recorded in <local>/kafka/brokers,
#                          else 1)
#   KAFKA_PORT             client listener port of node 1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port of node 1 (default 9093)
#   KAFKA_PORT_STEP        node N listens on KAFKA_PORT + (N-1)*step, its controller on
#                          KAFKA_CONTROLLER_PORT + (N-1)*step (default 100: 9092, 9192, 9292)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
#   KAFKA_HEAP_OPTS        JVM heap flags per node (default -Xms256m -Xmx768m on one node,
#                          -Xms128m -Xmx384m each on a cluster)
#
# Files, one node: <local>/kafka/{libs/,data/,server.properties,cluster.id,kafka.pid,scram-users},
#        <local>/logs/kafka.log (broker stdout+stderr, appended);
#        a cluster: <local>/kafka/node-N/{data/,server.properties,kafka.pid,scram-users} and
#        <local>/logs/kafka-node-N.log, one cluster.id for all;
#        <local>/kafka/brokers (the node count of the last start),
#        <local>/secrets/kafka.env (mode 600: one password per principal, made on
#        first start, never committed), <local>/secrets/kcat-{admin,integrator}.conf
#        (kcat -F <file> ...: the login without a password on the command line) and
#        <local>/secrets/admin.properties (--command-config of Kafka's own tools).
set -euo pipefail

NAME=kafka.sh
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"

CONF_DIR="$ROOT/deploy/local/kafka"
POM="$CONF_DIR/pom.xml"
TEMPLATE="$CONF_DIR/server.properties.template"
LOG4J_CONF="$CONF_DIR/log4j2.properties"

KAFKA_DIR="$LOCAL/kafka"
# One copy of the jars serves every data directory (tests use their own POLES_LOCAL_DIR).
LIBS_DIR="${KAFKA_LIBS_DIR:-$ROOT/.local/kafka/libs}"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
BROKERS_FILE="$KAFKA_DIR/brokers"
PID_MATCH="kafka.Kafka"
LOG_DIR="$LOCAL/logs"
SECRETS_DIR="$LOCAL/secrets"
SECRETS_FILE="$SECRETS_DIR/kafka.env"

BASE_PORT="${KAFKA_PORT:-9092}"
BASE_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PORT_STEP="${KAFKA_PORT_STEP:-100}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
if [[ -n ${KAFKA_BROKERS:-} ]]; then
  BROKERS=$KAFKA_BROKERS
elif [[ -s $BROKERS_FILE ]]; then
  BROKERS="$(tr -dc '0-9' <"$BROKERS_FILE")"
else
  BROKERS=1
fi
[[ $BROKERS =~ ^[1-9]$ ]] || die "KAFKA_BROKERS must be 1 to 9 (got '$BROKERS')"
REPLICATION=$((BROKERS < 3 ? BROKERS : 3))
MIN_ISR=$((REPLICATION > 1 ? REPLICATION - 1 : 1))
if ((BROKERS == 1)); then
  KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
else
  KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"
fi

# node N: points the per-node variables at node N (its ports, data, properties, pid, log). One
# node keeps the layout it always had (<local>/kafka/data, kafka.pid, logs/kafka.log).
node() {
  NODE=$1
  KAFKA_PORT=$((BASE_PORT + (NODE - 1) * PORT_STEP))
  KAFKA_CONTROLLER_PORT=$((BASE_CONTROLLER_PORT + (NODE - 1) * PORT_STEP))
  if ((BROKERS == 1)); then
    NODE_DIR="$KAFKA_DIR"
    LOG_FILE="$LOG_DIR/kafka.log"
  else
    NODE_DIR="$KAFKA_DIR/node-$NODE"
    LOG_FILE="$LOG_DIR/kafka-node-$NODE.log"
  fi
  DATA_DIR="$NODE_DIR/data"
  PROPS="$NODE_DIR/server.properties"
  PID_FILE="$NODE_DIR/kafka.pid"
  SCRAM_USERS_FILE="$NODE_DIR/scram-users"
}
NODES=()
for ((n = 1; n <= BROKERS; n++)); do NODES+=("$n"); done
node 1

bootstrap_list() {
  local n list=()
  for n in "${NODES[@]}"; do list+=("127.0.0.1:$((BASE_PORT + (n - 1) * PORT_STEP))"); done
  (IFS=,; echo "${list[*]}")
}

quorum_voters() {
  local n list=()
  for n in "${NODES[@]}"; do
    list+=("$n@127.0.0.1:$((BASE_CONTROLLER_PORT + (n - 1) * PORT_STEP))")
  done
  (IFS=,; echo "${list[*]}")
}

# kafka.sh writes this line into the log before each launch; readiness is
# judged on the log text after the last one.
START_MARKER="=== kafka.sh: starting broker"
READY_PATTERN='Kafka Server started'

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1
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

wait_node() {
  WAIT_INTERVAL=0.5 wait_ready "broker on 127.0.0.1:$KAFKA_PORT" "$KAFKA_START_TIMEOUT" \
    "$PID_FILE" "$PID_MATCH" "$LOG_FILE" is_ready
  say "broker ready on 127.0.0.1:$KAFKA_PORT"
}

# Every node: a cluster's nodes become ready together (a node waits for a controller quorum).
cmd_wait() {
  local n
  for n in "${NODES[@]}"; do
    node "$n"
    wait_node
  done
}

# The principals and their secrets-file variables (shared/kafka_acls.py), asked once a start.
PRINCIPALS=""
load_principals() {
  [[ -x "$PYTHON" ]] || die "$PYTHON not found (run make setup)"
  PRINCIPALS="$(cd "$ROOT" && "$PYTHON" -m shared.kafka_acls principals)" \
    || die "could not list the principals (shared/kafka_acls.py)"
}
principals() { echo "$PRINCIPALS"; }

# Give every principal a password (kept across restarts and re-formats), then load them.
prepare_secrets() {
  local principal var
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"
  (umask 077 && touch "$SECRETS_FILE")
  while read -r principal var; do
    grep -q "^$var=" "$SECRETS_FILE" && continue
    echo "$var=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>"$SECRETS_FILE"
  done < <(principals)
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  write_kcat_config admin KAFKA_ADMIN_PASSWORD
  write_kcat_config poles-integrator KAFKA_INTEGRATOR_PASSWORD
  # The same login for Kafka's own tools (kafka-configs, kafka-acls: --command-config).
  (umask 077 && cat >"$SECRETS_DIR/admin.properties" <<CONF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
CONF
  )
}

# kcat logs in with PLAIN: its librdkafka 2.0.2 fails SCRAM against Kafka 4 (see the template).
write_kcat_config() {
  (umask 077 && cat >"$SECRETS_DIR/kcat-${1#poles-}.conf" <<CONF
bootstrap.servers=$(bootstrap_list)
security.protocol=SASL_PLAINTEXT
sasl.mechanisms=PLAIN
sasl.username=$1
sasl.password=${!2}
CONF
  )
}

render_props() {
  mkdir -p "$DATA_DIR"
  local esc_data
  esc_data="$(printf '%s' "$DATA_DIR" | sed 's/[\\|&]/\\&/g')"
  (umask 077 && sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_DATA_DIR@|$esc_data|g" \
      -e "s|@KAFKA_NODE_ID@|$NODE|g" \
      -e "s|@KAFKA_QUORUM_VOTERS@|$(quorum_voters)|g" \
      -e "s|@KAFKA_REPLICATION@|$REPLICATION|g" \
      -e "s|@KAFKA_MIN_ISR@|$MIN_ISR|g" \
      -e "s|@KAFKA_ADMIN_PASSWORD@|$KAFKA_ADMIN_PASSWORD|g" \
      -e "s|@KAFKA_INTEGRATOR_PASSWORD@|$KAFKA_INTEGRATOR_PASSWORD|g" \
      "$TEMPLATE" >"$PROPS.tmp")
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
  if [[ -f "$DATA_DIR/meta.properties" && ! -f "$SCRAM_USERS_FILE" ]]; then
    # Formatted before the broker was secured: no admin user, so nothing could log in.
    local aside
    aside="$DATA_DIR.unsecured.$(date -u +%Y%m%dT%H%M%SZ)"
    say "$DATA_DIR has no SCRAM users (made before SASL); moving it to $aside"
    mv "$DATA_DIR" "$aside"
    mkdir -p "$DATA_DIR"
  fi
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local id principal var scram=()
  id="$(cluster_id)"
  while read -r principal var; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$principal,password=${!var}]")
  done < <(principals)
  say "formatting $DATA_DIR (cluster id $id) with $((${#scram[@]} / 2)) SCRAM users"
  # Static quorum (controller.quorum.voters): no --standalone here, Kafka
  # refuses it together with controller.quorum.voters.
  java -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" \
    kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$PROPS" "${scram[@]}" \
    >>"$LOG_FILE" 2>&1 || { log_tail "$LOG_FILE" 40; die "kafka-storage format failed"; }
  principals | cut -d' ' -f1 >"$SCRAM_USERS_FILE"
}

# A principal added to shared/kafka_acls.py after the storage was formatted gets its SCRAM
# user from the running broker (rare: one JVM per new principal). Like the format's
# --add-scram, the password is on a command line for a moment: a local stack's risk only.
add_new_users() {
  local principal var n
  node 1
  while read -r principal var; do
    node 1
    grep -qx "$principal" "$SCRAM_USERS_FILE" && continue
    say "creating the SCRAM user $principal"
    java -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" kafka.admin.ConfigCommand \
      --bootstrap-server "$(bootstrap_list)" --command-config "$SECRETS_DIR/admin.properties" \
      --alter --entity-type users --entity-name "$principal" \
      --add-config "SCRAM-SHA-512=[password=${!var}]" >>"$LOG_FILE" 2>&1 \
      || die "could not create the SCRAM user $principal (see $LOG_FILE)"
    for n in "${NODES[@]}"; do
      node "$n"
      echo "$principal" >>"$SCRAM_USERS_FILE"
    done
  done < <(principals)
}

# The ACLs of shared/kafka_acls.py, as admin; creating an existing ACL changes nothing.
apply_acls() {
  (cd "$ROOT" && POLES_KAFKA_USERNAME=admin POLES_KAFKA_PASSWORD="$KAFKA_ADMIN_PASSWORD" \
    "$PYTHON" -m shared.kafka_acls apply --bootstrap "$(bootstrap_list)") \
    || die "could not apply the ACLs"
}

# The node of node(): nothing to do if it runs (or something else listens on its port), else its
# properties, its storage (formatted once) and its launch. Succeeds when it launched one.
launch_node() {
  local pid n=0
  if pid="$(running_pid "$PID_FILE" "$PID_MATCH")"; then
    say "broker $NODE already running (pid $pid)"
    return 1
  fi
  if [[ -f "$PID_FILE" ]]; then
    # Stale pid file: our broker died (kill -9, crash) and may still be
    # releasing its port; give it a moment before judging the port.
    while port_open "$KAFKA_PORT" && ((n < 20)); do
      sleep 0.5
      n=$((n + 1))
    done
  fi
  if port_open "$KAFKA_PORT"; then
    say "something already listens on 127.0.0.1:$KAFKA_PORT; assuming broker $NODE is running"
    return 1
  fi
  mkdir -p "$NODE_DIR"
  render_props
  format_storage
  # Keep one previous log once it grows large.
  if [[ -f "$LOG_FILE" ]] && (($(wc -c <"$LOG_FILE") > 50 * 1024 * 1024)); then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  echo "$START_MARKER $(date -u +%Y-%m-%dT%H:%M:%SZ) port=$KAFKA_PORT ===" >>"$LOG_FILE"
  # shellcheck disable=SC2086
  launch "$PID_FILE" "$LOG_FILE" \
    java $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS"
  say "started broker $NODE pid $(cat "$PID_FILE") on 127.0.0.1:$KAFKA_PORT, log $LOG_FILE"
}

# A node count other than the data's: the other layout's brokers must be stopped first.
check_layout() {
  local other
  [[ -s $BROKERS_FILE ]] || return 0
  other="$(tr -dc '0-9' <"$BROKERS_FILE")"
  [[ -z $other || $other == "$BROKERS" ]] && return 0
  local was=$BROKERS
  BROKERS=$other
  node 1
  if running_pid "$PID_FILE" "$PID_MATCH" >/dev/null; then
    die "$other broker(s) run from $KAFKA_DIR; stop them first (KAFKA_BROKERS=$other $0 stop)"
  fi
  BROKERS=$was
  node 1
  say "starting $BROKERS broker(s) where $other ran before: their data stay apart, topics are made again"
}

cmd_start() {
  local n launched=0
  check_layout
  mkdir -p "$KAFKA_DIR" "$LOG_DIR"
  echo "$BROKERS" >"$BROKERS_FILE"
  cmd_install
  require java "install a JDK 17+"
  require setsid "util-linux"
  load_principals
  prepare_secrets
  for n in "${NODES[@]}"; do
    node "$n"
    launch_node && launched=$((launched + 1))
  done
  cmd_wait
  ((launched)) || return 0
  add_new_users
  apply_acls
}

cmd_stop() {
  local n pids=()
  # All at once: a cluster stopped one node at a time loses its quorum and the last nodes wait
  # for it until they are killed.
  for n in "${NODES[@]}"; do
    node "$n"
    stop_process "broker $n" 30 "$PID_FILE" "$PID_MATCH" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || true; done
}

cmd_status() {
  local n pid up=0
  for n in "${NODES[@]}"; do
    node "$n"
    if pid="$(running_pid "$PID_FILE" "$PID_MATCH")"; then
      up=$((up + 1))
      if is_ready; then
        echo "broker $n running (pid $pid, ready on 127.0.0.1:$KAFKA_PORT)"
      else
        echo "broker $n running (pid $pid, not ready yet)"
      fi
    else
      echo "broker $n not running (127.0.0.1:$KAFKA_PORT)"
    fi
  done
  if ((up == BROKERS)); then
    echo "running ($BROKERS broker(s): $(bootstrap_list))"
    return 0
  fi
  echo "not running ($up of $BROKERS broker(s))"
  return 1
}

cmd_restart() {
  cmd_stop
  cmd_start
}

cmd_bootstrap() {
  bootstrap_list
}

main "install|start|stop|status|wait|restart|bootstrap" "${1:-}"
