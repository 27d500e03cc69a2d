# Sourced by test/run-all, test/e2e-docker and test/bench/run: start dockerd
# when none runs, and stop at exit only the dockerd this run started (by PID,
# never by name). Three set-ups ("kinds") can be started, one at a time:
#   20.10        Debian's Docker (dockerd on PATH)
#   29-iptables  Docker 29 with the iptables firewall backend (test/docker29.sh)
#   29-nftables  Docker 29 with the nftables firewall backend, on a fresh host
# Usage: ensure_dockerd [KIND]; ...; stop_started_dockerd (from an EXIT trap).

. "$(dirname "${BASH_SOURCE[0]}")/docker29.sh"

started_dockerd=""
DOCKERD_LOG=/var/log/zwtest-dockerd.log
DOCKERD_KINDS="20.10 29-iptables 29-nftables"

# ensure_dockerd [KIND]: a dockerd answers (of that kind, when named); one is
# started when none runs. Another kind running is an error: see test/e2e-docker.
ensure_dockerd() {
  local pid kind
  if pid=$(dockerd_running_pid) && docker info >/dev/null 2>&1; then
    kind=$(dockerd_kind "$pid")
    [ -z "${1:-}" ] || [ "$kind" = "$1" ] && return 0
    echo "ensure_dockerd: dockerd $pid is $kind, not $1" >&2
    return 1
  fi
  docker info >/dev/null 2>&1 && return 0
  start_dockerd "${1:-20.10}"
}

# start_dockerd KIND starts that dockerd (none may run), in its own session,
# waits until it answers and imports the test image into its data root.
start_dockerd() {
  case "$1" in
    20.10)
      # A fresh host for Debian's Docker: no nftables tables of a Docker 29.
      for family in ip ip6; do nft delete table "$family" docker-bridges 2>/dev/null || true; done
      echo "== starting Debian's dockerd ($(dockerd --version 2>/dev/null | sed 's/,.*//'), log $DOCKERD_LOG)"
      setsid dockerd </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
      dockerd_wait_ready $! "$DOCKERD_LOG" || return 1
      ;;
    29-iptables | 29-nftables) d29_start "${1#29-}" || return 1 ;;
    *) echo "start_dockerd: unknown kind '$1' (one of: $DOCKERD_KINDS)" >&2; return 2 ;;
  esac
  started_dockerd=$(dockerd_running_pid) || { echo "start_dockerd: no dockerd pid in $DOCKERD_PIDFILE" >&2; return 1; }
  import_test_image
}

# dockerd_kind PID prints the kind of a running dockerd, or "other".
dockerd_kind() {
  local exe
  exe=$(readlink "/proc/$1/exe") || { echo other; return; }
  if [ "$exe" = "$(readlink -f "$D29_BIN/dockerd")" ]; then
    # --firewall-backend X or --firewall-backend=X; iptables by default.
    tr '\0' '\n' <"/proc/$1/cmdline" | awk '
      f { b = $0; f = 0 } /^--firewall-backend$/ { f = 1 } /^--firewall-backend=/ { b = substr($0, 20) }
      END { print "29-" (b == "" ? "iptables" : b) }'
  elif [ "$exe" = "$(readlink -f "$(command -v dockerd)")" ]; then
    echo 20.10
  else
    echo other
  fi
}

stop_started_dockerd() {
  [ -n "$started_dockerd" ] || return 0
  # The e2e suite restarts dockerd once; stop whichever dockerd now runs, by PID.
  local pids="" cur p
  cur=$(dockerd_running_pid || true)
  # The one we started, unless it is gone (its PID may be another's now).
  grep -qx dockerd "/proc/$started_dockerd/comm" 2>/dev/null && pids=$started_dockerd
  [ -n "$cur" ] && [ "$cur" != "$started_dockerd" ] && pids="$pids $cur"
  started_dockerd=""
  [ -n "${pids// /}" ] || return 0
  echo "== stopping the dockerd this run started (pid ${pids# })"
  for p in $pids; do dockerd_stop_pid "$p"; done
}

# dockerd_save PID DIR keeps what restarts that dockerd as it was: binary,
# command line, environment, working directory and log file.
dockerd_save() {
  local pid=$1 dir=$2
  readlink "/proc/$pid/exe" >"$dir/exe" &&
    cp "/proc/$pid/cmdline" "$dir/cmdline" && cp "/proc/$pid/environ" "$dir/environ" &&
    { readlink "/proc/$pid/cwd" || echo /; } >"$dir/cwd" &&
    { readlink "/proc/$pid/fd/2" | grep '^/' || echo /dev/null; } >"$dir/log"
}

# dockerd_restore DIR starts a dockerd saved by dockerd_save again.
dockerd_restore() {
  local dir=$1 exe cwd log args env
  exe=$(cat "$dir/exe") cwd=$(cat "$dir/cwd") log=$(cat "$dir/log")
  [ -f "$log" ] || [ "$log" = /dev/null ] || log=/dev/null
  mapfile -d '' -t args <"$dir/cmdline"
  mapfile -d '' -t env <"$dir/environ"
  echo "== restarting the dockerd found at the start: $exe ${args[*]:1}"
  (cd "$cwd" && env -i "${env[@]}" setsid "$exe" "${args[@]:1}" </dev/null >>"$log" 2>&1 9>&- &)
  for _ in $(seq 1 120); do
    dockerd_running_pid >/dev/null && docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd_restore: $exe did not answer within 60 s" >&2
  return 1
}
