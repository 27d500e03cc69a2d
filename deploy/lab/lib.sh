# shellcheck shell=bash
# Shared helpers of the lab provisioning scripts (sourced, not run).

DRY_RUN=${DRY_RUN:-0}

log() { echo "zw-lab: $*"; }
die() { echo "zw-lab: error: $*" >&2; exit 1; }

# run CMD...: runs a command that changes the machine, or prints it with --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ $*"
  else
    "$@"
  fi
}

# run_sh SCRIPT: like run, for a shell snippet (pipes, redirections).
run_sh() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ sh -c '$1'"
  else
    bash -c "$1"
  fi
}

booted_with_systemd() { [ -d /run/systemd/system ]; }

apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]}"
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

require_root() {
  [ "$DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root"
}

# lab_link_dev IP: the interface IP is directly reachable on (no gateway), or
# nothing: IPv6 lab addresses are only added on the lab link itself.
lab_link_dev() {
  local route
  route=$(ip -o route get "$1" 2>/dev/null) || return 0
  case $route in *" via "*) return 0 ;; esac
  echo "$route" | sed -n 's/.* dev \([^ ]*\).*/\1/p'
}
