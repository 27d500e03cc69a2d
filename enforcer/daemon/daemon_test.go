package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/state"
)

const zonesYAML = `zones:
  web:
    members:
      - name: "web-*"
  db:
    members:
      - name: "db-*"
flows:
  - name: public-web
    from: world
    to: web
    ports: [tcp/80]
  - from: web
    to: db
    ports: [tcp/5432]
`

type harness struct {
	t      *testing.T
	dir    string
	inv    *fakeInventory
	kernel *fakeKernel
	notify *fakeNotifier
	stop   *fakeStopper
	store  *state.Store
	d      *Daemon
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, zoneFile string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), inv: &fakeInventory{}, kernel: newFakeKernel(), notify: &fakeNotifier{}, stop: &fakeStopper{}}
	if zoneFile != "" {
		h.writeZones(zoneFile)
	}
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	return h
}

func (h *harness) writeZones(content string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "shop.yaml"), []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (h *harness) start(mod func(*Config)) {
	h.t.Helper()
	cfg := Config{
		ZonesDir: h.dir, Engine: PolicyEngine{CompileFunc: fakeCompile}, Kernel: h.kernel, Inventory: h.inv,
		Log: testLogger(h.t), Store: h.store, Stopper: h.stop, Notify: h.notify,
		HostAddrs: func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.99.0.1")} },
	}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); d.Run(ctx) }()
	h.t.Cleanup(h.stopDaemon)
}

func (h *harness) stopDaemon() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.cancel = nil
}

// waitFor polls cond for up to 2 s.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) applyCount() int { return len(h.kernel.history()) }

// Without saved state and with Docker down, the policy is applied with an
// empty inventory (every container port unknown, hence dropped) and READY
// is sent at once: the unit is ordered before docker.service.
func TestBaselineAndReadyBeforeDocker(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.start(nil)
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
	for range 20 {
		h.d.Changed()
	}
	time.Sleep(200 * time.Millisecond)
	hist := h.kernel.history()
	if len(hist) != 1 {
		t.Fatalf("%d applies before Docker's first full inventory, want only the baseline", len(hist))
	}
	if b := hist[0]; !b.full || b.text != "# 2 zones 2 flows\n" {
		t.Fatalf("baseline = %+v, want a full apply of the policy with no containers", b)
	}
	if st := h.d.Status(); st.Synced || st.BootFromState || st.LastApply == nil || !strings.Contains(st.LastApply.Reason, "baseline") {
		t.Fatalf("status after baseline: synced %v, boot %v, last apply %+v", st.Synced, st.BootFromState, st.LastApply)
	}
	if _, ok, _ := h.store.LoadApplied(); ok {
		t.Fatal("the baseline was saved as the last applied ruleset")
	}
	h.inv.synced.Store(true)
	h.d.Changed()
	h.waitFor("apply from Docker's inventory", func() bool { return h.applyCount() == 2 })
	if a := h.kernel.history()[1]; !strings.Contains(a.text, "web web-1 172.30.0.2") {
		t.Fatalf("sync apply = %+v, want web-1 in zone web", a)
	}
	if n := h.notify.ready.Load(); n != 1 {
		t.Fatalf("READY sent %d times, want once", n)
	}
}

// A policy reload while Docker is still down replaces the baseline.
func TestBaselineFollowsPolicyReload(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.start(nil)
	h.waitFor("baseline", func() bool { return h.applyCount() == 1 })
	h.writeZones(zonesYAML + "  - from: db\n    to: db\n")
	h.d.Reload()
	h.waitFor("baseline of the new policy", func() bool { return h.applyCount() == 2 })
	if a := h.kernel.history()[1]; a.text != "# 2 zones 3 flows\n" {
		t.Fatalf("second baseline = %q, want the reloaded policy with no containers", a.text)
	}
	time.Sleep(100 * time.Millisecond)
	if n := h.applyCount(); n != 2 {
		t.Fatalf("%d applies, want 2 (one baseline per policy)", n)
	}
}

