package deploy

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unitCapabilities returns the unit's CapabilityBoundingSet as a setpriv
// --bounding-set argument ("-all,+net_admin,...").
func unitCapabilities(t *testing.T) string {
	t.Helper()
	unit := readFile(t, filepath.Join(repo, "deploy", "zonewall.service"))
	m := regexp.MustCompile(`(?m)^CapabilityBoundingSet=(.+)$`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("unit has no CapabilityBoundingSet")
	}
	set := "-all"
	for _, c := range strings.Fields(m[1]) {
		set += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return set
}

// The unit's promises, checked against the real binary: with only the
// unit's capabilities and no new privileges, `zonewall run` programs its
// table, tells systemd READY=1, pings the watchdog at the pace
// WATCHDOG_USEC asks, serves metrics, and says STOPPING=1 on SIGTERM.
// It runs in a throwaway network namespace; Docker is only read.
func TestDaemonKeepsTheUnitsPromises(t *testing.T) {
	requireTools(t, true, "ip", "nft", "setpriv", "busybox", "docker")
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatalf("docker is not running (ZW_REQUIRE_PRIV=1)")
		}
		t.Skip("docker is not running")
	}
	ns := newNetNS(t)
	// Its own policy, not the example: it must never stop a real container
	// (host_network: report), whatever the example says.
	dir, conf := writeDaemonConfig(t, "metrics_listen: 127.0.0.1:9477\n")

	notifyPath := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	cmd := exec.Command("ip", "netns", "exec", ns, "setpriv", "--bounding-set", unitCapabilities(t), "--inh-caps=-all",
		"--no-new-privs", zonewallBin, "--config", conf, "run")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath, "WATCHDOG_USEC=400000")
	logFile, err := os.Create(filepath.Join(dir, "zonewall.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	failf := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\ndaemon log:\n%s", append(args, readLog(logFile.Name()))...)
	}

	// READY=1 once the first ruleset is in the kernel, then watchdog pings.
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	var readyAt time.Time
	watchdogs := 0
	timeout := time.After(20 * time.Second)
	for watchdogs < 3 {
		select {
		case m, ok := <-msgs:
			if !ok {
				failf("notify socket closed")
			}
			switch {
			case strings.Contains(m, "READY=1"):
				readyAt = time.Now()
			case strings.Contains(m, "WATCHDOG=1"):
				watchdogs++
			}
		case err := <-exited:
			stopped = true
			failf("zonewall run exited: %v", err)
		case <-timeout:
			failf("after 20 s: ready %v, %d watchdog pings", !readyAt.IsZero(), watchdogs)
		}
	}
	if readyAt.IsZero() {
		failf("watchdog pings but no READY=1")
	}
	if time.Since(readyAt) > 3*time.Second {
		t.Errorf("3 watchdog pings took %v; WATCHDOG_USEC=400ms asks for one every 200 ms", time.Since(readyAt))
	}

	// The table is there, programmed with only the unit's capabilities.
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "zonewall").CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "netlink_parse_concat_expr") { // nft 1.0.6 cannot print some of our sets
		failf("no inet zonewall table after READY: %v\n%s", err, out)
	}
	// Metrics are served and count that apply.
	out, err := exec.Command("ip", "netns", "exec", ns, "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:9477/metrics").CombinedOutput()
	if err != nil || !regexp.MustCompile(`zonewall_applies_total\{kind="full",result="ok"\} [1-9]`).Match(out) {
		failf("metrics: %v\n%s", err, grepLines(string(out), "zonewall_applies_total"))
	}

	// SIGTERM: STOPPING=1 and a clean exit.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sawStopping := false
	deadline := time.After(10 * time.Second)
	for !stopped {
		select {
		case m, ok := <-msgs:
			if ok && strings.Contains(m, "STOPPING=1") {
				sawStopping = true
			}
		case err := <-exited:
			stopped = true
			if err != nil {
				failf("zonewall run after SIGTERM: %v", err)
			}
		case <-deadline:
			failf("zonewall run did not exit within 10 s of SIGTERM")
		}
	}
	// The last datagrams may still be queued when the exit is seen.
	for drain := time.After(500 * time.Millisecond); !sawStopping; {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("notify socket closed before STOPPING=1")
			}
			sawStopping = strings.Contains(m, "STOPPING=1")
		case <-drain:
			t.Fatal("no STOPPING=1 before exit")
		}
	}
	// The ruleset stays in the kernel after a stop (fail closed).
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "zonewall").CombinedOutput(); err != nil {
		t.Errorf("table gone after stop: %v\n%s", err, out)
	}
}

const testPolicy = `zones:
  zwtest-o-web:
    members:
      - name: "zwtest-o-web-*"
flows:
  - from: world
    to: zwtest-o-web
    ports: [tcp/80]
settings:
  host_network: report
`

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// writeDaemonConfig writes a zones dir holding testPolicy and a daemon config
// whose socket and state live in a fresh temp dir (plus extra YAML lines); it
// returns that dir and the config's path.
func writeDaemonConfig(t *testing.T, extra string) (dir, conf string) {
	t.Helper()
	dir = t.TempDir()
	zones := filepath.Join(dir, "zones.d")
	if err := os.MkdirAll(zones, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zones, "zwtest-o.yaml"), []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(dir, "zonewall.yaml")
	cfg := "zones_dir: " + zones + "\nsocket: " + filepath.Join(dir, "zw.sock") + "\nstate_dir: " + filepath.Join(dir, "state") + "\n" + extra
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}
