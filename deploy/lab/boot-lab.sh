#!/usr/bin/env bash
# Boots the lab's two VMs (host, world) from the box build-box.sh made, under
# qemu without KVM (TCG), provisions them with the lab's own scripts exactly
# as the Vagrantfile does, and runs the lab's end-to-end suite on host.
#
#   --qemu (default)  qemu-system-x86_64 directly: each VM gets a user-mode
#       NIC (eth0: DHCP, outbound, ssh forwarded from 127.0.0.1) and a NIC on
#       the lab link, a qemu socket network between the two (192.168.56.0/24,
#       host .10, world .20) -- what vagrant's private_network gives.
#   --vagrant  vagrant up with vagrant-libvirt (driver qemu), libvirtd and
#       all its networks inside a network namespace of our own.
#
# Binaries are built here (CGO off: a static zonewall and the e2e test
# binary): compiling Go inside an emulated CPU would take most of an hour.
# Timings and results go to OUT/boot-lab.log; consoles to OUT/*-console.log.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'USAGE'
usage: boot-lab.sh [--qemu | --vagrant] [--out DIR] [--build] [--run REGEX] [--keep]
  --out DIR      where build-box.sh put the box [/var/tmp/zwtest-lab]
  --build        run build-box.sh first
  --run REGEX    only the e2e tests matching REGEX (default: the whole suite)
  --keep         leave the VMs running (stop them with: boot-lab.sh --stop)
  --stop         stop the VMs a --keep run left running
  --host-mem MB  memory of host [3072]; world gets 512
  --machine NAME with --vagrant: bring up only this machine (world: no e2e)
USAGE
}

SRC=$(cd "$HERE/../.." && pwd)
OUT=/var/tmp/zwtest-lab
MODE=qemu BUILD=0 RUN_REGEX="" KEEP=0 STOP=0 HOST_MEM=3072 MACHINE=""
while [ $# -gt 0 ]; do
  case $1 in
    --qemu) MODE=qemu ;;
    --vagrant) MODE=vagrant ;;
    --out) OUT=${2:?--out needs a value}; shift ;;
    --build) BUILD=1 ;;
    --run) RUN_REGEX=${2:?--run needs a value}; shift ;;
    --keep) KEEP=1 ;;
    --stop) STOP=1 ;;
    --host-mem) HOST_MEM=${2:?--host-mem needs a value}; shift ;;
    --machine) MACHINE=${2:?--machine needs a value}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
require_root
HOST_IP=192.168.56.10 WORLD_IP=192.168.56.20
KEY=$OUT/id_ed25519
LOG=$OUT/boot-lab.log
export PATH=/usr/local/go/bin:$PATH

t0=$SECONDS
step() { echo "zw-lab: [$((SECONDS - t0))s] $*" | tee -a "$LOG"; }

# --- VMs started by this script, found again by their PID files ------------
vm_pid() { # NAME: the PID of our qemu for NAME, if it still runs
  local f=$OUT/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "zwtest-lab-$1" || return 1
  echo "$pid"
}
stop_vm() { # NAME: power off cleanly, else end our qemu by its PID
  local name=$1 pid port
  pid=$(vm_pid "$name") || { rm -f "$OUT/$name.pid"; return 0; }
  port=$(cat "$OUT/$name.sshport" 2>/dev/null || true)
  [ -z "$port" ] || vm_ssh "$port" sudo systemctl poweroff >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 1; done
  if [ -d "/proc/$pid" ]; then
    log "$name did not power off in 60 s: ending qemu $pid"
    kill "$pid" || true
  fi
  rm -f "$OUT/$name.pid"
}
stop_all() { stop_vm world; stop_vm host; }

SSH_OPTS=(-i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=8)
vm_ssh() { # PORT CMD...: run CMD on the VM as vagrant
  local port=$1
  shift
  ssh "${SSH_OPTS[@]}" -p "$port" vagrant@127.0.0.1 "$@"
}