// Broken zone files, a saved policy but no applied ruleset (Docker was never
// read): the baseline is built from the saved policy.
func TestBaselineFromSavedPolicy(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.start(nil)
	h.waitFor("first baseline", func() bool { return h.applyCount() == 1 })
	h.stopDaemon()

	h2 := newHarness(t, "zones: [\n")
	h2.store = h.store
	h2.start(nil)
	h2.waitFor("READY", func() bool { return h2.notify.ready.Load() == 1 })
	if a := h2.kernel.history(); len(a) != 1 || a[0].text != "# 2 zones 2 flows\n" {
		t.Fatalf("applies = %+v, want the saved policy's baseline", a)
	}
	if st := h2.d.Status(); st.Policy.Source != "state" || st.BootFromState {
		t.Fatalf("policy source %q, boot from state %v; want state and false", st.Policy.Source, st.BootFromState)
	}
}

// A baseline the kernel rejects is retried; READY waits for it.
func TestBaselineRetriedAfterFailure(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.kernel.set(func(k *fakeKernel) { k.failNext = 2 })
	h.start(func(c *Config) { c.RetryMin = 5 * time.Millisecond })
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
	hist := h.kernel.history()
	if len(hist) != 3 || hist[0].err == nil || hist[1].err == nil || hist[2].err != nil {
		t.Fatalf("applies = %+v, want two failures then the baseline", hist)
	}
}

// No zone files and no saved policy: nothing to enforce, READY anyway (a
// held-back READY would only stall Docker's start), and nothing applied.
// Without a valid policy and without a saved ruleset, the daemon is not
// ready (the unit fails to start, visibly) and applies nothing; it becomes
// ready once valid zone files appear.
func TestNotReadyWithoutAnyPolicy(t *testing.T) {
	h := newHarness(t, "")
	h.start(nil)
	h.inv.synced.Store(true)
	h.d.Changed()
	time.Sleep(100 * time.Millisecond)
	if n := h.applyCount(); n != 0 {
		t.Fatalf("%d applies without a policy, want 0", n)
	}
	if n := h.notify.ready.Load(); n != 0 {
		t.Fatalf("READY sent %d times without a policy or saved ruleset", n)
	}
	if d := h.d.Status().Degraded; len(d) == 0 {
		t.Error("status not degraded without a policy")
	}
	h.writeZones(zonesYAML)
	h.d.Reload()
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
}

func TestBurstIsCoalesced(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.kernel.delay = 2 * time.Millisecond // like a netlink transaction
	h.start(nil)
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })

	start := time.Now()
	for i := range 200 {
		h.inv.add(testContainer(fmt.Sprintf("c%04d", i), fmt.Sprintf("web-%d", i), "shop", fmt.Sprintf("172.30.%d.%d", i/250, i%250+2)))
		h.d.Changed()
		// Docker's events arrive spread out, not all at once: one per ms.
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * time.Millisecond)))
	}
	burst := time.Since(start)
	h.waitFor("all 200 containers applied", func() bool {
		hist := h.kernel.history()
		return strings.Count(hist[len(hist)-1].text, " web-") == 200
	})
	time.Sleep(50 * time.Millisecond)
	applies := h.applyCount() - 1
	// Bounded frequency: the burst allowance (4), then at most one apply per
	// MinInterval (20 ms) during the burst, plus the trailing one.
	limit := 4 + int(burst/(20*time.Millisecond)) + 3 // + trailing runs and timer slack
	t.Logf("200 change notifications over %v -> %d applies (limit %d)", burst.Round(time.Millisecond), applies, limit)
	if applies > limit || applies > 40 {
		t.Fatalf("200 change notifications over %v caused %d applies, want at most %d", burst, applies, limit)
	}
	for _, a := range h.kernel.history()[1:] {
		if a.full {
			t.Fatal("a container change caused a full rebuild; want element diffs")
		}
	}
}

