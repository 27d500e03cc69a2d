package daemon

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/observe"
)

// fakeConnEvents is a kernel event source fed by the test.
type fakeConnEvents struct {
	ch     chan ConnEvent
	mu     sync.Mutex
	opened int
	closed int
}

func newFakeConnEvents() *fakeConnEvents { return &fakeConnEvents{ch: make(chan ConnEvent, 64)} }

func (f *fakeConnEvents) open() (ConnReader, error) {
	f.mu.Lock()
	f.opened++
	f.mu.Unlock()
	return fakeConnReader{f}, nil
}

func (f *fakeConnEvents) counts() (opened, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened, f.closed
}

type fakeConnReader struct{ f *fakeConnEvents }

func (r fakeConnReader) Read(ctx context.Context) (ConnEvent, error) {
	select {
	case <-ctx.Done():
		return ConnEvent{}, ctx.Err()
	case ev := <-r.f.ch:
		return ev, nil
	}
}

func (r fakeConnReader) Close() error {
	r.f.mu.Lock()
	r.f.closed++
	r.f.mu.Unlock()
	return nil
}

func auditZones() string { return zonesYAML + "settings:\n  mode: audit\n" }

func composeContainer(id, name, project, service, ip string) func(h *harness) {
	return func(h *harness) {
		c := testContainer(id, name, "shop", ip)
		c.Labels = map[string]string{"com.docker.compose.project": project, "com.docker.compose.service": service}
		h.inv.add(c)
	}
}

func (h *harness) observations() []observe.Observation { return h.d.Observations(0).Items }

// In audit mode, every new connection with a container on one side is an
// observation (allowed or not); traffic between non-containers is not;
// the source port never matters.
func TestObservesConnectionsInAudit(t *testing.T) {
	h := newHarness(t, auditZones())
	h.inv.synced.Store(true)
	composeContainer("aaaa1", "shop-web-1", "shop", "web", "172.30.0.2")(h)
	h.inv.add(testContainer("bbbb1", "db-1", "shop", "172.30.0.3"))
	ev := newFakeConnEvents()
	h.start(func(c *Config) { c.ConnEvents = ev.open })
	h.waitFor("observing", func() bool { o, _ := ev.counts(); return o == 1 })
	h.waitFor("synced", func() bool { return h.d.Status().Synced })

	web, db, host := netip.MustParseAddr("172.30.0.2"), netip.MustParseAddr("172.30.0.3"), netip.MustParseAddr("10.99.0.1")
	world := netip.MustParseAddr("198.51.100.2")
	for i := 0; i < 3; i++ {
		ev.ch <- ConnEvent{Proto: 6, Src: web, Dst: db, DstPort: 5432}
	}
	ev.ch <- ConnEvent{Proto: 6, Src: db, Dst: web, DstPort: 8080} // not allowed by the policy: observed all the same
	ev.ch <- ConnEvent{Proto: 6, Src: web, Dst: host, DstPort: 9100}
	ev.ch <- ConnEvent{Proto: 17, Src: web, Dst: world, DstPort: 53}
	ev.ch <- ConnEvent{Proto: 1, Src: world, Dst: web, DstPort: 777}  // icmp: no port
	ev.ch <- ConnEvent{Proto: 6, Src: host, Dst: world, DstPort: 443} // the host's own: not ours
	h.waitFor("observations", func() bool { return h.d.Observations(0).Stats.Recorded == 7 })

	var got []string
	for _, o := range h.observations() {
		got = append(got, describe(o))
	}
	want := []string{
		"container shop/web -> container db-1 tcp/5432 x3",
		"container shop/web -> host tcp/9100 x1",
		"container shop/web -> world 198.51.100.2 udp/53 x1",
		"container db-1 -> container shop/web tcp/8080 x1",
		"world 198.51.100.2 -> container shop/web icmp/0 x1",
	}
	if strings.Join(sortedCopy(got), "\n") != strings.Join(sortedCopy(want), "\n") {
		t.Errorf("observations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, o := range h.observations() {
		if o.From.Name == "db-1" && o.From.Zone != "db" {
			t.Errorf("db-1 observed in zone %q, want db", o.From.Zone)
		}
	}
	st := h.d.Status()
	if !strings.Contains(st.Observing, "conntrack") || st.Observations.Keys != 5 {
		t.Errorf("status observing %q, %+v", st.Observing, st.Observations)
	}

	// Enforce mode stops reading events: drops are what is recorded then.
	h.writeZones(zonesYAML)
	h.d.Reload()
	h.waitFor("events closed", func() bool { _, c := ev.counts(); return c == 1 })
	if st := h.d.Status(); !strings.HasPrefix(st.Observing, "enforce") {
		t.Errorf("observing %q in enforce mode", st.Observing)
	}
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: "zw:drop:x ", Proto: 6, Src: db, Dst: web, DstPort: 22, SrcPort: 40000})
	found := false
	for _, o := range h.observations() {
		if o.Port == 22 && o.From.Name == "db-1" {
			found = true
		}
	}
	if !found {
		t.Error("a drop in enforce mode was not observed")
	}
}

