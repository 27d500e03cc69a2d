#!/usr/bin/env bash
# Installs what the tests need on Debian (idempotent).
set -euo pipefail
need=()
command -v nft >/dev/null || need+=(nftables)
command -v dockerd >/dev/null || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v ip >/dev/null || need+=(iproute2)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v conntrack >/dev/null || need+=(conntrack)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian 12's golang-go (1.19) is older than go.mod needs; Go comes from /usr/local/go.
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
  echo "setup-deps: Go >= 1.26 is needed (install it in /usr/local/go, see go.dev/doc/install)" >&2
  exit 1
fi