func TestChangeAppliedQuicklyWhenIdle(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.start(nil)
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	var worst time.Duration
	for i := range 20 {
		time.Sleep(30 * time.Millisecond) // idle again
		n := h.applyCount()
		h.inv.add(testContainer(fmt.Sprintf("d%04d", i), fmt.Sprintf("db-%d", i), "shop", fmt.Sprintf("172.31.0.%d", i+2)))
		start := time.Now()
		h.d.Changed()
		h.waitFor("apply", func() bool { return h.applyCount() > n })
		if lat := h.kernel.history()[n].at.Sub(start); lat > worst {
			worst = lat
		}
	}
	t.Logf("worst latency from Changed to Apply when idle: %v", worst)
	if worst > 20*time.Millisecond {
		t.Fatalf("a change waited %v before being applied, want a few ms", worst)
	}
}

func TestInvalidPolicyKeepsTheOldOne(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.start(func(c *Config) { c.WatchZonesDir = true })
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	before := h.kernel.history()[0].text

	h.writeZones(strings.Replace(zonesYAML, "to: db", "to: dbb", 1))
	h.waitFor("reload failure", func() bool { return h.d.Status().ReloadFailures == 1 })
	st := h.d.Status()
	if st.Policy.LastError == nil || len(st.Policy.LastError.Errors) == 0 {
		t.Fatal("status shows no reload error")
	}
	msg := st.Policy.LastError.Errors[0]
	if !strings.Contains(msg, "shop.yaml:") || !strings.Contains(msg, `"dbb"`) {
		t.Fatalf("reload error %q does not name file:line:col and the bad zone", msg)
	}
	if st.Policy.Zones != 2 || st.Policy.Flows != 2 || st.Policy.Source != "zones_dir" {
		t.Fatalf("policy after failed reload = %+v, want the old one (2 zones, 2 flows)", st.Policy)
	}
	for _, a := range h.kernel.history() {
		if a.text != before {
			t.Fatalf("a ruleset from the invalid policy was applied:\n%s", a.text)
		}
	}
	// A fixed file is picked up and clears the error.
	h.writeZones(zonesYAML + "  - from: db\n    to: db\n    ports: [tcp/5432]\n")
	h.waitFor("reload", func() bool { return h.d.Status().Policy.Flows == 3 })
	if h.d.Status().Policy.LastError != nil {
		t.Fatal("reload error still shown after a valid reload")
	}
	h.waitFor("apply of the new policy", func() bool {
		hist := h.kernel.history()
		return strings.Contains(hist[len(hist)-1].text, "3 flows") && hist[len(hist)-1].full
	})
}

func TestDriftCausesRebuild(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.start(func(c *Config) { c.VerifyInterval = 20 * time.Millisecond })
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	h.kernel.set(func(k *fakeKernel) { k.drift = true })
	h.waitFor("rebuild", func() bool { return h.applyCount() == 2 })
	if a := h.kernel.history()[1]; !a.full {
		t.Fatal("drift was repaired with an incremental apply, want a full rebuild")
	}
	if n := h.d.Status().DriftRepairs; n != 1 {
		t.Fatalf("drift repairs = %d, want 1", n)
	}
}

func TestApplyFailureMeansFullRebuildNext(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.start(func(c *Config) { c.RetryMin = 10 * time.Millisecond })
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	h.kernel.set(func(k *fakeKernel) { k.failNext = 1 })
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.d.Changed()
	h.waitFor("retry", func() bool { return h.applyCount() == 3 })
	hist := h.kernel.history()
	if hist[1].full || hist[1].err == nil {
		t.Fatalf("second apply = %+v, want a failed incremental one", hist[1])
	}
	if !hist[2].full || hist[2].err != nil {
		t.Fatalf("apply after a failure = %+v, want a successful full rebuild", hist[2])
	}
	st := h.d.Status()
	if st.ApplyFailures != 1 || st.LastApply == nil || st.LastApply.Error != "" || !st.LastApply.Full {
		t.Fatalf("status after recovery = failures %d, last %+v", st.ApplyFailures, st.LastApply)
	}
}

