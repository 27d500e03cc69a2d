#!/bin/bash
# Proves zonewall's journald integration against a real systemd-journald,
# without touching the host's journal: a private journald in a throwaway
# mount namespace (tmpfs over /run and /var/log/journal) and network
# namespace (so `zonewall run` programs no table on the host).
#  1. drop records: the opt-in Go test sends one and reads its fields back;
#  2. priorities: `zonewall run` with its stderr on the journal stream (as
#     systemd starts it) logs errors that `journalctl -p err` finds.
# Needs root, systemd-journald, journalctl, systemd-cat, unshare. About 10 s.
set -eu
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
[ -x /lib/systemd/systemd-journald ] || { echo "journald.sh: no systemd-journald, skipped"; exit 0; }
if [ "${ZW_JOURNALD_INNER:-}" != 1 ]; then
  bin=$(mktemp -d /tmp/zwtest-j.XXXXXX)
  trap 'rm -rf "$bin"' EXIT
  go build -o "$bin/zonewall" ./cmd/zonewall
  go test -c -o "$bin/daemon.test" ./enforcer/daemon
  ZW_JOURNALD_INNER=1 ZW_BIN="$bin" exec unshare -m -n --propagation private "$0"
fi

mount -t tmpfs zwtest-j-run /run
[ -d /var/log/journal ] && mount -t tmpfs zwtest-j-journal /var/log/journal
mkdir -p /run/systemd/journal /run/log/journal
/lib/systemd/systemd-journald & jpid=$!
trap 'kill $jpid 2>/dev/null' EXIT
for _ in $(seq 50); do [ -S /run/systemd/journal/stdout ] && [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done

echo "== drop records"
ZW_JOURNAL_TEST=1 "$ZW_BIN/daemon.test" -test.run 'TestJournalDropRecord$' -test.v

echo "== priorities of zonewall run's log lines"
# systemd-cat connects stdout/stderr to the journal's stream socket; the
# variable systemd would set names that stream.
systemd-cat -t zwtest-j-run sh -c '
  JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec timeout -s TERM 3 "$0" run \
    --config /dev/null --zones-dir /run/zwtest-j-none --docker-host unix:///run/zwtest-j-none.sock \
    --state-dir /run/zwtest-j-state --socket /run/zwtest-j.sock' "$ZW_BIN/zonewall" || true
sleep 0.5
errs=$(journalctl --no-pager -t zwtest-j-run -p err -o cat)
warns=$(journalctl --no-pager -t zwtest-j-run -p warning -o cat)
all=$(journalctl --no-pager -t zwtest-j-run -o cat)
echo "$all" | head -20
echo "-- journalctl -p err:"; echo "$errs"
fail=0
[ -n "$errs" ] || { echo "FAIL: no error-priority line"; fail=1; }
echo "$errs" | grep -q 'level=INFO' && { echo "FAIL: an INFO line has error priority"; fail=1; }
echo "$all" | grep -q '^<[0-7]>' && { echo "FAIL: a priority prefix reached the message"; fail=1; }
[ "$(echo "$warns" | wc -l)" -gt "$(echo "$errs" | wc -l)" ] || { echo "FAIL: no warning-priority line"; fail=1; }
journalctl --no-pager -t zwtest-j-run -o export | grep -q '^PRIORITY=6' || { echo "FAIL: no info-priority line"; fail=1; }
[ $fail = 0 ] && echo "PASS: journald priorities"
exit $fail
