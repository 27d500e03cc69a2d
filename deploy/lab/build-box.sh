#!/usr/bin/env bash
# Builds the lab's Debian 12 box from Debian's own packages, with no box
# download: debootstrap a root file system, install what the lab needs
# (kernel, systemd, sshd, Docker, busybox, nftables, docker-compose), make a
# BIOS-bootable disk (MBR + extlinux, one ext4 partition) and package it for
# vagrant-libvirt (box.img qcow2 + metadata.json + Vagrantfile, in a tar).
#
# Outputs, under --out [/var/tmp/zwtest-lab]:
#   box.img                    the qcow2 disk (also what boot-lab.sh --qemu boots)
#   zonewall-debian12.box      the vagrant-libvirt box
#   id_ed25519{,.pub}          a key the box accepts for user vagrant (beside
#                              Vagrant's well-known insecure key, which vagrant
#                              replaces on first boot)
#   rootfs/, debs/             the unpacked root and the package cache (reruns)
# Run as root on Debian 12; it installs debootstrap, qemu-utils and extlinux.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'USAGE'
usage: build-box.sh [--out DIR] [--mirror URL] [--size GB] [--rebuild]
  --out DIR     where everything is written [/var/tmp/zwtest-lab]
  --mirror URL  Debian mirror [http://deb.debian.org/debian]
  --size GB     virtual disk size [10]
  --rebuild     debootstrap again even if DIR/rootfs exists
USAGE
}

OUT=/var/tmp/zwtest-lab
MIRROR=http://deb.debian.org/debian
SIZE_GB=10 REBUILD=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=${2:?--out needs a value}; shift ;;
    --mirror) MIRROR=${2:?--mirror needs a value}; shift ;;
    --size) SIZE_GB=${2:?--size needs a value}; shift ;;
    --rebuild) REBUILD=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
require_root
case $SIZE_GB in '' | *[!0-9]*) die "--size: a whole number of GB, not '$SIZE_GB'" ;; esac
[ "$(uname -m)" = x86_64 ] || die "builds an amd64 box; this machine is $(uname -m)"

# What the lab's VMs need: boot (kernel, systemd, extlinux reads the disk),
# vagrant (sshd, sudo, rsync, ifupdown + DHCP client for its network setup),
# the host's e2e suite (Docker, docker-compose, busybox, nftables, conntrack,
# and apparmor, which docker.io only recommends).
PACKAGES=(
  linux-image-amd64 systemd-sysv udev kmod initramfs-tools
  openssh-server sudo rsync ifupdown isc-dhcp-client iproute2 iputils-ping procps
  ca-certificates curl less
  docker.io docker-compose busybox-static nftables conntrack git
  apparmor # Debian's kernel enables AppArmor: without apparmor_parser no container starts
)
ROOT=$OUT/rootfs
MNT=$OUT/mnt
RAW=$OUT/box.raw
NAME=zonewall-debian12

mkdir -p "$OUT" "$OUT/debs"
apt_install debootstrap qemu-utils extlinux syslinux-common fdisk

# Everything mounted or attached below is undone on any exit.
mounts=() loopdev=""
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true; done
  mounts=()
  [ -z "$loopdev" ] || losetup -d "$loopdev" || true
  loopdev=""
  rm -f "$ROOT/usr/sbin/policy-rc.d"
}
trap cleanup EXIT
bind() { mount "$@"; mounts+=("${*: -1}"); }

t0=$SECONDS
step() { log "[$((SECONDS - t0))s] $*"; }

# chroot_packages PKG...: installs packages in the root, with no service
# started: it would run on this machine's kernel (a dockerd here would
# rewrite the build machine's firewall).
chroot_packages() {
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
  bind -t proc proc "$ROOT/proc"
  bind -t sysfs sysfs "$ROOT/sys"
  bind --bind /dev "$ROOT/dev"
  bind --bind /dev/pts "$ROOT/dev/pts"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  chroot "$ROOT" apt-get update -qq
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive nice -n 10 \
    apt-get install -y -q --no-install-recommends "$@"
  chroot "$ROOT" apt-get clean
  cleanup
}

if [ "$REBUILD" = 1 ] || [ ! -e "$ROOT/.zw-complete" ]; then
  step "debootstrap bookworm into $ROOT"
  rm -rf "$ROOT"
  nice -n 10 debootstrap --variant=minbase --cache-dir="$OUT/debs" bookworm "$ROOT" "$MIRROR"
  cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  # The initramfs must find virtio disks whatever the build machine has.
  mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
  echo MODULES=most >"$ROOT/etc/initramfs-tools/conf.d/zw-lab"
  step "installing ${#PACKAGES[@]} packages in the chroot"
  chroot_packages "${PACKAGES[@]}"
  touch "$ROOT/.zw-complete"
else
  missing=()
  for p in "${PACKAGES[@]}"; do
    chroot "$ROOT" dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "reusing $ROOT, adding ${missing[*]}"
    chroot_packages "${missing[@]}"
  else
    step "reusing $ROOT (--rebuild to debootstrap again)"
  fi
