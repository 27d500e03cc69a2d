#!/usr/bin/env bash
# Installs zonewall on a Debian/Ubuntu Docker host, or removes it again.
# Re-running it is safe. See deploy/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: sudo deploy/install.sh [options]

Install (default):
  --example          also install the example zone files (deploy/examples/zones.d);
                     on a host that already runs containers they start in audit mode
                     unless --enforce is given
  --enforce          enforce at once even though containers are running (default on
                     such a host: audit mode, which drops nothing and records every
                     connection for `zonewall learn`)
  --force            with --example: overwrite existing zone files
  --no-start         install only; do not (re)start the daemon
  --binary PATH      install this binary (default: build from the checkout when
                     Go is available, else ./bin/zonewall)
  --with-docker      also install Docker (docker.io) if it is missing (labs)
Remove:
  --uninstall        stop zonewall, delete its nftables tables, remove the binary
                     and the unit; configuration and state are kept
  --purge            with --uninstall: also remove configuration, state and log
Paths (defaults in brackets; tests point them at temporary directories):
  --prefix DIR       binary goes to DIR/bin [/usr/local]
  --etc-dir DIR      configuration and zones.d [/etc/zonewall]
  --unit-dir DIR     systemd unit [/etc/systemd/system]
  --state-dir DIR    state_dir [/var/lib/zonewall]
  --run-dir DIR      control socket and PID file [/run/zonewall]
  --log-file FILE    log when started without systemd [/var/log/zonewall.log]
  --no-systemd       never use systemctl; start zonewall run in the background
  --systemd          always use systemctl (tests run it against a stand-in)
  -h, --help
EOF
}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/usr/local
ETC_DIR=/etc/zonewall
UNIT_DIR=/etc/systemd/system
STATE_DIR=/var/lib/zonewall
RUN_DIR=/run/zonewall
LOG_FILE=/var/log/zonewall.log
BINARY=""
EXAMPLE=0 ENFORCE=0 FORCE=0 START=1 UNINSTALL=0 PURGE=0 WITH_DOCKER=0 SYSTEMD=auto

log() { echo "zonewall-install: $*"; }
warn() { echo "zonewall-install: warning: $*" >&2; }
die() { echo "zonewall-install: error: $*" >&2; exit 1; }

# value OPTION ARGS...: the option's argument, or an error.
value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
  echo "$2"
}

while [ $# -gt 0 ]; do
  case $1 in
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;; # --opt=value -> --opt value
  esac
  case $1 in
    --example) EXAMPLE=1 ;;
    --enforce) ENFORCE=1 ;;
    --force) FORCE=1 ;;
    --no-start) START=0 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --with-docker) WITH_DOCKER=1 ;;
    --no-systemd) SYSTEMD=no ;;
    --systemd) SYSTEMD=yes ;;
    --binary) BINARY=$(value "$@"); shift ;;
    --prefix) PREFIX=$(value "$@"); shift ;;
    --etc-dir) ETC_DIR=$(value "$@"); shift ;;
    --unit-dir) UNIT_DIR=$(value "$@"); shift ;;
    --state-dir) STATE_DIR=$(value "$@"); shift ;;
    --run-dir) RUN_DIR=$(value "$@"); shift ;;
    --log-file) LOG_FILE=$(value "$@"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"
[ "$(id -u)" = 0 ] || die "run as root (sudo $0 ...)"

BIN=$PREFIX/bin/zonewall
CONF=$ETC_DIR/zonewall.yaml
UNIT=$UNIT_DIR/zonewall.service
PID_FILE=$RUN_DIR/zonewall.pid

# systemd manages zonewall only on a machine booted with systemd, and only
# for the real unit directory (tests install into temporary directories).
use_systemd() {
  case $SYSTEMD in
    yes) return 0 ;;
    no) return 1 ;;
  esac
  [ -d /run/systemd/system ] && [ "$UNIT_DIR" = /etc/systemd/system ] && command -v systemctl >/dev/null
}

