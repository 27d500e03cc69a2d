package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/daemon"
	"github.com/zonewall/zonewall/enforcer/metrics"
	"github.com/zonewall/zonewall/enforcer/nft"
	"github.com/zonewall/zonewall/zones"
)

// lockedBuffer collects the daemon's log while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Fakes of the outside world: Docker never answers, the kernel accepts.
type runFakeKernel struct{}

func (k *runFakeKernel) Apply(daemon.Ruleset, bool) (daemon.ApplyStats, error) {
	return daemon.ApplyStats{Full: true}, nil
}
func (k *runFakeKernel) Verify() (error, error) { return nil, nil }

type runFakeRuleset struct{}

func (runFakeRuleset) String() string { return "table inet zonewall {}\n" }

type dockerDown struct{}

func (dockerDown) Synced() bool                 { return false }
func (dockerDown) Snapshot() enforcer.Inventory { return enforcer.Inventory{} }

type runFakeNotifier struct{ ready chan struct{} }

func (n runFakeNotifier) Ready()                        { close(n.ready) }
func (runFakeNotifier) Stopping()                       {}
func (runFakeNotifier) Watchdog()                       {}
func (runFakeNotifier) WatchdogInterval() time.Duration { return 0 }

// TestRunServesMetrics runs `zonewall run --metrics-listen 127.0.0.1:0`
// through the command line with fake Docker and nftables, and scrapes
// /metrics over loopback.
func TestRunServesMetrics(t *testing.T) {
	body, _ := scrapeRun(t, nil)
	for _, want := range []string{
		`zonewall_applies_total{kind="full",result="ok"} 1`, // the fail-closed baseline
		`zonewall_denied_packets_total{reason="no-flow-container"} 7`,
		`zonewall_build_info{goversion=`,
		"zonewall_docker_up 0\n",    // the fake Docker never answers
		"zonewall_policy_valid 1\n", // shop.yaml is valid and enforced
		`zonewall_last_apply_success_timestamp_seconds `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "zonewall_flow_") {
		t.Error("zonewall_flow_* exported without a counter source")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestRunServesFlowMetrics: the allow sets' counters (as nft.AllowCounters
// reports them) become zonewall_flow_* with verdict "allow"; before the
// first apply there are none, and the scrape still succeeds.
func TestRunServesFlowMetrics(t *testing.T) {
	applied := false
	var mu sync.Mutex
	read := func() ([]nft.AllowSample, error) {
		mu.Lock()
		defer mu.Unlock()
		if !applied {
			return nil, nft.ErrNotApplied
		}
		return []nft.AllowSample{{From: "world", To: "web", Flow: "public-web", Packets: 12, Bytes: 720}}, nil
	}
	body, url := scrapeRun(t, allowedFlows(read))
	if strings.Contains(body, "zonewall_flow_packets_total{") {
		t.Errorf("flow samples before anything was applied:\n%s", body)
	}
	mu.Lock()
	applied = true
	mu.Unlock()
	body = httpGet(t, url)
	for _, want := range []string{
		`zonewall_flow_packets_total{flow="public-web",from_zone="world",to_zone="web",verdict="allow"} 12`,
		`zonewall_flow_bytes_total{flow="public-web",from_zone="world",to_zone="web",verdict="allow"} 720`,
		`zonewall_denied_packets_total{reason="no-flow-container"} 7`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q\n%s", want, body)
		}
	}
}

// scrapeRun starts `zonewall run` with fake parts (flows as the flow
// counter source) and returns its first /metrics page and its address.
func scrapeRun(t *testing.T, flows metrics.CounterSource) (body, url string) {
	t.Helper()
	zonesDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(zonesDir, "shop.yaml"), []byte("zones:\n  web:\n    members:\n      - name: \"web-*\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A short path: unix socket paths are limited to 108 bytes.
	sockDir, err := os.MkdirTemp("", "zwtest-w-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })

	notify := runFakeNotifier{ready: make(chan struct{})}
	openParts = func(cfg config, log *slog.Logger) (daemonParts, func(), error) {
		return daemonParts{
			Compile: func(*zones.Policy, enforcer.Inventory) (daemon.Ruleset, []control.Finding) {
				return runFakeRuleset{}, nil
			},
			Kernel:       &runFakeKernel{},
			Inventory:    dockerDown{},
			RunInventory: func(ctx context.Context, _ func()) error { <-ctx.Done(); return nil },
			Notify:       notify,
			DenyCounters: func() (map[string]uint64, error) {
				return map[string]uint64{"no-flow-container": 7}, nil
			},
			FlowCounters: flows,
			DockerUp:     func() bool { return false },
		}, func() {}, nil
	}
	t.Cleanup(func() { openParts = openRealParts })

	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	cmd := newRootCommand()
	cmd.SetOut(io.Discard)
	cmd.SetErr(logs)
	conf := filepath.Join(t.TempDir(), "zonewall.yaml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs([]string{"--config", conf, "run", "--metrics-listen", "127.0.0.1:0",
		"--zones-dir", zonesDir, "--state-dir", filepath.Join(sockDir, "state"), "--socket", filepath.Join(sockDir, "zw.sock")})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("zonewall run: %v", err)
		}
	})

	select {
	case <-notify.ready:
	case err := <-done:
		t.Fatalf("zonewall run ended before READY: %v\n%s", err, logs)
	case <-time.After(5 * time.Second):
		t.Fatalf("no READY with Docker down\n%s", logs)
	}
	addrRE := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("metrics address never logged:\n%s", logs)
		}
	}
	url = "http://" + addr + "/metrics"
	return httpGet(t, url), url
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}
