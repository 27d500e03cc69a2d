# shellcheck shell=bash
# boot-lab.sh --vagrant (sourced by boot-lab.sh): the Vagrantfile with
# vagrant-libvirt on the box build-box.sh made. libvirtd, its networks
# (dnsmasq, NAT rules) and the VMs live in a network namespace of our own,
# so nothing of the lab touches this machine's interfaces or firewall.

VIRT_NS=zwtest-lab-virt

# ns CMD...: run CMD in the lab's namespace.
ns() { ip netns exec "$VIRT_NS" "$@"; }

daemon_pid() { # NAME: the PID of a daemon we started, from its PID file
  local f=$OUT/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$1" || return 1
  echo "$pid"
}

stop_libvirt() {
  local d pid
  for d in libvirtd virtlogd; do
    pid=$(daemon_pid "$d") || continue
    kill "$pid" || true
    for _ in $(seq 1 20); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    rm -f "$OUT/$d.pid"
  done
  ip netns del "$VIRT_NS" 2>/dev/null || true
}

start_libvirt() {
  if pgrep -x libvirtd >/dev/null && ! daemon_pid libvirtd >/dev/null; then
    die "a libvirtd that is not the lab's runs already; stop it or use --qemu"
  fi
  stop_libvirt
  ip netns add "$VIRT_NS"
  ns ip link set lo up
  # Both daemons fork and write their PID files where we say.
  ns virtlogd -d -p "$OUT/virtlogd.pid"
  ns libvirtd -d -p "$OUT/libvirtd.pid"
  for _ in $(seq 1 30); do ns virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 1; done
  ns virsh -c qemu:///system version >/dev/null || die "libvirtd did not answer; see /var/log/libvirt/libvirtd.log"
  step "libvirtd $(cat "$OUT/libvirtd.pid") answers in namespace $VIRT_NS"
}

cleanup_vagrant() {
  (cd "$SRC" && ns vagrant destroy -f) >>"$LOG" 2>&1 || true
  stop_libvirt
}

run_vagrant() {
  [ -e "$OUT/zonewall-debian12.box" ] || die "no $OUT/zonewall-debian12.box: run deploy/lab/build-box.sh (or --build)"
  apt_install vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu \
    libvirt-clients dnsmasq-base qemu-system-x86 qemu-utils rsync
  build_binaries
  export VAGRANT_HOME=$OUT/vagrant.d VAGRANT_DOTFILE_PATH=$OUT/vagrant-state \
    VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_DEFAULT_PROVIDER=libvirt \
    ZW_LAB_BOX=zonewall/debian12 ZW_LAB_LIBVIRT_DRIVER=qemu ZW_LAB_PREBUILT=$OUT/bin \
    ZW_LAB_HOST_MEMORY=$HOST_MEM ZW_LAB_WORLD_MEMORY=512 ZW_LAB_BOOT_TIMEOUT=900
  step "vagrant box add zonewall/debian12"
  vagrant box add --force --name zonewall/debian12 "$OUT/zonewall-debian12.box" 2>&1 | tail -n 2 | tee -a "$LOG"
  start_libvirt
  [ "$KEEP" = 1 ] || trap cleanup_vagrant EXIT
  step "vagrant up ${MACHINE:-world, then host} (log: $OUT/vagrant-up.log)"
  local rc=0
  # shellcheck disable=SC2086 # no machine name: all of them
  (cd "$SRC" && ns nice -n 10 vagrant up --provider=libvirt $MACHINE) >"$OUT/vagrant-up.log" 2>&1 || rc=$?
  grep -E '^==> |zw-lab:' "$OUT/vagrant-up.log" | tail -n 40 | tee -a "$LOG"
  [ "$rc" = 0 ] || die "vagrant up failed (exit $rc); see $OUT/vagrant-up.log"
  step "vagrant up done"
  case $MACHINE in
    "" | host) ;;
    *)
      (cd "$SRC" && ns vagrant ssh "$MACHINE" -c 'uname -r; systemctl is-system-running; ip -br addr') 2>&1 | tee -a "$LOG"
      return 0
      ;;
  esac
  step "host: run-e2e.sh (log: $OUT/e2e.log)"
  local only=""
  [ -z "$RUN_REGEX" ] || only="--run $(printf %q "$RUN_REGEX")"
  (cd "$SRC" && ns vagrant ssh host -c "sudo /zonewall/deploy/lab/run-e2e.sh --world-ip $WORLD_IP \
    --test-binary /home/vagrant/zw-lab-bin/e2e.test --zonewall /home/vagrant/zw-lab-bin/zonewall $only") \
    >"$OUT/e2e.log" 2>&1 || rc=$?
  grep -E '^(--- |PASS|FAIL|ok|panic)|zw-lab' "$OUT/e2e.log" | tee -a "$LOG" || true
  summarize "$rc"
}