apt_install() {
  log "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

# pid_running PID: the process exists and is a zonewall daemon (a stale PID
# file must not make us signal an unrelated process).
pid_running() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'zonewall.* run'
}

stop_background_daemon() {
  [ -f "$PID_FILE" ] || return 0
  local pid
  pid=$(cat "$PID_FILE")
  if pid_running "$pid"; then
    log "stopping zonewall (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do pid_running "$pid" || break; sleep 0.2; done
    if pid_running "$pid"; then
      warn "zonewall (pid $pid) did not stop in 20 s; killing it"
      kill -KILL "$pid" || true
    fi
  fi
  rm -f "$PID_FILE"
}

# --- removal -----------------------------------------------------------------

delete_tables() {
  command -v nft >/dev/null || return 0
  # Only zonewall's own tables, by name: Docker's rules stay as they are.
  # Not `nft list` first: some nft versions cannot print zonewall's
  # concatenated set keys and abort.
  local out table
  for table in "inet zonewall" "bridge zonewall" "inet zonewall_dns"; do
    # shellcheck disable=SC2086 # "family name": two words for nft
    if out=$(nft delete table $table 2>&1); then
      log "deleted nftables table $table"
    elif ! grep -q "No such file or directory" <<<"$out"; then
      warn "nft delete table $table: $out"
    fi
  done
}

uninstall() {
  if use_systemd && systemctl cat zonewall.service >/dev/null 2>&1; then
    log "stopping and disabling zonewall.service"
    systemctl disable --now zonewall.service >/dev/null 2>&1 || warn "systemctl disable --now zonewall failed"
  fi
  stop_background_daemon
  delete_tables
  local f
  for f in "$BIN" "$UNIT"; do
    if [ -e "$f" ]; then rm -f "$f"; log "removed $f"; fi
  done
  if use_systemd; then systemctl daemon-reload; fi
  rm -rf "$RUN_DIR"
  if [ "$PURGE" = 1 ]; then
    for f in "$ETC_DIR" "$STATE_DIR" "$LOG_FILE"; do
      if [ -e "$f" ]; then rm -rf "$f"; log "removed $f"; fi
    done
  elif [ -e "$ETC_DIR" ]; then
    log "kept $ETC_DIR and $STATE_DIR (--purge removes them)"
  fi
  log "zonewall removed; Docker's own rules were not touched"
}

# --- installation ------------------------------------------------------------

install_prerequisites() {
  command -v nft >/dev/null || apt_install nftables
  if [ "$WITH_DOCKER" = 1 ] && ! command -v dockerd >/dev/null; then
    apt_install docker.io
  fi
  command -v dockerd >/dev/null || command -v docker >/dev/null ||
    warn "Docker is not installed; zonewall will wait for it (--with-docker installs docker.io)"
}

