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
