# Sourced by test/run-all and test/bench/run: start dockerd when none runs,
# and stop at exit only the dockerd this run started (by PID, never by name).
# Usage: ensure_dockerd; ...; stop_started_dockerd (from an EXIT trap).

started_dockerd=""

ensure_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  echo "== starting dockerd"
  dockerd >/var/log/zwtest-dockerd.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -30 /var/log/zwtest-dockerd.log; return 1; }
}

stop_started_dockerd() {
  [ -n "$started_dockerd" ] || return 0
  # The e2e suite restarts dockerd once; stop whichever dockerd now runs, by PID.
  local pids="$started_dockerd" cur p
  cur=$(cat /var/run/docker.pid 2>/dev/null || true)
  [ -n "$cur" ] && [ "$cur" != "$started_dockerd" ] && pids="$pids $cur"
  echo "== stopping the dockerd this run started (pid $pids)"
  for p in $pids; do
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 1; done
  done
  started_dockerd=""
}
