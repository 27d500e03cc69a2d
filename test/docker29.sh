#!/usr/bin/env bash
# Docker 29 for the tests, beside Debian's Docker 20.10: built once into a
# cache directory, started with a chosen firewall backend on a data root of
# its own and the standard socket (so docker, docker-compose and the tests
# work unchanged), stopped by PID.
#
#   test/docker29.sh build                     build runc, dockerd, docker-proxy (reused when present)
#   test/docker29.sh start iptables|nftables   start it (no other dockerd may run) and import the test image
#   test/docker29.sh stop                      stop the Docker 29 that runs (by the PID in its pidfile)
#   test/docker29.sh clean-firewall            remove the firewall rules Docker left behind (no dockerd may run)
#
# Run as root, inside `flock /tmp/zwtest-docker.lock` on a shared machine.
# Sourced (test/dockerd.sh does), it only defines the d29_* functions.

D29_CACHE=${ZW_DOCKER29_CACHE:-/var/cache/zwtest-docker29}
D29_BIN=$D29_CACHE/bin
D29_DATA=${ZW_DOCKER29_DATA:-/var/lib/zwtest-docker29}
D29_LOG=/var/log/zwtest-docker29.log
D29_MOBY=github.com/moby/moby/v2
D29_MOBY_VERSION=v2.0.0-beta.24 # Docker Engine 29 (API 1.52)
D29_RUNC_VERSION=v1.4.4
DOCKERD_PIDFILE=/var/run/docker.pid

# d29_built: the cache holds the three binaries at the wanted versions.
d29_built() {
  local b
  for b in runc dockerd docker-proxy; do [ -x "$D29_BIN/$b" ] || return 1; done
  go version -m "$D29_BIN/dockerd" 2>/dev/null | grep -q "mod[[:space:]]*$D29_MOBY[[:space:]]*$D29_MOBY_VERSION" &&
    go version -m "$D29_BIN/runc" 2>/dev/null | grep -q "mod[[:space:]].*runc[[:space:]]*$D29_RUNC_VERSION"
}

# d29_build builds into the cache unless it is complete (about 6 minutes the
# first time; Go's build cache makes a rebuild take seconds). runc needs cgo;
# it is built without the seccomp tag, hence --seccomp-profile unconfined.
d29_build() {
  mkdir -p "$D29_BIN"
  (
    # One build at a time into the shared cache.
    flock 8
    d29_built && exit 0
    if ! command -v gcc >/dev/null || ! dpkg -s libc6-dev >/dev/null 2>&1; then
      echo "== installing gcc, libc6-dev (runc is built with cgo)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
    fi
    echo "== building Docker 29 ($D29_MOBY $D29_MOBY_VERSION, runc $D29_RUNC_VERSION) into $D29_BIN"
    local start=$SECONDS
    CGO_ENABLED=1 GOBIN=$D29_BIN go install "github.com/opencontainers/runc@$D29_RUNC_VERSION" &&
      CGO_ENABLED=0 GOBIN=$D29_BIN go install "$D29_MOBY/cmd/dockerd@$D29_MOBY_VERSION" "$D29_MOBY/cmd/docker-proxy@$D29_MOBY_VERSION" ||
      { echo "Docker 29 build failed" >&2; exit 1; }
    d29_built || { echo "Docker 29 build: $D29_BIN is incomplete" >&2; exit 1; }
    echo "== Docker 29 built in $((SECONDS - start)) s"
  ) 8>"$D29_CACHE/.build.lock"
}

# d29_flags BACKEND prints dockerd's arguments, one a line. docker-proxy is
# named explicitly (and is on PATH), so that a restart from /proc/PID/cmdline
# alone finds it.
d29_flags() {
  printf '%s\n' --data-root "$D29_DATA" --firewall-backend "$1" \
    --add-runtime "runc14=$D29_BIN/runc" --default-runtime runc14 --seccomp-profile unconfined \
    --userland-proxy-path "$D29_BIN/docker-proxy" --pidfile "$DOCKERD_PIDFILE"
}

