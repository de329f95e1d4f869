#!/usr/bin/env bash
# Everything the project needs on a fresh machine, installed once and quickly skipped after:
# - checks the toolchains it cannot install itself (Python 3.11+, Java 17+ with Maven, Go);
# - Debian packages: kcat (tests read topics with a client written by others), prometheus
#   (promtool for the alert rules; the server for `make up`);
# - the project's virtualenv (.venv) with its pinned dependencies;
# - the Kafka jars (Maven Central) and the FerretDB binary (Go module proxy).
set -euo pipefail

NAME=setup
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require python3 "Python 3.11+ is required"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ is required"
require java "Java 17+ is required: apt-get install openjdk-17-jdk-headless"
require mvn "Maven is required: apt-get install maven"
require go "Go 1.22+ is required: https://go.dev/dl"

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v promtool >/dev/null || missing+=(prometheus)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

stamp=.venv/.installed
if [[ ! -x .venv/bin/python || ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  say "installing the Python dependencies into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  touch "$stamp"
fi

deploy/local/kafka.sh install
deploy/local/ferretdb.sh install
