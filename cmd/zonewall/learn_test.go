package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/observe"
)

// learnDaemon is a fake daemon that answers observations.
type learnDaemon struct {
	fakeDaemon
	obs   control.Observations
	since time.Duration
}

func (d *learnDaemon) Observations(since time.Duration) control.Observations {
	d.since = since
	return d.obs
}

func learnObservations() []observe.Observation {
	t := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	web := observe.Endpoint{Kind: "container", Compose: "shop/web", Image: "zwtest/busybox:1"}
	api := observe.Endpoint{Kind: "container", Compose: "shop/api", Image: "zwtest/busybox:1", Zone: "api"}
	return []observe.Observation{
		{From: web, To: api, Proto: "tcp", Port: 8080, Count: 3, First: t, Last: t},
		{From: api, To: observe.Endpoint{Kind: "world", Addr: netip.MustParseAddr("198.51.100.2")}, Proto: "tcp", Port: 443, Count: 1, First: t, Last: t},
	}
}

func TestLearnWritesFilesThatPassCheckAndTest(t *testing.T) {
	d := &learnDaemon{obs: control.Observations{Mode: "audit", Items: learnObservations()}}
	sock := startFakeDaemon(t, d)
	out := t.TempDir()
	stdout, stderr, code := runDaemonCLI(t, "learn", "--socket", sock, "--out", out, "--since", "2h")
	if code != 0 {
		t.Fatalf("learn exit %d: %s %s", code, stdout, stderr)
	}
	if d.since != 2*time.Hour || !strings.Contains(stdout, "2 zones, 2 flows") {
		t.Errorf("since %v, output %q", d.since, stdout)
	}
	if _, stderr, code := runDaemonCLI(t, "check", out); code != 0 {
		t.Fatalf("check on the learned files: %d %s", code, stderr)
	}
	stdout, stderr, code = runDaemonCLI(t, "test", filepath.Join(out, "tests", "learned-test.yaml"), "--zones-dir", out)
	if code != 0 || !strings.Contains(stdout, "0 failed") {
		t.Fatalf("test on the learned files: %d %s %s", code, stdout, stderr)
	}
	first, _ := os.ReadFile(filepath.Join(out, "learned.yaml"))

	// Without --out, the zone file goes to stdout, byte for byte the same.
	stdout, _, code = runDaemonCLI(t, "learn", "--socket", sock)
	if code != 0 || stdout != string(first) {
		t.Fatalf("stdout differs from the written file (exit %d):\n%s", code, stdout)
	}
}

func TestLearnNothingObserved(t *testing.T) {
	sock := startFakeDaemon(t, &learnDaemon{obs: control.Observations{Mode: "enforce", Observing: "enforce: drops only"}})
	_, stderr, code := runDaemonCLI(t, "learn", "--socket", sock)
	if code != 1 || !strings.Contains(stderr, "no connections observed") || !strings.Contains(stderr, "audit") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestLearnExtend(t *testing.T) {
	zonesDir := t.TempDir()
	os.WriteFile(filepath.Join(zonesDir, "shop.yaml"), []byte("zones:\n  api:\n    members:\n      - compose: shop/api\n"+
		"flows:\n  - from: api\n    to: world\n    ports: [tcp/443]\n"), 0o644)
	sock := startFakeDaemon(t, &learnDaemon{obs: control.Observations{Mode: "audit", Items: learnObservations()}})
	stdout, stderr, code := runDaemonCLI(t, "learn", "--socket", sock, "--extend", "--zones-dir", zonesDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "tcp/443") || !strings.Contains(stdout, "to: api") || strings.Contains(stdout, "\n  api:") {
		t.Errorf("extend output:\n%s", stdout)
	}
	// All allowed already: says so, exit 0.
	os.WriteFile(filepath.Join(zonesDir, "more.yaml"), []byte("zones:\n  web:\n    members:\n      - compose: shop/web\n"+
		"flows:\n  - from: web\n    to: api\n    ports: [tcp/8080]\n"), 0o644)
	_, stderr, code = runDaemonCLI(t, "learn", "--socket", sock, "--extend", "--zones-dir", zonesDir)
	if code != 0 || !strings.Contains(stderr, "nothing to add") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestStatusDegradedExitsOne(t *testing.T) {
	sock := startFakeDaemon(t, &fakeDaemon{status: control.Status{Degraded: []string{"docker unreachable: refused"}}})
	stdout, stderr, code := runDaemonCLI(t, "status", "--socket", sock)
	if code != 1 || !strings.Contains(stdout, "DEGRADED") || !strings.Contains(stderr, "docker unreachable") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, _, code = runDaemonCLI(t, "status", "--socket", sock, "--json")
	if code != 1 {
		t.Fatalf("--json exit %d", code)
	}
	sock2 := startFakeDaemon(t, &fakeDaemon{status: control.Status{Mode: "enforce"}})
	if _, _, code := runDaemonCLI(t, "status", "--socket", sock2); code != 0 {
		t.Fatalf("healthy status exit %d", code)
	}
}