# dockerd_running_pid prints the PID of the dockerd that runs, if any.
dockerd_running_pid() {
  local pid
  pid=$(cat "$DOCKERD_PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q dockerd "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

# d29_clean_firewall makes the host look fresh to a dockerd that starts next:
# it removes what an earlier dockerd left in the kernel's firewall, and only
# that: iptables rules that jump to Docker's chains or name Docker's bridges
# (docker0, br-<12 hex>), Docker's chains (DOCKER*), a table left empty by
# that, and Docker 29's nftables tables (ip/ip6 docker-bridges). Other rules,
# and zonewall's tables, stay. No dockerd may run.
d29_clean_firewall() {
  if dockerd_running_pid >/dev/null; then
    echo "d29_clean_firewall: a dockerd runs (pid $(dockerd_running_pid)); stop it first" >&2
    return 1
  fi
  local ipt family table
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    family=ip
    [ "$ipt" = ip6tables ] && family=ip6
    for table in filter nat raw mangle; do
      d29_clean_iptables_table "$ipt" "$family" "$table" || return 1
    done
  done
  for family in ip ip6; do
    nft delete table "$family" docker-bridges 2>/dev/null || true
  done
}

# d29_clean_iptables_table IPTABLES FAMILY TABLE (see d29_clean_firewall).
d29_clean_iptables_table() {
  local ipt=$1 family=$2 table=$3 saved line chain rule
  saved=$("$ipt-save" -t "$table" 2>/dev/null) || return 0
  [ -n "$saved" ] || return 0
  local docker_if='(^| )(-i|-o) (docker0|br-[0-9a-f]{12})( |$)'
  # Rules in the built-in chains that lead to Docker or name its bridges.
  while IFS= read -r line; do
    chain=${line#-A }
    chain=${chain%% *}
    case "$chain" in DOCKER*) continue ;; esac
    rule=${line#-A "$chain" }
    if [[ "$rule" =~ -j\ DOCKER || "$rule" =~ $docker_if ]]; then
      # iptables-save quotes as a shell would; the words go back unchanged.
      eval "set -- $rule"
      "$ipt" -w -t "$table" -D "$chain" "$@" || return 1
    fi
  done < <(grep '^-A ' <<<"$saved")
  # Docker's own chains: flush them all first (they jump to each other).
  local chains
  chains=$(sed -n 's/^:\(DOCKER[^ ]*\) .*/\1/p' <<<"$saved")
  for chain in $chains; do "$ipt" -w -t "$table" -F "$chain" || return 1; done
  for chain in $chains; do "$ipt" -w -t "$table" -X "$chain" || return 1; done
  # A table with nothing left in it is a table Docker made: a fresh host has
  # none (and Docker's FORWARD policy drop goes with it).
  saved=$("$ipt-save" -t "$table")
  if ! grep -q '^-A ' <<<"$saved" && ! grep -qE '^:[^ ]+ - ' <<<"$saved"; then
    if "$ipt" -V 2>/dev/null | grep -q nf_tables; then
      nft delete table "$family" "$table" 2>/dev/null || true
    else
      for chain in $(sed -n 's/^:\([^ ]*\) [A-Z]* .*/\1/p' <<<"$saved"); do
        "$ipt" -w -t "$table" -P "$chain" ACCEPT 2>/dev/null || true
      done
    fi
  elif [ "$table" = filter ] && grep -q '^:FORWARD DROP' <<<"$saved"; then
    echo "d29_clean_firewall: $ipt filter FORWARD policy is DROP and holds rules not Docker's; left as is" >&2
  fi
}

# d29_start BACKEND starts Docker 29 with that firewall backend in its own
# session (it outlives the caller's shell) and waits until it answers.
# Prints nothing but progress; the PID is in $DOCKERD_PIDFILE.
d29_start() {
  local backend=$1
  case "$backend" in
    iptables | nftables) ;;
    *) echo "d29_start: backend must be iptables or nftables, not '$backend'" >&2; return 2 ;;
  esac
  if dockerd_running_pid >/dev/null; then
    echo "d29_start: a dockerd runs already (pid $(dockerd_running_pid))" >&2
    return 1
  fi
  d29_built || d29_build || return 1
  if [ "$backend" = nftables ]; then
    # A fresh host: no iptables rules of an earlier Docker.
    d29_clean_firewall || return 1
    # With this backend Docker does not enable forwarding itself (it could
    # not add the FORWARD drop policy that goes with it): bridge networks
    # fail with "IPv4 forwarding is disabled". Operators set it; so do we.
    sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
  else
    for family in ip ip6; do nft delete table "$family" docker-bridges 2>/dev/null || true; done
  fi
  mkdir -p "$D29_DATA"
  local flags
  mapfile -t flags < <(d29_flags "$backend")
  echo "== starting Docker 29 ($backend backend, data root $D29_DATA, log $D29_LOG)"
  # Not holding the caller's descriptors (such as a lock on fd 9).
  # docker-compose 1.29 speaks API 1.38; Docker 29 refuses below 1.40 unless told.
  PATH=$D29_BIN:$PATH DOCKER_MIN_API_VERSION=1.38 setsid "$D29_BIN/dockerd" "${flags[@]}" </dev/null >>"$D29_LOG" 2>&1 9>&- &
  local pid=$!
  dockerd_wait_ready "$pid" "$D29_LOG"
}

# dockerd_wait_ready PID LOG waits up to 60 s until the daemon answers.
dockerd_wait_ready() {
  local pid=$1 log=$2
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "dockerd (pid $pid) did not become ready; last lines of $log:" >&2
  tail -30 "$log" >&2
  return 1
}

# dockerd_stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL.
dockerd_stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "dockerd $pid did not stop within 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# d29_stop stops the Docker 29 that runs (and no other dockerd).
d29_stop() {
  local pid
  pid=$(dockerd_running_pid) || return 0
  if [ "$(readlink -f "/proc/$pid/exe")" != "$(readlink -f "$D29_BIN/dockerd")" ]; then
    echo "d29_stop: the dockerd that runs (pid $pid) is not Docker 29; left running" >&2
    return 1
  fi
  echo "== stopping Docker 29 (pid $pid)"
  dockerd_stop_pid "$pid"
}

# import_test_image imports zwtest/busybox:1 (the e2e suite's image) from the
# host's static busybox into the data root of the dockerd that runs.
import_test_image() {
  docker image inspect zwtest/busybox:1 >/dev/null 2>&1 && return 0
  local dir
  dir=$(mktemp -d /tmp/zwtest-d29-img.XXXXXX)
  mkdir -p "$dir/bin"
  cp /bin/busybox "$dir/bin/"
  for a in sh nc ping wget ip sleep httpd cat true; do ln -s busybox "$dir/bin/$a"; done
  tar -C "$dir" -c . | docker import - zwtest/busybox:1 >/dev/null
  local rc=$?
  rm -rf "$dir"
  return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  export PATH=/usr/local/go/bin:$PATH
  [ "$(id -u)" = 0 ] || { echo "test/docker29.sh: run as root" >&2; exit 1; }
  case "${1:-}" in
    build) d29_build ;;
    start) d29_start "${2:-}" && import_test_image ;;
    stop) d29_stop ;;
    clean-firewall) d29_clean_firewall ;;
    *) sed -n '7,11p' "$0" >&2; exit 2 ;;
  esac
fi
