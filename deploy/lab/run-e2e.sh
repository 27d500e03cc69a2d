#!/usr/bin/env bash
# Runs zonewall's tests inside the lab's host VM (vagrant ssh host -c
# 'sudo /zonewall/deploy/lab/run-e2e.sh'), or on any provisioned Debian host.
#   (default)  the Docker end-to-end suite, then a lab check against the world VM
#   --all      the full CI command, test/run-all
#   --world-ip IP  the world VM, for the lab check [192.168.56.20]
#   --test-binary FILE  run this prebuilt e2e test binary (go test -c ./test/e2e)
#                  instead of go test: VMs without Go (boot-lab.sh)
#   --zonewall FILE     the zonewall binary the prebuilt suite tests
#   --run REGEX    only the e2e tests matching REGEX
#   --no-e2e       only the lab checks against the world VM
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

SRC=$(cd "$HERE/../.." && pwd)
ALL=0 WORLD_IP=192.168.56.20 TEST_BINARY="" ZONEWALL_BIN="" RUN_REGEX="" E2E=1
while [ $# -gt 0 ]; do
  case $1 in
    --all) ALL=1 ;;
    --world-ip) WORLD_IP=${2:?--world-ip needs a value}; shift ;;
    --dry-run) DRY_RUN=1 ;;
    --test-binary) TEST_BINARY=${2:?--test-binary needs a value}; shift ;;
    --zonewall) ZONEWALL_BIN=${2:?--zonewall needs a value}; shift ;;
    --run) RUN_REGEX=${2:?--run needs a value}; shift ;;
    --no-e2e) E2E=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
require_root
export PATH=/usr/local/go/bin:$PATH
cd "$SRC"

if [ "$ALL" = 1 ]; then
  run test/run-all
  exit 0
fi

# Containers of the policy checks, on a network of their own (the example
# policy denies Docker's default bridge).
LAB_NET=zwtest-lab-net
remove_lab_containers() {
  docker rm -f zwtest-lab-worker zwtest-lab-unzoned >/dev/null 2>&1 || true
  docker network rm "$LAB_NET" >/dev/null 2>&1 || true
}

# fetch CONTAINER PORT: the world's page through CONTAINER, 8 s at most.
# (timeout, not wget -T: Debian 12's busybox 1.35 wget crashes with -T.)
fetch() { timeout 8 docker exec "$1" wget -qO- "http://203.0.113.10:$2/" 2>/dev/null | grep -q zonewall-lab-world; }

policy_checks() {
  remove_lab_containers
  trap 'remove_lab_containers; restore' EXIT
  docker network create --subnet 10.232.0.0/24 "$LAB_NET" >/dev/null
  docker run -d --name zwtest-lab-worker --network "$LAB_NET" --label shop.role=worker zwtest/busybox:1 sleep 900 >/dev/null
  docker run -d --name zwtest-lab-unzoned --network "$LAB_NET" zwtest/busybox:1 sleep 900 >/dev/null
  # zonewall classifies a new container within moments; until then it is
  # dropped (fail closed), so the allowed path is retried for a while.
  local ok=0
  for _ in $(seq 1 30); do
    if fetch zwtest-lab-worker 443; then ok=1; break; fi
    sleep 2
  done
  [ "$ok" = 1 ] || die "policy: worker -> world 203.0.113.10 tcp/443 should pass (flow worker-partner-api)"
  log "policy: worker -> world tcp/443 passes"
  ! fetch zwtest-lab-worker 80 || die "policy: worker -> world tcp/80 passed; no flow allows it"
  log "policy: worker -> world tcp/80 dropped"
  ! fetch zwtest-lab-unzoned 443 || die "policy: an unzoned container reached the world"
  log "policy: unzoned -> world tcp/443 dropped"
  zonewall explain zwtest-lab-worker world:203.0.113.10 tcp/443 || true
  remove_lab_containers
}

# The e2e suite and an installed zonewall would fight over the host's
# tables: the suite runs with the service stopped.
restart_service=0
if [ "$DRY_RUN" = 0 ] && [ -d /run/systemd/system ] && systemctl is-active --quiet zonewall.service; then
  log "stopping zonewall.service for the e2e suite"
  systemctl stop zonewall.service
  restart_service=1
fi
restore() {
  if [ "$restart_service" = 1 ]; then
    systemctl start zonewall.service
  fi
}
trap restore EXIT

export ZW_REQUIRE_PRIV=1
e2e_rc=0
if [ "$E2E" = 0 ]; then
  log "e2e suite skipped (--no-e2e)"
elif [ -n "$TEST_BINARY" ]; then
  [ -x "$TEST_BINARY" ] || die "--test-binary $TEST_BINARY: not an executable"
  [ -n "$ZONEWALL_BIN" ] || ZONEWALL_BIN=$(command -v zonewall) || die "--test-binary needs --zonewall FILE"
  # go test runs a package's tests in its directory; so does this. The
  # suite takes /tmp/zwtest-docker.lock itself: holding it here as well
  # (flock CMD) would make it wait for itself forever.
  (cd test/e2e && run env ZW_E2E_ZONEWALL="$ZONEWALL_BIN" \
    "$TEST_BINARY" -test.count=1 -test.timeout 60m -test.v ${RUN_REGEX:+-test.run "$RUN_REGEX"}) || e2e_rc=$?
else
  run go test -count=1 -timeout 20m -v ${RUN_REGEX:+-run "$RUN_REGEX"} ./test/e2e || e2e_rc=$?
fi
restore
restart_service=0
[ "$DRY_RUN" = 0 ] || exit 0

# Lab checks: the world VM answers on its documentation address through the
# host's route (egress path outside any policy)...
if ip route get 203.0.113.10 2>/dev/null | grep -q "via $WORLD_IP"; then
  if timeout 5 busybox wget -qO- http://203.0.113.10/ | grep -q zonewall-lab-world; then
    log "world VM reachable at 203.0.113.10"
  else
    die "world VM not reachable at 203.0.113.10 (provision-world.sh run there?)"
  fi
  # ...and the installed zonewall enforces the example policy on containers
  # talking to it: worker may reach 203.0.113.0/24 on tcp/443 only, an
  # unzoned container nothing.
  if zonewall status >/dev/null 2>&1; then
    policy_checks
  else
    log "no running zonewall (zonewall status): policy checks skipped"
  fi
fi
[ "$e2e_rc" = 0 ] || die "the e2e suite failed (exit $e2e_rc)"
log "lab tests passed"
