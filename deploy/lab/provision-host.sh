#!/usr/bin/env bash
# Provisions the lab's zonewall host on Debian 12: Docker, busybox, nftables,
# Go, the test image, zonewall itself (deploy/install.sh --example), and a
# route to the lab's "world" machine for egress tests. The Vagrantfile runs
# it; it also runs directly on any Debian 12 machine. Re-running is safe.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'USAGE'
usage: provision-host.sh [--dry-run] [--src DIR] [--world-ip IP] [--binary FILE] [--no-zonewall]
  --src DIR       the zonewall checkout [the one this script is in]
  --world-ip IP   the world machine: 203.0.113.0/24 and 2001:db8:113::/64 are routed there
  --binary FILE   install this (static) zonewall binary; Go is then not installed
  --no-zonewall   prepare the machine but do not install zonewall
  --dry-run       print what would change
USAGE
}

SRC=$(cd "$HERE/../.." && pwd)
WORLD_IP="" INSTALL_ZONEWALL=1 BINARY=""
GO_VERSION=1.26.8
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --src) SRC=${2:?--src needs a value}; shift ;;
    --world-ip) WORLD_IP=${2:?--world-ip needs a value}; shift ;;
    --binary) BINARY=${2:?--binary needs a value}; shift ;;
    --no-zonewall) INSTALL_ZONEWALL=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
require_root
[ -f "$SRC/go.mod" ] || die "$SRC is not a zonewall checkout"

log "packages"
apt_install docker.io busybox-static nftables iproute2 conntrack docker-compose git ca-certificates curl apparmor

# Debian's golang is older than go.mod needs: use /usr/local/go when it is
# there, else the official release.
install_go() {
  if [ -n "$BINARY" ]; then
    log "Go: not needed (--binary $BINARY)"
    return
  fi
  if [ -x /usr/local/go/bin/go ]; then
    log "Go: using $(/usr/local/go/bin/go version)"
    return
  fi
  local arch tarball
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) die "no Go release for $(uname -m)" ;;
  esac
  tarball=go$GO_VERSION.linux-$arch.tar.gz
  log "Go: installing $tarball into /usr/local/go"
  run curl -fsSL -o "/tmp/$tarball" "https://go.dev/dl/$tarball"
  run tar -C /usr/local -xzf "/tmp/$tarball"
  run rm -f "/tmp/$tarball"
  run_sh "echo 'export PATH=/usr/local/go/bin:\$PATH' >/etc/profile.d/zw-go.sh"
}
install_go
export PATH=/usr/local/go/bin:$PATH

start_docker() {
  if docker info >/dev/null 2>&1; then
    log "Docker is running"
  elif booted_with_systemd; then
    run systemctl enable --now docker.service
  else
    log "starting dockerd in the background (no systemd)"
    run_sh "dockerd >/var/log/dockerd.log 2>&1 &"
    if [ "$DRY_RUN" = 0 ]; then
      for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
      docker info >/dev/null 2>&1 || die "dockerd did not start; see /var/log/dockerd.log"
    fi
  fi
}
start_docker

# No image can be pulled in the lab: build a busybox image from the host's
# static busybox (the tests use zwtest/busybox:1).
build_test_image() {
  if docker image inspect zwtest/busybox:1 >/dev/null 2>&1; then
    log "test image zwtest/busybox:1 exists"
    return
  fi
  log "building test image zwtest/busybox:1"
  # shellcheck disable=SC2016 # expanded by the inner shell
  run_sh 'set -e; d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
for a in sh nc ping wget ip sleep httpd cat echo ls; do ln -s busybox "$d/bin/$a"; done
tar -C "$d" -c . | docker import - zwtest/busybox:1 >/dev/null; rm -rf "$d"'
}
build_test_image

route_world() {
  [ -n "$WORLD_IP" ] || return 0
  log "routing the world's documentation ranges via $WORLD_IP"
  run ip route replace 203.0.113.0/24 via "$WORLD_IP"
  # Some sites serve their Debian mirror from that range too (deb.debian.org
  # resolving to 203.0.113.x): keep it on the default route, or apt breaks.
  local mirror gw
  mirror=$(getent ahostsv4 deb.debian.org 2>/dev/null | awk 'NR == 1 {print $1}')
  gw=$(ip -4 route show default | awk '{print $3; exit}')
  case $mirror in
    203.0.113.*) [ -z "$gw" ] || run ip route replace "$mirror/32" via "$gw" ;;
  esac
  # IPv6 over the lab link: fixed documentation addresses on both VMs.
  local dev
  dev=$(lab_link_dev "$WORLD_IP")
  if [ -n "$dev" ]; then
    run ip addr replace 2001:db8:56::10/64 dev "$dev" nodad
    run ip route replace 2001:db8:113::/64 via 2001:db8:56::20
  fi
}
route_world

if [ "$INSTALL_ZONEWALL" = 1 ]; then
  log "installing zonewall with the example policy"
  run "$SRC/deploy/install.sh" --example --enforce ${BINARY:+--binary "$BINARY"}
fi
log "host ready"
