#!/usr/bin/env bash
# Provisions the lab's "outside world" machine: a small web server on
# documentation-range addresses (203.0.113.10, 2001:db8:113::10) for the
# host's egress tests, and a probe client for published-port ingress tests.
# Runs on a Debian 12 VM (Vagrantfile) or, for tests, inside a network
# namespace with --prefix pointing at a temporary directory.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'USAGE'
usage: provision-world.sh [--dry-run] [--prefix DIR] [--host-ip IP] [--ports LIST] [--stop]
  --host-ip IP   the zonewall host's lab address; replies to it need no route
  --ports LIST   TCP ports the web server listens on [80,443,8080]
  --prefix DIR   root for every file written (tests) [/]
  --stop         stop the servers started without systemd
  --dry-run      print what would change
USAGE
}

PREFIX="" HOST_IP="" PORTS="80,443,8080" STOP=0
WORLD_V4=203.0.113.10 WORLD_V6=2001:db8:113::10
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift ;;
    --host-ip) HOST_IP=${2:?--host-ip needs a value}; shift ;;
    --ports) PORTS=${2:?--ports needs a value}; shift ;;
    --stop) STOP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
require_root

WWW=$PREFIX/srv/zw-world
RUN_DIR=$PREFIX/run/zw-world
PROBE=$PREFIX/usr/local/bin/zw-lab-probe

stop_servers() {
  local f
  for f in "$RUN_DIR"/httpd-*.pid; do
    [ -e "$f" ] || continue
    local pid
    pid=$(cat "$f")
    # Only a busybox httpd we started: never signal an unrelated process.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'httpd'; then
      run kill "$pid"
    fi
    run rm -f "$f"
  done
}

if [ "$STOP" = 1 ]; then
  stop_servers
  exit 0
fi

command -v busybox >/dev/null || apt_install busybox-static
command -v ip >/dev/null || apt_install iproute2

# The world's addresses live on the loopback interface: local to this
# machine whatever its lab network looks like (and no dummy module needed).
log "adding $WORLD_V4 and $WORLD_V6 to lo"
run ip link set lo up
run ip addr replace "$WORLD_V4/32" dev lo
run ip addr replace "$WORLD_V6/128" dev lo
if [ -n "$HOST_IP" ]; then
  log "the zonewall host ($HOST_IP) routes 203.0.113.0/24 and 2001:db8:113::/64 here"
  dev=$(lab_link_dev "$HOST_IP")
  [ -z "$dev" ] || run ip addr replace 2001:db8:56::20/64 dev "$dev" nodad
fi

run mkdir -p "$WWW" "$RUN_DIR" "$(dirname "$PROBE")"
run_sh "echo zonewall-lab-world >'$WWW/index.html'"

# The probe: exit 0 if a TCP connection to HOST:PORT opens within 3 s.
run_sh "cat >'$PROBE' <<'PROBE'
#!/bin/sh
# usage: zw-lab-probe HOST PORT  (exit 0: connected, 1: refused or timed out)
[ \$# -eq 2 ] || { echo 'usage: zw-lab-probe HOST PORT' >&2; exit 2; }
if echo | busybox nc -w 3 \"\$1\" \"\$2\" >/dev/null 2>&1; then echo \"open \$1:\$2\"; exit 0; fi
echo \"closed \$1:\$2\"; exit 1
PROBE
chmod 0755 '$PROBE'"

IFS=, read -r -a ports <<<"$PORTS"
if booted_with_systemd && [ -z "$PREFIX" ]; then
  for port in "${ports[@]}"; do
    unit=/etc/systemd/system/zw-world-httpd-$port.service
    run_sh "cat >'$unit' <<UNIT
[Unit]
Description=zonewall lab world web server on port $port
After=network.target
[Service]
ExecStart=/bin/busybox httpd -f -p $port -h $WWW
Restart=always
[Install]
WantedBy=multi-user.target
UNIT"
  done
  run systemctl daemon-reload
  for port in "${ports[@]}"; do run systemctl enable --now "zw-world-httpd-$port.service"; done
else
  stop_servers
  for port in "${ports[@]}"; do
    log "starting busybox httpd on port $port (no systemd)"
    if [ "$DRY_RUN" = 1 ]; then
      echo "+ busybox httpd -f -p $port -h $WWW &"
    else
      setsid busybox httpd -f -p "$port" -h "$WWW" </dev/null >/dev/null 2>&1 &
      echo $! >"$RUN_DIR/httpd-$port.pid"
    fi
  done
fi
log "world ready: http://$WORLD_V4/ and http://[$WORLD_V6]/ on ports $PORTS; probe: $PROBE HOST PORT"
