#!/usr/bin/env bash
# Local Prometheus (Debian's `prometheus` package, installed by deploy/local/setup.sh) on
# 127.0.0.1, scraping the four services with deploy/prometheus/prometheus.local.yml and
# evaluating the alert rules of deploy/prometheus/rules/. Exemplars are kept
# (--enable-feature=exemplar-storage; Prometheus asks the services for OpenMetrics, which carries
# them): a latency bucket's exemplar names the trace_id of a request to open in Jaeger.
#
# Usage: deploy/local/prometheus.sh start|stop|status|wait
#
#   start   start in the background and wait until ready; harmless if it already runs
#   stop    SIGTERM, up to 20 s, then SIGKILL; harmless if nothing runs
#   status  "running ..." (exit 0) or "stopped" (exit 3)
#   wait    wait until GET /-/ready answers 200
#
# Environment:
#   POLES_LOCAL_DIR      state directory (default: <repo>/.local)
#   PROMETHEUS_PORT      TCP port on 127.0.0.1 (default: 9090)
#   PROMETHEUS_BIN       the server binary (default: prometheus on PATH)
#   PROMETHEUS_TIMEOUT   seconds to wait for readiness (default: 60)
#
# Files: <local>/prometheus/{data/,prometheus.pid}, <local>/logs/prometheus.log (appended).
set -euo pipefail

NAME=prometheus
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
CONFIG="$ROOT/deploy/prometheus/prometheus.local.yml"

BIN="${PROMETHEUS_BIN:-prometheus}"
STATE="$LOCAL/prometheus"
DATA="$STATE/data"
PIDFILE="$STATE/prometheus.pid" # its process is ours when it runs on $CONFIG
LOG="$LOCAL/logs/prometheus.log"
PORT="${PROMETHEUS_PORT:-9090}"
ADDR="127.0.0.1:$PORT"
TIMEOUT="${PROMETHEUS_TIMEOUT:-60}"

is_ready() { curl -fsS -o /dev/null --max-time 2 "http://$ADDR/-/ready" 2>/dev/null; }

cmd_wait() {
    wait_ready "Prometheus on $ADDR" "$TIMEOUT" "$PIDFILE" "$CONFIG" "$LOG" is_ready
}

cmd_start() {
    if up_already "http://$ADDR/" "$PIDFILE" "$CONFIG" is_ready; then
        cmd_wait
        return 0
    fi
    require "$BIN" "\`make setup\` installs it: Debian package prometheus"

    mkdir -p "$DATA" "$(dirname "$LOG")"
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start on $ADDR, config $CONFIG" >>"$LOG"
    launch "$PIDFILE" "$LOG" "$BIN" \
        --config.file="$CONFIG" \
        --storage.tsdb.path="$DATA" \
        --storage.tsdb.retention.time=15d \
        --enable-feature=exemplar-storage \
        --web.listen-address="$ADDR"
    cmd_wait
    say "ready on http://$ADDR/ (pid $(cat "$PIDFILE"), log $LOG)"
}

cmd_stop() {
    stop_process Prometheus 20 "$PIDFILE" "$CONFIG"
}

cmd_status() {
    server_status "http://$ADDR/" "$PIDFILE" "$CONFIG" is_ready
}

main "start|stop|status|wait" "${1:-}"