fi

step "configuring the system"
echo zw-lab >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 zw-lab\n::1 localhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
# Classic interface names: the first NIC (vagrant's management network, or
# qemu's user network) is eth0 and takes DHCP; vagrant configures the rest.
cat >"$ROOT/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp

source /etc/network/interfaces.d/*
EOF
mkdir -p "$ROOT/etc/network/interfaces.d"
: >"$ROOT/etc/resolv.conf" # written by dhclient at boot
# Vagrant's conventions: user vagrant (password vagrant), sudo without a
# password, the insecure key (replaced by vagrant on first up), and sshd
# without DNS lookups (slow boots otherwise).
if ! chroot "$ROOT" id vagrant >/dev/null 2>&1; then
  chroot "$ROOT" useradd -m -s /bin/bash -G docker vagrant
fi
echo vagrant:vagrant | chroot "$ROOT" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$ROOT/etc/sudoers.d/vagrant"
chmod 0440 "$ROOT/etc/sudoers.d/vagrant"
echo 'UseDNS no' >"$ROOT/etc/ssh/sshd_config.d/zw-lab.conf"
[ -e "$OUT/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C zw-lab -f "$OUT/id_ed25519"
insecure=$(find /usr/share/rubygems-integration /usr/share/vagrant /usr/lib/ruby \
  -path '*vagrant*/keys/vagrant.pub' 2>/dev/null | head -n1 || true)
install -d -m 0700 -o 1000 -g 1000 "$ROOT/home/vagrant/.ssh"
{
  cat "$OUT/id_ed25519.pub"
  [ -z "$insecure" ] || cat "$insecure"
} >"$ROOT/home/vagrant/.ssh/authorized_keys"
[ -n "$insecure" ] || log "vagrant not installed: the box accepts only $OUT/id_ed25519"
chroot "$ROOT" chown -R vagrant:vagrant /home/vagrant/.ssh
chmod 0600 "$ROOT/home/vagrant/.ssh/authorized_keys"
# Each VM gets its own host keys on first boot (before Debian's own
# ExecStartPre, sshd -t, which fails without them).
rm -f "$ROOT"/etc/ssh/ssh_host_*
mkdir -p "$ROOT/etc/systemd/system/ssh.service.d"
cat >"$ROOT/etc/systemd/system/ssh.service.d/zw-hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
rm -f "$ROOT/etc/machine-id" "$ROOT/var/lib/dbus/machine-id"
touch "$ROOT/etc/machine-id" # systemd makes one on first boot
chroot "$ROOT" systemctl enable docker.service ssh.service >/dev/null 2>&1 || true

kernel=$(find "$ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n1)
[ -n "$kernel" ] || die "no kernel in $ROOT/boot"
initrd=initrd.img-${kernel#vmlinuz-}
[ -e "$ROOT/boot/$initrd" ] || die "no $initrd in $ROOT/boot"
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$ROOT/etc/fstab"
mkdir -p "$ROOT/boot/extlinux"
cat >"$ROOT/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
TIMEOUT 1
PROMPT 0
LABEL debian
  LINUX /boot/$kernel
  INITRD /boot/$initrd
  APPEND root=UUID=$uuid ro console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0
EOF

step "making a ${SIZE_GB} GB disk: MBR, one ext4 partition, extlinux"
rm -f "$RAW"
truncate -s "${SIZE_GB}G" "$RAW"
echo 'start=2048, type=83, bootable' | sfdisk -q "$RAW"
loopdev=$(losetup -f --show -o $((2048 * 512)) "$RAW")
# extlinux (syslinux 6.04) cannot read ext4's 64bit layout.
mkfs.ext4 -q -L zw-root -U "$uuid" -O ^64bit "$loopdev"
mkdir -p "$MNT"
bind "$loopdev" "$MNT"
step "copying the root file system"
tar -C "$ROOT" --exclude=./.zw-complete --numeric-owner --xattrs -cf - . | tar -C "$MNT" --numeric-owner --xattrs -xf -
extlinux --install "$MNT/boot/extlinux" >/dev/null
cleanup
dd if=/usr/lib/EXTLINUX/mbr.bin of="$RAW" bs=440 count=1 conv=notrunc status=none

step "converting to qcow2 and packaging the box"
nice -n 10 qemu-img convert -f raw -O qcow2 "$RAW" "$OUT/box.img"
rm -f "$RAW"
cat >"$OUT/metadata.json" <<EOF
{"provider": "libvirt", "format": "qcow2", "virtual_size": $SIZE_GB}
EOF
cat >"$OUT/Vagrantfile" <<'EOF'
# Built by zonewall's deploy/lab/build-box.sh from Debian 12 packages.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.disk_bus = "virtio"
  end
end
EOF
tar -C "$OUT" -cf "$OUT/$NAME.box" metadata.json Vagrantfile box.img
step "done: $OUT/$NAME.box ($(du -h "$OUT/$NAME.box" | cut -f1)), kernel $kernel"