func describe(o observe.Observation) string {
	side := func(e observe.Endpoint) string {
		switch {
		case e.Compose != "":
			return e.Kind + " " + e.Compose
		case e.Name != "":
			return e.Kind + " " + e.Name
		case e.Addr.IsValid():
			return e.Kind + " " + e.Addr.String()
		}
		return e.Kind
	}
	return side(o.From) + " -> " + side(o.To) + " " + o.Proto + "/" + itoa(int(o.Port)) + " x" + itoa(int(o.Count))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Observations are saved in state_dir and survive a restart; a corrupt
// file is set aside and reported, and the daemon runs on.
func TestObservationsSurviveRestart(t *testing.T) {
	h := newHarness(t, auditZones())
	h.inv.synced.Store(true)
	composeContainer("aaaa1", "shop-web-1", "shop", "web", "172.30.0.2")(h)
	ev := newFakeConnEvents()
	h.start(func(c *Config) { c.ConnEvents = ev.open })
	h.waitFor("synced", func() bool { return h.d.Status().Synced })
	h.waitFor("observing", func() bool { o, _ := ev.counts(); return o == 1 })
	ev.ch <- ConnEvent{Proto: 6, Src: netip.MustParseAddr("172.30.0.2"), Dst: netip.MustParseAddr("198.51.100.2"), DstPort: 443}
	h.waitFor("recorded", func() bool { return h.d.Observations(0).Stats.Keys == 1 })
	h.stopDaemon()
	path := filepath.Join(h.store.Dir(), observe.FileName)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("observations not saved on stop: %v", err)
	}

	h2 := newHarness(t, auditZones())
	h2.store = h.store
	h2.inv.synced.Store(true)
	h2.start(nil)
	h2.waitFor("loaded", func() bool { return h2.d.Observations(0).Stats.Keys == 1 })
	if o := h2.observations()[0]; o.To.Addr.String() != "198.51.100.2" || o.Port != 443 || o.Count != 1 {
		t.Errorf("after restart: %+v", o)
	}
	h2.stopDaemon()

	if err := os.WriteFile(path, []byte("{\"version\": 1, \"entries\": [[9"), 0o600); err != nil {
		t.Fatal(err)
	}
	h3 := newHarness(t, auditZones())
	h3.store = h.store
	h3.inv.synced.Store(true)
	h3.start(nil)
	h3.waitFor("status", func() bool { return h3.d.Status().Observations.SetAside != "" })
	st := h3.d.Status()
	if st.Observations.Keys != 0 || !strings.HasPrefix(st.Observations.SetAside, observe.FileName+".corrupt-") {
		t.Errorf("after a corrupt file: %+v", st.Observations)
	}
	if _, err := os.Stat(filepath.Join(h.store.Dir(), st.Observations.SetAside)); err != nil {
		t.Errorf("set-aside file: %v", err)
	}
}

// fakeHealthInventory is a Docker that can be unreachable.
type fakeHealthInventory struct {
	*fakeInventory
	down atomic.Value // string
}

func (f *fakeHealthInventory) Unreachable() string { return f.down.Load().(string) }

func TestDegraded(t *testing.T) {
	// No valid policy.
	h := newHarness(t, "zones: [\n")
	h.inv.synced.Store(true)
	h.start(nil)
	h.waitFor("reload error", func() bool { return h.d.Status().Policy.LastError != nil })
	if d := h.d.Status().Degraded; len(d) != 1 || !strings.HasPrefix(d[0], "no valid policy") {
		t.Errorf("degraded = %q", d)
	}
	h.stopDaemon()

	// Docker unreachable, then the last apply failing.
	h2 := newHarness(t, zonesYAML)
	inv := &fakeHealthInventory{fakeInventory: h2.inv}
	inv.down.Store("dial unix /var/run/docker.sock: connection refused")
	h2.inv.synced.Store(true)
	h2.kernel.failNext = 1000
	h2.start(func(c *Config) { c.Inventory = inv; c.RetryMax = 20 * time.Millisecond })
	h2.waitFor("failed apply", func() bool { return h2.applyCount() > 0 })
	h2.waitFor("degraded", func() bool { return len(h2.d.Status().Degraded) == 2 })
	d := h2.d.Status().Degraded
	if !strings.HasPrefix(d[0], "docker unreachable: dial unix") || !strings.HasPrefix(d[1], "last apply failed") {
		t.Errorf("degraded = %q", d)
	}
	h2.kernel.set(func(k *fakeKernel) { k.failNext = 0 })
	h2.waitFor("healthy apply", func() bool { return len(h2.d.Status().Degraded) == 1 })
	inv.down.Store("")
	h2.waitFor("healthy", func() bool { return len(h2.d.Status().Degraded) == 0 })
}

// TestMemory100kObservations: the daemon's Go heap after recording
// 100,000 distinct connections (the figure; the whole daemon,
// inventory and ruleset included, must stay under 40 MB).
func TestMemory100kObservations(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	h := newHarness(t, auditZones())
	h.inv.synced.Store(true)
	composeContainer("aaaa1", "shop-web-1", "shop", "web", "172.30.0.2")(h)
	h.start(nil)
	h.waitFor("synced", func() bool { return h.d.Status().Synced })
	heap := func() (uint64, uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, m.Sys
	}
	before, _ := heap()
	web := netip.MustParseAddr("172.30.0.2")
	for i := 0; i < 100_000; i++ {
		dst := netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)})
		h.d.RecordConn(ConnEvent{Time: time.Now(), Proto: 6, Src: web, Dst: dst, DstPort: 443})
	}
	after, sys := heap()
	st := h.d.Status().Observations
	if st.Keys != 100_000 {
		t.Fatalf("%d keys, want 100,000", st.Keys)
	}
	t.Logf("100,000 observations: heap +%.1f MB (heap %.1f MB, Go runtime total %.1f MB)",
		float64(after-before)/(1<<20), float64(after)/(1<<20), float64(sys)/(1<<20))
	if after > 40<<20 {
		t.Errorf("heap %.1f MB with 100,000 observations (> 40 MB)", float64(after)/(1<<20))
	}
}
