#!/usr/bin/env bash
# Local trace viewer: Jaeger v2 all-in-one (an OpenTelemetry Collector with OTLP receivers,
# in-memory trace storage and the Jaeger UI), built from its Go module with the real UI built in,
# run in the background on 127.0.0.1 with deploy/local/jaeger/config.yaml.
#
# Usage: deploy/local/jaeger.sh install|start|stop|status|wait|endpoint
#
#   install   build <repo>/.local/bin/jaeger once (cached; later calls return at once)
#   start     install, start in the background and wait until ready; harmless if it already runs
#   stop      SIGTERM, up to 20 s, then SIGKILL; harmless if nothing runs
#   status    "running ..." (exit 0) or "stopped" (exit 3)
#   wait      wait until the UI's API and the OTLP/HTTP port answer
#   endpoint  print the OTLP/HTTP endpoint the services export to (POLES_OTLP_ENDPOINT)
#
# The build: `go build` of github.com/jaegertracing/jaeger/cmd/jaeger (Go module proxy) embeds
# only a placeholder page, because Jaeger's release builds the UI (jaeger-ui) with npm first and
# that build is published on no registry. The crate otlp-embedded (crates.io, Apache-2.0) ships
# the unmodified production build of Jaeger UI 2.14.1; we fetch it with cargo, check its
# checksum, and put its files where Jaeger's own `make build-ui` puts them (gzipped, in
# cmd/query/app/ui/actual of a copy of the module) before building. See deploy/RUNBOOK.md.
#
# Environment:
#   POLES_LOCAL_DIR          state directory (default: <repo>/.local)
#   JAEGER_UI_PORT           UI and HTTP API (default: 16686)
#   JAEGER_OTLP_HTTP_PORT    OTLP/HTTP receiver (default: 4318)
#   JAEGER_OTLP_GRPC_PORT    OTLP/gRPC receiver (default: 4317)
#   JAEGER_QUERY_GRPC_PORT   query gRPC API (default: 16685)
#   JAEGER_HEALTH_PORT       health check, GET /status (default: 13133)
#   JAEGER_MAX_TRACES        traces kept in memory, oldest dropped first (default: 50000)
#   JAEGER_TIMEOUT           seconds to wait for readiness (default: 60)
#
# Files: <local>/jaeger/jaeger.pid, <local>/logs/jaeger.log (appended).
set -euo pipefail

NAME=jaeger
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
CONFIG="$ROOT/deploy/local/jaeger/config.yaml"

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.75.0 # Jaeger v2.12.0
UI_CRATE=otlp-embedded
UI_CRATE_VERSION=0.0.2 # its jaeger-ui/build is Jaeger UI 2.14.1
UI_CRATE_SHA256=89d4d073869615bdc3a377db062f33220ddb55787a8b5644c56ccc8bccc6a61e

# One binary serves every state directory (tests use their own POLES_LOCAL_DIR).
BIN="${JAEGER_BIN:-$ROOT/.local/bin/jaeger}"
STATE="$LOCAL/jaeger"
PIDFILE="$STATE/jaeger.pid"
LOG="$LOCAL/logs/jaeger.log"
export JAEGER_UI_PORT="${JAEGER_UI_PORT:-16686}"
export JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-4318}"
export JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-4317}"
export JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}"
export JAEGER_HEALTH_PORT="${JAEGER_HEALTH_PORT:-13133}"
export JAEGER_MAX_TRACES="${JAEGER_MAX_TRACES:-50000}"
UI="http://127.0.0.1:$JAEGER_UI_PORT"
TIMEOUT="${JAEGER_TIMEOUT:-60}"

is_ready() {
    curl -fsS -o /dev/null --max-time 2 "$UI/api/services" 2>/dev/null && port_open "$JAEGER_OTLP_HTTP_PORT"
}

# The Jaeger UI's production build, from the crate (downloaded by cargo into its cache).
ui_build() {
    local crate home="${CARGO_HOME:-$HOME/.cargo}" work=$1
    require cargo "install Rust's cargo: it fetches the Jaeger UI's build from crates.io"
    crate="$(find "$home/registry/cache" -name "$UI_CRATE-$UI_CRATE_VERSION.crate" -print -quit 2>/dev/null || true)"
    if [[ -z $crate ]]; then
        (cd "$work" && cargo info --quiet "$UI_CRATE@$UI_CRATE_VERSION" >/dev/null) \
            || die "cargo could not fetch $UI_CRATE $UI_CRATE_VERSION"
        crate="$(find "$home/registry/cache" -name "$UI_CRATE-$UI_CRATE_VERSION.crate" -print -quit)"
    fi
    [[ -f $crate ]] || die "$UI_CRATE-$UI_CRATE_VERSION.crate not in cargo's cache ($home/registry/cache)"
    echo "$UI_CRATE_SHA256  $crate" | sha256sum --check --quiet - || die "$crate: unexpected checksum"
    tar -xzf "$crate" -C "$work" "$UI_CRATE-$UI_CRATE_VERSION/jaeger-ui/build"
    echo "$work/$UI_CRATE-$UI_CRATE_VERSION/jaeger-ui/build"
}

cmd_install() {
    # Up to date when built from this script (the versions and checksum above) or newer.
    if [[ -x "$BIN" && ! "$BASH_SOURCE" -nt "$BIN" ]]; then
        return 0
    fi
    require go "install Go >= 1.24 (https://go.dev/dl/) to build Jaeger"
    mkdir -p "$(dirname "$BIN")"
    say "building $BIN (first build downloads modules and takes several minutes)..."
    local work="$ROOT/.local/build/jaeger.$$" dir ui actual
    rm -rf "$work" && mkdir -p "$work"
    dir="$(cd "$work" && go mod download -json "$JAEGER_MODULE@$JAEGER_VERSION" \
        | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir" ]] || die "could not download the Jaeger module"
    cp -R "$dir" "$work/jaeger" && chmod -R u+w "$work/jaeger"
    ui="$(ui_build "$work")"
    # As Jaeger's `make build-ui`: the UI's files, each gzipped, in the embedded directory.
    actual="$work/jaeger/cmd/query/app/ui/actual"
    cp -R "$ui/." "$actual/"
    find "$actual" -type f ! -name .gitignore -exec gzip --no-name {} +
    (
        cd "$work/jaeger"
        CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$BIN.tmp" ./cmd/jaeger
    ) || die "go build failed"
    rm -rf "$work"
    mv -f "$BIN.tmp" "$BIN"
    say "built $BIN"
}

cmd_wait() {
    wait_ready "Jaeger on $UI" "$TIMEOUT" "$PIDFILE" "$CONFIG" "$LOG" is_ready
}

cmd_start() {
    cmd_install
    if up_already "$UI/" "$PIDFILE" "$CONFIG" is_ready; then
        cmd_wait
        return 0
    fi
    mkdir -p "$STATE" "$(dirname "$LOG")"
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start: UI $UI, OTLP/HTTP $(cmd_endpoint)" >>"$LOG"
    launch "$PIDFILE" "$LOG" "$BIN" --config "$CONFIG"
    cmd_wait
    say "ready: UI $UI/ , OTLP/HTTP $(cmd_endpoint) (pid $(cat "$PIDFILE"), log $LOG)"
}

cmd_stop() {
    stop_process Jaeger 20 "$PIDFILE" "$CONFIG"
}

cmd_status() {
    server_status "$UI/" "$PIDFILE" "$CONFIG" is_ready
}

cmd_endpoint() {
    echo "http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT"
}

main "install|start|stop|status|wait|endpoint" "${1:-}"
