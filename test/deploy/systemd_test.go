package deploy

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSystemctl stands in for systemctl where systemd is not PID 1: it
// records its calls and runs the installed unit's ExecStart on restart.
const fakeSystemctl = `#!/bin/bash
set -u
echo "systemctl $*" >>"$ZW_FAKE_STATE/calls"
unit=$ZW_FAKE_UNIT_DIR/zonewall.service
pidf=$ZW_FAKE_STATE/main.pid
stop() {
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidf"
}
case $1 in
  daemon-reload|enable) ;;
  cat) [ -f "$unit" ] ;;
  restart)
    stop
    read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
    setsid "${cmd[@]}" >>"$ZW_FAKE_STATE/daemon.log" 2>&1 </dev/null &
    echo $! >"$pidf" ;;
  disable) [ "$2" = --now ] && stop ;;
  *) echo "fake systemctl: unexpected $*" >&2; exit 1 ;;
esac
`

// install.sh's systemd path, against a stand-in systemctl: unit installed
// with this installation's paths, reloaded, enabled, restarted, status
// awaited; uninstall disables and stops it.
func TestInstallWithSystemctl(t *testing.T) {
	in := newInstallation(t)
	in.writeConfig()
	fake := filepath.Join(in.root, "fakebin")
	state := filepath.Join(in.root, "fakestate")
	for _, d := range []string{fake, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fake, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	in.systemd = "--systemd"
	in.env = []string{"PATH=" + fake + ":" + os.Getenv("PATH"), "ZW_FAKE_STATE=" + state, "ZW_FAKE_UNIT_DIR=" + in.unit}
	mainPID := func() int {
		b, _ := os.ReadFile(filepath.Join(state, "main.pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	t.Cleanup(func() {
		if pid := mainPID(); pid > 0 && processIsZonewall(pid) {
			_ = killPID(pid)
		}
	})

	out := in.mustScript("--example")
	calls := readFile(t, filepath.Join(state, "calls"))
	want := "systemctl daemon-reload\nsystemctl enable zonewall.service\nsystemctl restart zonewall.service\n"
	if calls != want {
		t.Errorf("systemctl calls:\n%s\nwant:\n%s", calls, want)
	}
	pid := mainPID()
	if pid == 0 || !processIsZonewall(pid) || !strings.Contains(out, "mode:") {
		t.Fatalf("the unit's ExecStart did not bring up a daemon that answers status (pid %d):\n%s\n%s",
			pid, out, readLog(filepath.Join(state, "daemon.log")))
	}
	if exists(in.pidFile()) {
		t.Error("a PID file was written although systemd manages the daemon")
	}

	in.mustScript("--uninstall")
	calls = readFile(t, filepath.Join(state, "calls"))
	if !strings.HasSuffix(calls, "systemctl cat zonewall.service\nsystemctl disable --now zonewall.service\nsystemctl daemon-reload\n") {
		t.Errorf("uninstall's systemctl calls:\n%s", calls)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processIsZonewall(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processIsZonewall(pid) {
		t.Errorf("daemon pid %d still runs after uninstall", pid)
	}
	if exists(filepath.Join(in.unit, "zonewall.service")) {
		t.Error("unit not removed")
	}
}