if [ "$STOP" = 1 ]; then
  stop_all
  exit 0
fi

# free_port: a TCP port on 127.0.0.1 nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 10000))
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
  die "no free port found"
}

build_binaries() {
  step "building static binaries (zonewall, e2e test binary) into $OUT/bin"
  mkdir -p "$OUT/bin"
  (cd "$SRC" && CGO_ENABLED=0 nice -n 10 go build -o "$OUT/bin/zonewall" ./cmd/zonewall)
  (cd "$SRC" && CGO_ENABLED=0 nice -n 10 go test -c -o "$OUT/bin/e2e.test" ./test/e2e)
}

# start_vm NAME MEM CPUS LAB_NETDEV LAB_MAC: boots a copy-on-write overlay of the box.
start_vm() {
  local name=$1 mem=$2 cpus=$3 lab=$4 mac=$5 port
  port=$(free_port)
  echo "$port" >"$OUT/$name.sshport"
  rm -f "$OUT/$name.qcow2" "$OUT/$name-console.log"
  qemu-img create -q -f qcow2 -b "$OUT/box.img" -F qcow2 "$OUT/$name.qcow2"
  # No -enable-kvm: KVM hangs on this machine kind (see README, "Vagrant lab").
  nice -n 10 qemu-system-x86_64 -name "zwtest-lab-$name" \
    -machine pc -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
    -drive "file=$OUT/$name.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -netdev "user,id=mgmt,hostfwd=tcp:127.0.0.1:$port-:22" \
    -device virtio-net-pci,netdev=mgmt \
    -netdev "$lab" -device "virtio-net-pci,netdev=lab,mac=$mac" \
    -display none -serial "file:$OUT/$name-console.log" \
    -pidfile "$OUT/$name.pid" -daemonize
  step "$name: qemu $(cat "$OUT/$name.pid") started, ssh on 127.0.0.1:$port"
}

wait_ssh() { # NAME
  local name=$1 port start=$SECONDS
  port=$(cat "$OUT/$name.sshport")
  until timeout 30 ssh "${SSH_OPTS[@]}" -p "$port" vagrant@127.0.0.1 true 2>/dev/null; do
    vm_pid "$name" >/dev/null || die "$name: qemu exited; see $OUT/$name-console.log"
    [ $((SECONDS - start)) -lt 900 ] || die "$name: no ssh after 15 minutes; see $OUT/$name-console.log"
    sleep 5
  done
  step "$name: ssh answers after $((SECONDS - start)) s ($(vm_ssh "$port" uname -r))"
}

# lab_link NAME MAC IP: what vagrant's private_network does on a Debian guest.
lab_link() {
  local name=$1 mac=$2 ip=$3 port
  port=$(cat "$OUT/$name.sshport")
  vm_ssh "$port" sudo bash -s "$mac" "$ip" <<'EOF'
set -e
dev=$(ip -o link | awk -v mac="$1" '$0 ~ mac {sub(":", "", $2); print $2}')
[ -n "$dev" ] || { echo "no interface with MAC $1" >&2; exit 1; }
printf 'auto %s\niface %s inet static\n  address %s/24\n' "$dev" "$dev" "$2" >/etc/network/interfaces.d/zw-lab
ifup "$dev"
EOF
}

sync_checkout() { # NAME: the checkout to /zonewall, as the Vagrantfile's rsync folder
  local port
  port=$(cat "$OUT/$1.sshport")
  rsync -a --delete --exclude .git/ --exclude .vagrant/ --exclude bin/ \
    -e "ssh ${SSH_OPTS[*]} -p $port" --rsync-path="sudo rsync" "$SRC/" vagrant@127.0.0.1:/zonewall/
  # The binaries only where they run (an emulated CPU encrypts slowly).
  [ "$1" != host ] ||
    rsync -a -e "ssh ${SSH_OPTS[*]} -p $port" --rsync-path="sudo rsync" "$OUT/bin/" vagrant@127.0.0.1:/zonewall/bin/
}

