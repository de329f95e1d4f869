#!/usr/bin/env bash
# The four services as background processes on 127.0.0.1, for `make up` and the demo.
#
# Usage: deploy/local/services.sh start|stop|status [service ...]   (default: all four)
#
# Each service runs `python -m services.<name>.app` from the project's virtualenv, logs to
# <local>/logs/<name>.log, and is ready when GET /health/ready answers 200 (its broker and its
# store answer). Starting a running service or stopping a stopped one is harmless.
# Each logs in to Kafka as its own principal, poles-<name>, with the password kafka.sh generated
# into <local>/secrets/kafka.env; the broker's ACLs let it write only its own topics.
# On the store, each logs in as its own user (calls, funding, ...), with the password
# ferretdb.sh generated into <local>/secrets/mongo.env; it has rights on poles_<name> only.
# A POLES_MONGO_URL without a login gives the store's address (its login is added); one with a
# login is used as it is.
#
# Environment: POLES_LOCAL_DIR (default <repo>/.local), SERVICES_PORT_BASE (default 8000); any
# POLES_* setting (POLES_KAFKA_BOOTSTRAP, POLES_MONGO_URL, ...) is passed through to the services.
# Without POLES_KAFKA_BOOTSTRAP, the services get every local broker's address
# (`deploy/local/kafka.sh bootstrap`: one, or the three of KAFKA_BROKERS=3).
# Without POLES_OTLP_ENDPOINT, they export their traces to the local trace viewer if it runs
# (`deploy/local/jaeger.sh endpoint`), else to nothing.
# The consumers join their groups as static members (POLES_KAFKA_STATIC_MEMBERSHIP, default true
# here: one process per service and instance), so a restarted service takes its partitions back
# at once instead of after the killed member's 10 s session and a rebalance.
set -euo pipefail

NAME=services
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
RUN="$LOCAL/run"
LOGS="$LOCAL/logs"
TIMEOUT="${SERVICES_START_TIMEOUT:-60}"

BASE="${SERVICES_PORT_BASE:-8000}"  # calls on BASE+1, funding +2, contracts +3, notify +4
declare -A PORTS=([calls]=$((BASE + 1)) [funding]=$((BASE + 2)) [contracts]=$((BASE + 3)) [notify]=$((BASE + 4)))
ALL=(calls funding contracts notify)

# The service's pid, if it runs (its command line names its module).
pid_of() { running_pid "$RUN/$1.pid" "services.$1.app"; }

ready() { curl -fs -o /dev/null "http://127.0.0.1:${PORTS[$1]}/health/ready"; }

start_one() {
  local name=$1
  if pid_of "$name" >/dev/null; then
    say "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  mkdir -p "$RUN" "$LOGS"
  # shellcheck disable=SC1091
  source "$LOCAL/secrets/auth.env"
  if [[ ! -f $LOCAL/secrets/kafka.env ]]; then
    say "no $LOCAL/secrets/kafka.env: start the broker first (deploy/local/kafka.sh start)"
    return 1
  fi
  # shellcheck disable=SC1091
  source "$LOCAL/secrets/kafka.env"
  local password="KAFKA_${name^^}_PASSWORD" bootstrap=${POLES_KAFKA_BOOTSTRAP:-}
  [[ -n $bootstrap ]] || bootstrap="$("$ROOT/deploy/local/kafka.sh" bootstrap)"
  local store
  store="$(store_url "$name")" || return 1
  POLES_MONGO_URL="$store" POLES_OTLP_ENDPOINT="$(otlp_endpoint)" \
    POLES_KAFKA_BOOTSTRAP="$bootstrap" POLES_AUTH_SECRET="$POLES_AUTH_SECRET" POLES_HTTP_PORT="${PORTS[$name]}" \
    POLES_KAFKA_USERNAME="poles-$name" POLES_KAFKA_PASSWORD="${!password}" \
    POLES_KAFKA_STATIC_MEMBERSHIP="${POLES_KAFKA_STATIC_MEMBERSHIP:-true}" \
    launch "$RUN/$name.pid" "$LOGS/$name.log" "$PYTHON" -m "services.$name.app"
}

# Where the services export their spans: POLES_OTLP_ENDPOINT if set (empty: tracing off), else
# the local trace viewer's OTLP/HTTP receiver when it runs (deploy/local/jaeger.sh), else none.
otlp_endpoint() {
  if [[ -v POLES_OTLP_ENDPOINT ]]; then
    echo "$POLES_OTLP_ENDPOINT"
  elif "$ROOT/deploy/local/jaeger.sh" status >/dev/null; then
    "$ROOT/deploy/local/jaeger.sh" endpoint
  fi
}

# The service's store URL: its own login on its own database (see the header).
store_url() {
  local name=$1 given=${POLES_MONGO_URL:-} address password
  if [[ $given == *@* ]]; then
    echo "$given"
    return 0
  fi
  if [[ ! -f $LOCAL/secrets/mongo.env ]]; then
    say "no $LOCAL/secrets/mongo.env: start the store first (deploy/local/ferretdb.sh start)" >&2
    return 1
  fi
  address=${given#mongodb://}
  address=${address%%[/?]*}
  # shellcheck disable=SC1091
  source "$LOCAL/secrets/mongo.env"
  password="MONGO_${name^^}_PASSWORD"
  echo "mongodb://$name:${!password}@${address:-127.0.0.1:${FERRETDB_PORT:-27017}}/poles_$name?authSource=poles_$name"
}

wait_one() {
  local name=$1
  WAIT_INTERVAL=0.3 wait_ready "$name" "$TIMEOUT" "$RUN/$name.pid" "services.$name.app" \
    "$LOGS/$name.log" ready "$name"
  say "$name ready on http://127.0.0.1:${PORTS[$name]}"
}

stop_one() { stop_process "$1" 10 "$RUN/$1.pid" "services.$1.app"; }

secret() {
  # The tokens' signing key: made once per machine, never in the repository. The file exports
  # it, so that `source .local/secrets/auth.env && .venv/bin/python -m shared.auth mint ...`
  # (printed by where.sh and the README) hands it to the minting process.
  local file=$LOCAL/secrets/auth.env
  if [[ ! -f $file ]]; then
    mkdir -p "$LOCAL/secrets"
    chmod 700 "$LOCAL/secrets"
    echo "export POLES_AUTH_SECRET=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))')" \
      >"$file"
    chmod 600 "$file"
  elif grep -q '^POLES_AUTH_SECRET=' "$file"; then
    # Written before the file exported its variable: same secret, now exported.
    sed -i 's/^POLES_AUTH_SECRET=/export POLES_AUTH_SECRET=/' "$file"
  fi
}

command=${1:-}
shift || true
if (($#)); then names=("$@"); else names=("${ALL[@]}"); fi
case $command in
  start)
    secret
    for name in "${names[@]}"; do start_one "$name"; done
    for name in "${names[@]}"; do wait_one "$name"; done
    ;;
  stop)
    for name in "${names[@]}"; do stop_one "$name"; done
    ;;
  status)
    status=0
    for name in "${names[@]}"; do
      if pid_of "$name" >/dev/null && ready "$name"; then say "$name ready"; else say "$name not ready"; status=1; fi
    done
    exit $status
    ;;
  *)
    echo "usage: $0 start|stop|status [service ...]" >&2
    exit 2
    ;;
esac
