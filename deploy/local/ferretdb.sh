#!/usr/bin/env bash
# Local MongoDB-wire document store: FerretDB 1.24 (embedded, SQLite backend),
# built from deploy/local/ferretdb (our launcher, and patches to FerretDB: see *.patch) and run
# in the background.
#
# Usage: deploy/local/ferretdb.sh install|start|stop|status|wait
#
# Logins (as compose's MongoDB): root (database admin) may do all; each service has its own
# user, calls, funding, contracts, notify, with rights on its own database poles_<service> only
# (FerretDB authenticates, our proxy authorizes: ferretdb/logins.go). Their passwords are in
# <local>/secrets/mongo.env (mode 600, made on first start, never committed):
#   MONGO_ROOT_PASSWORD, MONGO_CALLS_PASSWORD, ... ; a service's URL (services.sh makes it):
#   mongodb://calls:$MONGO_CALLS_PASSWORD@127.0.0.1:27017/poles_calls?authSource=poles_calls
# Anonymous connections may only connect, ping and log in.
#
# Environment:
#   POLES_LOCAL_DIR      state directory (default: <repo>/.local)
#   FERRETDB_PORT        TCP port on 127.0.0.1 (default: 27017)
#   FERRETDB_LOG_LEVEL   debug|info|warn|error (default: info)
#   FERRETDB_TIMEOUT     seconds to wait for readiness (default: 60)
set -euo pipefail

NAME=ferretdb
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
SRC="$ROOT/deploy/local/ferretdb"

# One binary serves every data directory (tests use their own POLES_LOCAL_DIR).
BIN="${FERRETDB_BIN:-$ROOT/.local/bin/ferretdb}"
STATE="$LOCAL/ferretdb"
DATA="$STATE/data"
PIDFILE="$STATE/ferretdb.pid"
LOG="$LOCAL/logs/ferretdb.log"
PORT="${FERRETDB_PORT:-27017}"
ADDR="127.0.0.1:$PORT"
LOG_LEVEL="${FERRETDB_LOG_LEVEL:-info}"
TIMEOUT="${FERRETDB_TIMEOUT:-60}"
SECRETS_DIR="$LOCAL/secrets"
SECRETS_FILE="$SECRETS_DIR/mongo.env"
SERVICES=(calls funding contracts notify)

# Succeeds if something on $ADDR answers a MongoDB ping.
answers_ping() {
    if [[ -x "$BIN" ]]; then
        "$BIN" -listen "$ADDR" -ping -timeout 2s 2>/dev/null
    else
        port_open "$PORT"
    fi
}

# FerretDB's own module with our patches (deploy/local/ferretdb/*.patch) applied: a copy of the
# module from Go's cache, patched, and a copy of go.mod that replaces the module with it.
patched_module() {
    local work="$1" dir patch
    dir="$(cd "$SRC" && go mod download -json github.com/FerretDB/FerretDB | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir" ]] || die "could not download the FerretDB module"
    rm -rf "$work" && mkdir -p "$work"
    cp -R "$dir" "$work/FerretDB" && chmod -R u+w "$work/FerretDB"
    for patch in "$SRC"/*.patch; do
        patch --quiet --forward -p1 -d "$work/FerretDB" <"$patch" || die "$(basename "$patch") does not apply"
    done
    cp "$SRC/go.mod" "$work/go.mod" && cp "$SRC/go.sum" "$work/go.sum"
    (cd "$SRC" && go mod edit -modfile="$work/go.mod" -replace "github.com/FerretDB/FerretDB=$work/FerretDB")
}

cmd_install() {
    # Up to date when no source of the launcher (*.go, go.mod, go.sum, *.patch) is newer than it.
    if [[ -x "$BIN" && -z "$(find "$SRC" -newer "$BIN" \( -name '*.go' -o -name 'go.*' -o -name '*.patch' \) -print -quit)" ]]; then
        return 0
    fi
    require go "install Go >= 1.24 (https://go.dev/dl/) to build FerretDB"
    require patch "apt-get install patch"
    mkdir -p "$(dirname "$BIN")"
    say "building $BIN (first build downloads modules and takes a few minutes)..."
    local work="$ROOT/.local/build/ferretdb.$$"
    patched_module "$work"
    (
        cd "$SRC"
        CGO_ENABLED=0 go build -modfile="$work/go.mod" -trimpath -buildvcs=false \
            -tags ferretdb_no_postgresql,poles_patched -o "$BIN.tmp" .
    ) || die "go build failed"
    rm -rf "$work"
    mv -f "$BIN.tmp" "$BIN"
    say "built $BIN"
}

# Give root and every service a password (kept across restarts), then load them (exported:
# the server reads root's, -ensure-logins every one).
prepare_secrets() {
    local name var
    mkdir -p "$SECRETS_DIR"
    chmod 700 "$SECRETS_DIR"
    (umask 077 && touch "$SECRETS_FILE")
    for name in root "${SERVICES[@]}"; do
        var="MONGO_${name^^}_PASSWORD"
        grep -q "^$var=" "$SECRETS_FILE" && continue
        echo "$var=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>"$SECRETS_FILE"
    done
    set -a
    # shellcheck disable=SC1090
    source "$SECRETS_FILE"
    set +a
}

# Each service's user in its own database, with the file's password (created or updated).
ensure_logins() {
    local name logins=()
    for name in "${SERVICES[@]}"; do logins+=("$name@poles_$name"); done
    "$BIN" -listen "$ADDR" -ensure-logins "$(IFS=,; echo "${logins[*]}")" -timeout 20s \
        || die "could not set the services' logins (root's password in $SECRETS_FILE does not open \
this store's data: remove $DATA to start empty)"
}

cmd_wait() {
    wait_ready "FerretDB on $ADDR" "$TIMEOUT" "$PIDFILE" "$BIN" "$LOG" answers_ping
}

cmd_start() {
    cmd_install
    if up_already "mongodb://$ADDR/" "$PIDFILE" "$BIN" answers_ping; then
        cmd_wait
        return 0
    fi

    mkdir -p "$DATA" "$(dirname "$LOG")"
    prepare_secrets
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start on $ADDR, data $DATA" >>"$LOG"
    launch "$PIDFILE" "$LOG" "$BIN" -listen "$ADDR" -data "$DATA" -log-level "$LOG_LEVEL" -logins
    cmd_wait
    ensure_logins
    say "ready on mongodb://$ADDR/ with logins (pid $(cat "$PIDFILE"), log $LOG, passwords $SECRETS_FILE)"
}

cmd_stop() {
    stop_process FerretDB 20 "$PIDFILE" "$BIN"
}

cmd_status() {
    server_status "mongodb://$ADDR/" "$PIDFILE" "$BIN" answers_ping
}

main "install|start|stop|status|wait" "${1:-}"