run_qemu() {
  [ -e "$OUT/box.img" ] || die "no $OUT/box.img: run deploy/lab/build-box.sh (or --build)"
  apt_install qemu-system-x86 qemu-utils rsync openssh-client
  build_binaries
  stop_all
  [ "$KEEP" = 1 ] || trap stop_all EXIT
  local link_port
  link_port=$(free_port)
  # host listens on the lab link, world connects: a two-port virtual switch.
  start_vm host "$HOST_MEM" 2 "socket,id=lab,listen=127.0.0.1:$link_port" 52:54:00:56:00:10
  start_vm world 512 1 "socket,id=lab,connect=127.0.0.1:$link_port" 52:54:00:56:00:20
  wait_ssh host
  wait_ssh world
  step "lab link: host $HOST_IP, world $WORLD_IP"
  lab_link host 52:54:00:56:00:10 "$HOST_IP"
  lab_link world 52:54:00:56:00:20 "$WORLD_IP"
  step "syncing the checkout to /zonewall"
  sync_checkout host
  sync_checkout world

  local hp wp
  hp=$(cat "$OUT/host.sshport") wp=$(cat "$OUT/world.sshport")
  step "world: provision-world.sh"
  vm_ssh "$wp" sudo bash /zonewall/deploy/lab/provision-world.sh --host-ip "$HOST_IP" 2>&1 | tee -a "$LOG"
  step "host: provision-host.sh"
  local prov_rc=0
  vm_ssh "$hp" sudo bash /zonewall/deploy/lab/provision-host.sh --src /zonewall --world-ip "$WORLD_IP" \
    --binary /zonewall/bin/zonewall 2>&1 | tee -a "$LOG" || prov_rc=$?
  if [ "$prov_rc" != 0 ]; then
    # The e2e suite runs its own daemon: its result still tells what works.
    step "host: provision-host.sh failed (exit $prov_rc); running the e2e suite all the same"
  fi
  step "host: run-e2e.sh (log: $OUT/e2e.log)"
  local rc=0 only=""
  # ssh hands the remote shell one string: quote the regex for it.
  [ -z "$RUN_REGEX" ] || only="--run $(printf %q "$RUN_REGEX")"
  vm_ssh "$hp" sudo /zonewall/deploy/lab/run-e2e.sh --world-ip "$WORLD_IP" \
    --test-binary /zonewall/bin/e2e.test --zonewall /zonewall/bin/zonewall \
    "$only" >"$OUT/e2e.log" 2>&1 || rc=$?
  grep -E '^(--- |PASS|FAIL|ok|panic)|zw-lab' "$OUT/e2e.log" | tee -a "$LOG" || true
  summarize "$rc" || true
  [ "$prov_rc" = 0 ] || die "provisioning host failed (exit $prov_rc)"
  [ "$rc" = 0 ] || die "run-e2e.sh failed (exit $rc)"
  step "lab passed"
}

summarize() { # RC of run-e2e.sh
  local pass fail skip
  pass=$(grep -c -- '--- PASS' "$OUT/e2e.log" || true)
  fail=$(grep -c -- '--- FAIL' "$OUT/e2e.log" || true)
  skip=$(grep -c -- '--- SKIP' "$OUT/e2e.log" || true)
  step "e2e in the lab: exit $1; $pass passed, $fail failed, $skip skipped (subtests included)"
  return "$1"
}

: >"$LOG"
step "boot-lab.sh --$MODE, out $OUT"
if [ "$BUILD" = 1 ]; then
  step "build-box.sh"
  "$HERE/build-box.sh" --out "$OUT" 2>&1 | tee -a "$LOG"
fi
case $MODE in
  qemu) run_qemu ;;
  vagrant)
    # shellcheck source=vagrant-libvirt.sh
    . "$HERE/vagrant-libvirt.sh"
    run_vagrant
    ;;
esac