func TestBootFromState(t *testing.T) {
	// A first daemon applies and saves its state.
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.start(nil)
	h.waitFor("apply", func() bool { return h.applyCount() == 1 })
	h.stopDaemon()
	if _, ok, _ := h.store.LoadApplied(); !ok {
		t.Fatal("no applied state saved")
	}

	// The next boot: Docker is down, and the zone files were broken meanwhile.
	h2 := newHarness(t, "zones: [\n")
	h2.store = h.store
	h2.start(nil)
	h2.waitFor("boot apply", func() bool { return h2.applyCount() == 1 })
	a := h2.kernel.history()[0]
	if !a.full || !strings.Contains(a.text, "web web-1 172.30.0.2") {
		t.Fatalf("boot apply = %+v, want the saved ruleset as a full rebuild", a)
	}
	h2.waitFor("READY", func() bool { return h2.notify.ready.Load() == 1 })
	if h2.inv.Synced() {
		t.Fatal("test broken: Docker must be down here")
	}
	h2.waitFor("boot recorded", func() bool { return h2.d.Status().BootFromState })
	st := h2.d.Status()
	if !st.BootFromState || st.Synced || st.Policy.Source != "state" || st.Policy.LastError == nil {
		t.Fatalf("status = boot %v synced %v source %q lastError %v", st.BootFromState, st.Synced, st.Policy.Source, st.Policy.LastError)
	}
	time.Sleep(100 * time.Millisecond)
	if n := h2.applyCount(); n != 1 {
		t.Fatalf("%d applies while Docker is unavailable, want only the boot one", n)
	}
}

func TestHostNetworkStop(t *testing.T) {
	h := newHarness(t, zonesYAML+"settings:\n  host_network: stop\n")
	h.inv.synced.Store(true)
	c := testContainer("hhhh1", "web-host", "host", "10.99.0.1")
	c.Endpoints = nil
	h.inv.add(c)
	h.start(nil)
	h.waitFor("stop", func() bool {
		h.stop.mu.Lock()
		defer h.stop.mu.Unlock()
		return len(h.stop.stopped) == 1 && h.stop.stopped[0] == "hhhh1"
	})
	h.d.Changed()
	time.Sleep(50 * time.Millisecond)
	if len(h.stop.stopped) != 1 {
		t.Fatalf("stopped %v, want hhhh1 once", h.stop.stopped)
	}
}

func TestStopLeavesRulesetAndSignalsStopping(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.start(nil)
	h.waitFor("apply", func() bool { return h.applyCount() == 1 })
	h.stopDaemon()
	if h.notify.stopping.Load() != 1 {
		t.Fatal("STOPPING not sent")
	}
	// The fake kernel has no Cleanup: the daemon cannot have removed anything.
	if _, ok, _ := h.store.LoadApplied(); !ok {
		t.Fatal("state not flushed on shutdown")
	}
}

func TestZonesDirCreatedLater(t *testing.T) {
	h := newHarness(t, "")
	h.dir = filepath.Join(h.dir, "later")
	h.inv.synced.Store(true)
	h.start(func(c *Config) { c.WatchZonesDir = true })
	time.Sleep(100 * time.Millisecond)
	if st := h.d.Status(); st.Policy.Source != "none" || st.Applies != 0 {
		t.Fatalf("without zone files: source %q, %d applies; want none and 0", st.Policy.Source, st.Applies)
	}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.writeZones(zonesYAML)
	deadline := time.Now().Add(5 * time.Second)
	for h.d.Status().Applies == 0 {
		if time.Now().After(deadline) {
			t.Fatal("zone files in a directory created after start were never applied")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnchangedInventoryCostsNoApply(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.start(nil)
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	for range 5 {
		h.d.Changed() // e.g. health-check events: nothing we enforce changed
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := h.applyCount(); n != 1 {
		t.Fatalf("%d applies for an unchanged inventory, want 1", n)
	}
	h.inv.add(testContainer("bbbb2", "db-1", "shop", "172.30.0.3"))
	h.d.Changed()
	h.waitFor("apply of the change", func() bool { return h.applyCount() == 2 })
}
