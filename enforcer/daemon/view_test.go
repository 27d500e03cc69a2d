package daemon

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// countingEngine counts membership matches.
type countingEngine struct {
	PolicyEngine
	zoneOf *atomic.Int64
}

func (e countingEngine) ZoneOf(p *zones.Policy, c zones.Container) zones.Membership {
	e.zoneOf.Add(1)
	return e.PolicyEngine.ZoneOf(p, c)
}

// revInventory numbers its snapshots as enforcer/docker's Tracker does.
type revInventory struct {
	*fakeInventory
	rev atomic.Uint64
}

func (r *revInventory) SnapshotRev() (enforcer.Inventory, uint64) {
	return r.Snapshot(), r.rev.Load()
}

func viewDaemon(t *testing.T, calls *atomic.Int64) (*Daemon, *zones.Policy) {
	t.Helper()
	h := newHarness(t, zonesYAML)
	p, err := zones.Load(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Engine: countingEngine{PolicyEngine{CompileFunc: fakeCompile}, calls}, Kernel: h.kernel, Inventory: h.inv, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return d, p
}

func revisionedContainers(n int) []enforcer.Container {
	out := make([]enforcer.Container, n)
	for i := range out {
		out[i] = testContainer(fmt.Sprintf("c%05d", i), fmt.Sprintf("web-%d", i), "shop", fmt.Sprintf("172.30.%d.%d", i/250, i%250+2))
		out[i].Rev = uint64(i + 1)
	}
	return out
}

// A sync after one change matches the changed containers only; the view
// equals one built from scratch.
func TestViewMatchesOnlyChangedContainers(t *testing.T) {
	var calls atomic.Int64
	d, p := viewDaemon(t, &calls)
	inv := enforcer.Inventory{Containers: revisionedContainers(200)}
	d.view = d.buildView(p, inv)
	if n := calls.Load(); n != 200 {
		t.Fatalf("first view matched %d containers, want 200", n)
	}

	next := enforcer.Inventory{Containers: append([]enforcer.Container(nil), inv.Containers...)}
	changed := next.Containers[7]
	changed.Name, changed.Rev = "db-7", 1000 // moves to zone db
	next.Containers[7] = changed
	added := testContainer("c99999", "db-new", "shop", "172.30.9.9") // Rev 0: never memoized
	next.Containers = append(next.Containers, added)
	calls.Store(0)
	v := d.buildView(p, next)
	if n := calls.Load(); n != 2 {
		t.Fatalf("view after one change and one add matched %d containers, want 2", n)
	}
	if v.members["c00007"].Zone != "db" || v.members["c99999"].Zone != "db" || v.members["c00008"].Zone != "web" {
		t.Fatalf("memberships: c00007 %q, c99999 %q, c00008 %q", v.members["c00007"].Zone, v.members["c99999"].Zone, v.members["c00008"].Zone)
	}
	d.view = nil
	fresh := d.buildView(p, next)
	if !maps.EqualFunc(v.members, fresh.members, func(a, b memberAt) bool { return reflect.DeepEqual(a, b) }) {
		t.Fatal("memoized memberships differ from a fresh view's")
	}

	// Another policy object: nothing is reused.
	other, err := zones.Load(mustDir(t))
	if err != nil {
		t.Fatal(err)
	}
	d.view = v
	calls.Store(0)
	d.buildView(other, next)
	if n := calls.Load(); n != int64(len(next.Containers)) {
		t.Fatalf("a new policy matched %d containers, want all %d", n, len(next.Containers))
	}
}

// The lookup index is built on first use and finds containers and host
// addresses.
func TestViewIndexIsLazy(t *testing.T) {
	var calls atomic.Int64
	d, p := viewDaemon(t, &calls)
	hostCalls := 0
	d.cfg.HostAddrs = func() []netip.Addr { hostCalls++; return []netip.Addr{netip.MustParseAddr("10.99.0.1")} }
	v := d.buildView(p, enforcer.Inventory{Containers: revisionedContainers(3)})
	if hostCalls != 0 {
		t.Fatalf("building a view listed host addresses %d times, want 0", hostCalls)
	}
	idx := v.index()
	if c := idx.byAddr[netip.MustParseAddr("172.30.0.3")]; c == nil || c.Name != "web-1" {
		t.Fatalf("byAddr 172.30.0.3 = %+v", c)
	}
	if idx.byName["web-2"] == nil || !idx.hostAddrs[netip.MustParseAddr("10.99.0.1")] || hostCalls != 1 {
		t.Fatalf("byName/hostAddrs wrong (host listed %d times)", hostCalls)
	}
}

// With a revisioned inventory, a notification whose revision is the last
// applied one compiles nothing, whatever the content comparison would say.
func TestSameRevisionSkipsCompile(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	ri := &revInventory{fakeInventory: h.inv}
	ri.rev.Store(5)
	h.start(func(c *Config) { c.Inventory = ri })
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	compiles, _, _ := h.d.ReconcileCounts()

	h.inv.add(testContainer("bbbb2222", "db-1", "shop", "172.30.0.3")) // same revision: not looked at
	h.d.Changed()
	time.Sleep(30 * time.Millisecond) // let that notification be served alone
	ri.rev.Store(6)                   // ... until the revision moves
	h.inv.add(testContainer("cccc3333", "db-2", "shop", "172.30.0.4"))
	h.d.Changed()
	h.waitFor("apply of revision 6", func() bool { return h.applyCount() == 2 })
	if c, _, _ := h.d.ReconcileCounts(); c != compiles+1 {
		t.Fatalf("compiles %d -> %d, want one more", compiles, c)
	}
}

func mustDir(t *testing.T) string {
	t.Helper()
	h := newHarness(t, zonesYAML)
	return h.dir
}
