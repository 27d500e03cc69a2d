package daemon

import (
	"fmt"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// noopChanges sends n change notifications, each with an inventory change
// that the compiled ruleset does not see (a created, not yet started
// container), as the first events of a container start do.
func noopChanges(h *harness, n int) {
	for i := range n {
		c := testContainer(fmt.Sprintf("e%04d", i), fmt.Sprintf("web-new-%d", i), "shop", "172.30.9.9")
		c.Running, c.Endpoints = false, nil
		h.inv.add(c)
		h.d.Changed()
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond) // trailing runs of the limiter
}

func TestNoopChangesCostNoKernelApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compile func(c *Config)
	}{
		{"fake compile", nil},
		{"enforcer.Compile", func(c *Config) {
			c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, zonesYAML)
			h.inv.synced.Store(true)
			h.inv.inv.Networks = []enforcer.Network{{ID: "n1", Name: "shop", Driver: "bridge", Bridge: "br-zwtestd"}}
			h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
			h.start(tc.compile)
			h.waitFor("first apply", func() bool { return h.applyCount() == 1 })

			noopChanges(h, 30)
			compiles, unchanged, applies := h.d.ReconcileCounts()
			t.Logf("30 no-op notifications: %d compiles, %d unchanged, %d kernel applies", compiles, unchanged, applies)
			if n := h.applyCount(); n != 1 || applies != 1 || h.d.Status().Applies != 1 {
				t.Fatalf("no-op changes reached the kernel: %d transactions, %d counted applies, want 1", n, applies)
			}
			if unchanged == 0 || compiles != unchanged+1 {
				t.Fatalf("compiles %d, unchanged %d: want every compile after the first unchanged", compiles, unchanged)
			}
			if st := h.d.Status(); st.Compiles != compiles || st.Unchanged != unchanged {
				t.Fatalf("status shows %d compiles, %d unchanged; want %d, %d", st.Compiles, st.Unchanged, compiles, unchanged)
			}

			// A real change still goes through, once.
			h.inv.add(testContainer("bbbb2222", "db-1", "shop", "172.30.0.3"))
			h.d.Changed()
			h.waitFor("apply of the change", func() bool { return h.applyCount() == 2 })
			time.Sleep(30 * time.Millisecond)
			if n := h.applyCount(); n != 2 {
				t.Fatalf("one change caused %d applies, want 1", n-1)
			}
			if h.kernel.history()[1].full {
				t.Fatal("the change was applied as a full rebuild")
			}
		})
	}
}

// After drift the kernel no longer holds what we applied: an unchanged
// ruleset must be applied again.
func TestUnchangedRulesetReappliedAfterDrift(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.start(func(c *Config) { c.VerifyInterval = 10 * time.Millisecond })
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	noopChanges(h, 3)
	h.kernel.set(func(k *fakeKernel) { k.drift = true })
	h.waitFor("rebuild after drift", func() bool { return h.applyCount() == 2 })
	if !h.kernel.history()[1].full {
		t.Fatal("drift was repaired without a full rebuild")
	}
}
