package daemon

import (
	"strings"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// TestRealCompile runs the daemon with enforcer.Compile (only the kernel is
// fake): findings and log-prefix attribution come through the adapters.
func TestRealCompile(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.inv.Networks = []enforcer.Network{{ID: "n1", Name: "shop", Driver: "bridge", Bridge: "br-zwtestd"}}
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.inv.add(testContainer("cccc3333", "lonely", "shop", "172.30.0.4"))
	for i := range h.inv.inv.Containers {
		h.inv.inv.Containers[i].Endpoints[0].NetworkID = "n1"
	}
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
	})
	h.waitFor("apply", func() bool { return h.applyCount() == 1 })
	if text := h.kernel.history()[0].text; !strings.Contains(text, "table inet zonewall") {
		t.Fatalf("applied ruleset is not nft syntax:\n%s", text)
	}
	h.waitFor("status", func() bool { return h.d.Status().Synced })
	var unzoned bool
	for _, f := range h.d.Status().Reported {
		unzoned = unzoned || (f.Kind == "unzoned" && f.Container == "lonely")
	}
	if !unzoned {
		t.Fatalf("reported = %+v, want lonely unzoned", h.d.Status().Reported)
	}
	// Every log prefix the ruleset uses is attributed to what decided.
	h.d.mu.Lock()
	rs := h.d.lastRuleset.(compiledRuleset)
	h.d.mu.Unlock()
	if len(rs.LogPrefixes) == 0 {
		t.Fatal("compiled ruleset has no log prefixes")
	}
	for prefix := range rs.LogPrefixes {
		if rs.DropOrigin(prefix) == "" {
			t.Errorf("log prefix %q is not attributed", prefix)
		}
	}
}

// The daemon's compile step memoizes membership: the second compile of an
// inventory with one container more matches only that container.
func TestCompileFuncUsesCache(t *testing.T) {
	cache := &enforcer.Cache{}
	compile := CompileFunc(enforcer.Options{NflogGroup: 7001, Cache: cache})
	p := enforcer.BenchPolicy(5)
	inv := enforcer.BenchInventory(100, 5)
	first, _ := compile(p, inv)
	inv.Containers = append(inv.Containers, enforcer.BenchContainer(100, 5))
	second, _ := compile(p, inv)
	if st := cache.Stats(); st.Misses != 101 || st.Hits != 100 {
		t.Fatalf("cache stats %+v, want 101 misses and 100 hits", st)
	}
	want, _ := enforcer.Compile(p, inv, enforcer.Options{NflogGroup: 7001})
	if second.String() != want.String() {
		t.Fatal("cached compile differs from enforcer.Compile")
	}
	if sameRuleset(first, second) || !sameRuleset(second, compiledRuleset{Ruleset: want, policy: p}) {
		t.Fatal("EqualRuleset does not follow the kernel state")
	}
}
