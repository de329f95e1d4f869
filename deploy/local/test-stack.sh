#!/usr/bin/env bash
# Runs a command with the test broker (127.0.0.1:19092) and test store (127.0.0.1:27027) up,
# apart from the platform of `make up` (9092, 27017), and stops afterwards what it started.
# A stack it starts itself begins with empty data, so every `make test` starts clean.
#
# Usage: deploy/local/test-stack.sh <command> [args ...]
set -euo pipefail

NAME=test-stack
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
export POLES_LOCAL_DIR="$ROOT/.local/test"
export KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 FERRETDB_PORT=27027
export POLES_TEST_KAFKA="127.0.0.1:$KAFKA_PORT" POLES_TEST_MONGO="mongodb://127.0.0.1:$FERRETDB_PORT"
# The test broker is secured too: tests log in as its admin, whose password kafka.sh keeps in
# $POLES_LOCAL_DIR/secrets/kafka.env (tests/support/infra.py reads it from there).
export POLES_TEST_LOCAL_DIR="$POLES_LOCAL_DIR"

started=()
stop_started() {
  for server in "${started[@]}"; do "$ROOT/deploy/local/$server.sh" stop || true; done
}
trap stop_started EXIT

for server in kafka ferretdb; do
  if ! "$ROOT/deploy/local/$server.sh" status >/dev/null 2>&1; then
    rm -rf "${POLES_LOCAL_DIR:?}/$server"
    "$ROOT/deploy/local/$server.sh" start
    started+=("$server")
  fi
done

"$@"
