#!/usr/bin/env bash
# Local Prometheus (Debian's `prometheus` package, installed by deploy/local/setup.sh) on
# 127.0.0.1, scraping the four services with deploy/prometheus/prometheus.local.yml and
# evaluating the alert rules of deploy/prometheus/rules/.
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

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CONFIG="$ROOT/deploy/prometheus/prometheus.local.yml"
LOCAL="${POLES_LOCAL_DIR:-$ROOT/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"

BIN="${PROMETHEUS_BIN:-prometheus}"
STATE="$LOCAL/prometheus"
DATA="$STATE/data"
PIDFILE="$STATE/prometheus.pid"
LOG="$LOCAL/logs/prometheus.log"
PORT="${PROMETHEUS_PORT:-9090}"
ADDR="127.0.0.1:$PORT"
TIMEOUT="${PROMETHEUS_TIMEOUT:-60}"

log() { echo "prometheus: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

log_tail() {
    if [[ -f "$LOG" ]]; then
        log "last lines of $LOG:"
        tail -n 30 "$LOG" >&2
    fi
}

# Prints the pid of our running server (from the pid file) and succeeds, or fails.
running_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against pid reuse after a crash: the process must be a server on our config.
    ps -o args= -p "$pid" 2>/dev/null | grep -qF -- "$CONFIG" || return 1
    echo "$pid"
}

is_ready() { curl -fsS -o /dev/null --max-time 2 "http://$ADDR/-/ready" 2>/dev/null; }

cmd_wait() {
    local deadline=$((SECONDS + TIMEOUT))
    until is_ready; do
        if [[ -f "$PIDFILE" ]] && ! running_pid >/dev/null; then
            log_tail
            die "Prometheus exited before becoming ready"
        fi
        if ((SECONDS >= deadline)); then
            log_tail
            die "Prometheus not ready on $ADDR after ${TIMEOUT}s"
        fi
        sleep 0.2
    done
}

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        log "already running (pid $pid) on http://$ADDR/"
        cmd_wait
        return 0
    fi
    if is_ready; then
        log "something already answers on http://$ADDR/ (not started by this script); leaving it alone"
        return 0
    fi
    command -v "$BIN" >/dev/null 2>&1 ||
        die "'$BIN' not found; \`make setup\` installs it (Debian package prometheus)"

    rm -f "$PIDFILE" # stale after a crash; the data directory is reused as is
    mkdir -p "$DATA" "$(dirname "$LOG")"
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start on $ADDR, config $CONFIG" >>"$LOG"

    local detach=()
    command -v setsid >/dev/null 2>&1 && detach=(setsid)
    # nohup and setsid exec the binary, so $! is the server's own pid.
    nohup ${detach[@]+"${detach[@]}"} "$BIN" \
        --config.file="$CONFIG" \
        --storage.tsdb.path="$DATA" \
        --storage.tsdb.retention.time=15d \
        --web.listen-address="$ADDR" \
        >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"

    cmd_wait
    log "ready on http://$ADDR/ (pid $(cat "$PIDFILE"), log $LOG)"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        log "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do # 20 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop after 20s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if is_ready; then
            echo "running (pid $pid) and ready on http://$ADDR/"
            return 0
        fi
        echo "running (pid $pid) but not ready on $ADDR"
        return 1
    fi
    if is_ready; then
        echo "not managed by this script, but something answers on http://$ADDR/"
        return 0
    fi
    echo "stopped"
    return 3
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
wait) cmd_wait ;;
*)
    echo "usage: $0 start|stop|status|wait" >&2
    exit 2
    ;;
esac
