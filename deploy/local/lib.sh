# shellcheck shell=bash
# Sourced (never run) by the scripts of deploy/local: where the project and its runtime
# directory are, how a script speaks, and how it runs one background server from a pid file.
# The sourcing script sets NAME first: the word its messages begin with.
#
# Environment: POLES_LOCAL_DIR (runtime directory, default <repo>/.local), POLES_PYTHON (the
# project's Python, default <repo>/.venv/bin/python).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="${POLES_LOCAL_DIR:-$ROOT/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"
PYTHON="${POLES_PYTHON:-$ROOT/.venv/bin/python}"

say() { echo "$NAME: $*"; }
die() { echo "$NAME: error: $*" >&2; exit 1; }

# require COMMAND HINT: dies unless COMMAND is on PATH.
require() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

# log_tail FILE [LINES]: the end of a server's log, on stderr.
log_tail() {
  echo "---- last lines of $1 ----" >&2
  if [[ -f $1 ]]; then tail -n "${2:-30}" "$1" >&2; else echo "(no log)" >&2; fi
  echo "----" >&2
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# running_pid PIDFILE [MATCH]: prints the pid of PIDFILE and succeeds if that process is alive
# and its command line contains MATCH (a guard against a pid reused after a crash).
running_pid() {
  local pid
  [[ -f $1 ]] || return 1
  pid="$(tr -dc '0-9' <"$1" 2>/dev/null || true)"
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -n ${2:-} ]]; then
    if [[ -r /proc/$pid/cmdline ]]; then
      tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
    else
      ps -o args= -p "$pid" 2>/dev/null | grep -qF -- "$2" || return 1
    fi
  fi
  echo "$pid"
}

# launch PIDFILE LOG COMMAND...: COMMAND in the background, in its own session so that it
# outlives this script, its output appended to LOG; returns once PIDFILE holds its pid.
launch() {
  local pidfile=$1 log=$2 n=0 detach=()
  shift 2
  rm -f "$pidfile"
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")"
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  # The inner bash writes its own pid and execs COMMAND (same pid), even where setsid forks.
  # shellcheck disable=SC2016
  nohup ${detach[@]+"${detach[@]}"} bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$log" 2>&1 &
  while [[ ! -s $pidfile ]] && ((n < 50)); do
    sleep 0.1
    n=$((n + 1))
  done
  [[ -s $pidfile ]] || die "$* did not start (no pid in $pidfile)"
}

# wait_ready WHAT SECONDS PIDFILE MATCH LOG CHECK...: until CHECK succeeds, every WAIT_INTERVAL
# seconds (default 0.2); dies with LOG's end when the process of PIDFILE exits or after SECONDS.
wait_ready() {
  local what=$1 seconds=$2 pidfile=$3 match=$4 log=$5
  shift 5
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [[ -f $pidfile ]] && ! running_pid "$pidfile" "$match" >/dev/null; then
      log_tail "$log"
      die "$what exited before becoming ready"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$log"
      die "$what not ready after ${seconds}s"
    fi
    sleep "${WAIT_INTERVAL:-0.2}"
  done
}

# stop_process WHAT SECONDS PIDFILE MATCH: SIGTERM to the process of PIDFILE if it is ours,
# SIGKILL after SECONDS; removes PIDFILE. Harmless when nothing runs.
stop_process() {
  local what=$1 seconds=$2 pidfile=$3 match=$4 pid deadline
  if ! pid="$(running_pid "$pidfile" "$match")"; then
    rm -f "$pidfile"
    say "$what not running"
    return 0
  fi
  say "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "$what still running after ${seconds}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "$what stopped"
}

# up_already WHERE PIDFILE MATCH CHECK...: succeeds, saying so, when our server runs or when
# something not ours answers CHECK (left alone); either way the caller then waits until ready.
up_already() {
  local where=$1 pidfile=$2 match=$3 pid
  shift 3
  if pid="$(running_pid "$pidfile" "$match")"; then
    say "already running (pid $pid) on $where"
  elif "$@"; then
    say "something already answers on $where (not started by this script); leaving it alone"
  else
    return 1
  fi
}

# server_status WHERE PIDFILE MATCH CHECK...: says whether the server runs and answers CHECK;
# exit 0 when something answers (ours or not), 1 when ours runs but does not answer, 3 when
# nothing runs.
server_status() {
  local where=$1 pidfile=$2 match=$3 pid
  shift 3
  if pid="$(running_pid "$pidfile" "$match")"; then
    if "$@"; then
      echo "running (pid $pid) and ready on $where"
      return 0
    fi
    echo "running (pid $pid) but not ready on $where"
    return 1
  fi
  if "$@"; then
    echo "not managed by this script, but something answers on $where"
    return 0
  fi
  echo "stopped"
  return 3
}

# main "A|B|..." COMMAND: runs the script's cmd_COMMAND when COMMAND is one of A, B, ...; else
# prints the usage and exits 2.
main() {
  local commands=$1 command=${2:-}
  if [[ -n $command && "|$commands|" == *"|$command|"* ]]; then
    "cmd_$command"
  else
    echo "usage: $0 {$commands}" >&2
    exit 2
  fi
}