find_go() {
  command -v go 2>/dev/null && return
  [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go
}

# install_binary puts the zonewall binary in place atomically (a running
# daemon keeps its old inode).
install_binary() {
  local src=$BINARY tmp="" gobin
  if [ -z "$src" ] && gobin=$(find_go) && [ -f "$SRC/go.mod" ]; then
    tmp=$(mktemp)
    local ver
    ver=$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo dev)
    local commit date
    commit=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
    date=$(git -C "$SRC" log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
    log "building zonewall $ver from $SRC"
    (cd "$SRC" && GOFLAGS=-buildvcs=false "$gobin" build -ldflags "-X main.version=$ver -X main.commit=$commit -X main.date=$date" -o "$tmp" ./cmd/zonewall) ||
      { rm -f "$tmp"; die "go build failed"; }
    src=$tmp
  fi
  if [ -z "$src" ]; then
    src=$SRC/bin/zonewall
    [ -x "$src" ] || die "no Go toolchain and no $src: build it, or pass --binary PATH"
  fi
  [ -x "$src" ] || die "$src is not an executable"
  install -d -m 0755 "$PREFIX/bin"
  install -m 0755 "$src" "$BIN.new"
  mv -f "$BIN.new" "$BIN"
  [ -z "$tmp" ] || rm -f "$tmp"
  log "installed $BIN ($("$BIN" version 2>/dev/null | head -1))"
}

# install_config writes the example configuration with this installation's
# paths; an existing configuration is the operator's and is never replaced.
install_config() {
  install -d -m 0755 "$ETC_DIR" "$ETC_DIR/zones.d"
  if [ -e "$CONF" ]; then
    log "keeping existing $CONF"
    return
  fi
  sed -e "s#^zones_dir: .*#zones_dir: $ETC_DIR/zones.d#" \
      -e "s#^socket: .*#socket: $RUN_DIR/zonewall.sock#" \
      -e "s#^state_dir: .*#state_dir: $STATE_DIR#" \
      "$SRC/deploy/zonewall.yaml" >"$CONF.new"
  chmod 0644 "$CONF.new"
  mv -f "$CONF.new" "$CONF"
  log "installed $CONF"
}

# config_value KEY: the key's value in the installed configuration.
config_value() {
  sed -n "s/^$1:[[:space:]]*//p" "$CONF" | sed -e 's/[[:space:]]*#.*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/" | tail -1
}

# audit_variant prints an example file as installed in audit mode.
audit_variant() {
  sed -e 's/^\(  mode:[[:space:]]*\)enforce/\1audit  /' "$1"
}

install_examples() {
  local dir=$1 f name conflicts=()
  for f in "$SRC"/deploy/examples/zones.d/*.y*ml; do
    name=$(basename "$f")
    if [ -e "$dir/$name" ] && ! cmp -s "$f" "$dir/$name" && ! audit_variant "$f" | cmp -s - "$dir/$name"; then
      conflicts+=("$dir/$name")
    fi
  done
  if [ ${#conflicts[@]} -gt 0 ] && [ "$FORCE" = 0 ]; then
    die "not overwriting ${conflicts[*]} (changed since installed; --force overwrites)"
  fi
  for f in "$SRC"/deploy/examples/zones.d/*.y*ml; do
    name=$(basename "$f")
    if [ "$AUDIT" = 1 ]; then
      # Containers run already: observe before enforcing (--enforce skips this).
      audit_variant "$f" >"$dir/$name.new"
      chmod 0644 "$dir/$name.new"
      mv -f "$dir/$name.new" "$dir/$name"
    else
      install -m 0644 "$f" "$dir/$name"
    fi
  done
  local others
  others=$(find "$dir" -maxdepth 1 -name '*.y*ml' | while read -r f; do
    [ -e "$SRC/deploy/examples/zones.d/$(basename "$f")" ] || echo "$f"; done)
  [ -z "$others" ] || warn "$dir also holds other zone files; they are merged with the example: $others"
  log "installed the example zone files into $dir"
}

install_unit() {
  install -d -m 0755 "$UNIT_DIR"
  local exec="$BIN run"
  [ "$CONF" = /etc/zonewall/zonewall.yaml ] || exec="$BIN --config $CONF run"
  sed -e "s#^ExecStart=.*#ExecStart=$exec#" "$SRC/deploy/zonewall.service" >"$UNIT.new"
  chmod 0644 "$UNIT.new"
  mv -f "$UNIT.new" "$UNIT"
  log "installed $UNIT"
  if use_systemd; then systemctl daemon-reload; fi
}

# running_containers: how many containers Docker runs now (0 when Docker
# is absent or does not answer).
running_containers() {
  command -v docker >/dev/null || { echo 0; return; }
  local ids
  ids=$(timeout 10 docker ps -q 2>/dev/null) || { echo 0; return; }
  echo "$ids" | grep -c . || true
}

# install_observe writes a policy that only observes: audit mode, no zones.
# Nothing is dropped; would-be drops are logged and every connection is
# recorded for `zonewall learn`.
install_observe() {
  local f=$1/00-observe.yaml
  cat >"$f.new" <<'YAML'
# Installed by deploy/install.sh: observe first. In audit mode zonewall drops
# nothing; it logs what it would drop and records every connection opened by
# or to a container. Then:
#   zonewall learn --out /tmp/learned      # propose zones, flows and tests
#   (review /tmp/learned, copy learned.yaml into this directory)
#   zonewall check && zonewall test ...    # offline checks
#   rm this file                           # the daemon reloads and enforces
settings:
  mode: audit
YAML
  chmod 0644 "$f.new"
  mv -f "$f.new" "$f"
  log "installed $f: audit mode (observe, drop nothing)"
}

has_zone_files() {
  [ -n "$(find "$1" -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) -print -quit 2>/dev/null)" ]
}

wait_for_status() {
  local pid=${1:-}
  for _ in $(seq 1 150); do
    # Any answer counts (status exits 1 when degraded, e.g. Docker down).
    if [ -n "$("$BIN" --config "$CONF" status 2>/dev/null || true)" ]; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "zonewall exited; last lines of $LOG_FILE:" >&2
      tail -20 "$LOG_FILE" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  echo "zonewall status did not answer within 30 s" >&2
  return 1
}

start_daemon() {
  if use_systemd; then
    systemctl enable zonewall.service >/dev/null 2>&1 || die "systemctl enable zonewall.service failed"
    # restart, not start: a re-install must run the new binary.
    systemctl restart zonewall.service ||
      { journalctl -u zonewall.service -n 20 --no-pager >&2 || true; die "zonewall.service did not start"; }
    wait_for_status || die "zonewall.service started but does not answer; see journalctl -u zonewall"
  else
    stop_background_daemon
    install -d -m 0700 "$RUN_DIR" "$STATE_DIR"
    install -d -m 0755 "$(dirname "$LOG_FILE")"
    log "starting zonewall run in the background (no systemd); log: $LOG_FILE"
    setsid "$BIN" --config "$CONF" run >>"$LOG_FILE" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$PID_FILE"
    wait_for_status "$pid" || die "zonewall did not come up"
    log "zonewall is running (pid $pid, PID file $PID_FILE)"
  fi
  "$BIN" --config "$CONF" status || warn "zonewall reports itself degraded (see above)"
}

install_all() {
  [ -f "$SRC/deploy/zonewall.service" ] || die "run me from a zonewall checkout ($SRC has no deploy/zonewall.service)"
  install_prerequisites
  install_binary
  install_config
  local zones
  zones=$(config_value zones_dir)
  zones=${zones:-$ETC_DIR/zones.d}
  install -d -m 0755 "$zones"
  AUDIT=0
  if [ "$ENFORCE" = 0 ] && [ "$(running_containers)" -gt 0 ]; then
    AUDIT=1
    log "containers are running: zonewall starts in audit mode (observe, drop nothing); --enforce enforces at once"
  fi
  [ "$EXAMPLE" = 0 ] || install_examples "$zones"
  if [ "$AUDIT" = 1 ] && ! has_zone_files "$zones"; then
    install_observe "$zones"
  fi
  install_unit

  if ! has_zone_files "$zones"; then
    # Deny by default: starting with no zones would cut off every container.
    log "no zone files in $zones: installed, not started. Add zone files, then start zonewall"
    return
  fi
  if ! "$BIN" --config "$CONF" check "$zones"; then
    [ "$START" = 1 ] && die "the zone files in $zones are invalid: not starting zonewall"
    warn "the zone files in $zones are invalid; fix them before starting zonewall"
    return
  fi
  if [ "$START" = 0 ]; then
    log "installed; not started (--no-start)"
    return
  fi
  start_daemon
}

if [ "$UNINSTALL" = 1 ]; then
  uninstall
else
  install_all
fi
