package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/nftables"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/nft"
)

// requireKernel skips (or, with ZW_REQUIRE_PRIV=1, fails) without root and ip(8).
func requireKernel(t *testing.T) {
	t.Helper()
	_, ipErr := exec.LookPath("ip")
	if os.Geteuid() == 0 && ipErr == nil {
		return
	}
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		t.Fatal("kernel test needs root and iproute2 (ZW_REQUIRE_PRIV=1)")
	}
	t.Skip("kernel test needs root and iproute2")
}

var netnsSeq atomic.Int32

// throwawayNetns creates a named network namespace, removed at cleanup, and
// returns an open fd of it.
func throwawayNetns(t *testing.T) (name string, fd int) {
	t.Helper()
	return throwawayNetnsPrefixed(t, "zwtest-w-")
}

// throwawayNetnsPrefixed is throwawayNetns with a name prefix of the caller's.
func throwawayNetnsPrefixed(t *testing.T, prefix string) (name string, fd int) {
	t.Helper()
	name = fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return name, int(f.Fd())
}

// ourTables lists zonewall's tables in the namespace.
func ourTables(t *testing.T, fd int) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err != nil {
		t.Fatal(err)
	}
	tabs, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tabs {
		if tb.Name == enforcer.DefaultTable {
			out = append(out, fmt.Sprintf("%d:%s", tb.Family, tb.Name))
		}
	}
	return out
}

// TestKernelDriftRepairAndBoot runs the daemon against the real applier in
// a throwaway namespace: it applies, repairs a deleted table, leaves the
// tables on stop, and a new daemon boots them from state before Docker.
func TestKernelDriftRepairAndBoot(t *testing.T) {
	requireKernel(t)
	ns, fd := throwawayNetns(t)
	newKernel := func() Kernel {
		a, err := nft.New(nft.WithNetNS(fd), nft.WithLogger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return NFTKernel{A: a}
	}
	engine := PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}

	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	kernel := newKernel()
	h.start(func(c *Config) { c.Engine, c.Kernel = engine, kernel })
	h.waitFor("first apply", func() bool { return h.d.Status().Applies == 1 })
	if st := h.d.Status(); st.LastApply.Error != "" || !st.LastApply.Full {
		t.Fatalf("first apply: %+v", st.LastApply)
	}
	if got := ourTables(t, fd); len(got) != 2 {
		t.Fatalf("tables after apply = %v, want inet and bridge zonewall", got)
	}

	// Someone deletes our inet table: the daemon notices and rebuilds.
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "zonewall").CombinedOutput(); err != nil {
		t.Fatalf("nft delete: %v: %s", err, out)
	}
	h.waitFor("drift repair", func() bool { return h.d.Status().DriftRepairs == 1 && h.d.Status().Applies >= 2 })
	h.waitFor("table back", func() bool { return len(ourTables(t, fd)) == 2 })
	if la := h.d.Status().LastApply; la.Error != "" || !la.Full {
		t.Fatalf("repair apply: %+v", la)
	}

	// SIGTERM equivalent: the tables stay.
	h.stopDaemon()
	if got := ourTables(t, fd); len(got) != 2 {
		t.Fatalf("tables after stop = %v, want both left in place", got)
	}

	// Next boot, Docker unavailable: the saved ruleset is applied at once.
	h2 := newHarness(t, zonesYAML)
	h2.store = h.store
	h2.start(func(c *Config) { c.Engine, c.Kernel = engine, newKernel() })
	h2.waitFor("boot apply", func() bool { return h2.d.Status().BootFromState })
	st := h2.d.Status()
	if !st.BootFromState || st.Synced || st.LastApply.Error != "" {
		t.Fatalf("boot: from state %v, synced %v, last apply %+v", st.BootFromState, st.Synced, st.LastApply)
	}
	if text, _ := os.ReadFile(h.store.Dir() + "/applied.nft"); !strings.Contains(string(text), "table inet zonewall") {
		t.Fatalf("applied.nft in state:\n%s", text)
	}
}

// TestKernelBaselineWithoutState boots with no saved state while Docker is
// down: READY comes with the fail-closed baseline in the kernel, which
// sends every container port (all unknown yet) to the drop chain.
func TestKernelBaselineWithoutState(t *testing.T) {
	requireKernel(t)
	ns, fd := throwawayNetns(t)
	a, err := nft.New(nft.WithNetNS(fd), nft.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h := newHarness(t, zonesYAML)
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		c.Kernel = NFTKernel{A: a}
	})
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
	if got := ourTables(t, fd); len(got) != 2 {
		t.Fatalf("tables at READY = %v, want inet and bridge zonewall", got)
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "bridge", "zonewall").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v: %s", err, out)
	}
	live := string(out)
	if !strings.Contains(live, "goto deny_unknown_port") || strings.Contains(live, "elements") {
		t.Fatalf("baseline bridge table: want the unknown-port drop and no port elements:\n%s", live)
	}
	st := h.d.Status()
	if st.Synced {
		t.Fatal("synced without Docker")
	}
	t.Logf("baseline apply took %v (daemon start to READY %v)", st.LastApply.Duration, st.LastApply.At.Add(st.LastApply.Duration).Sub(st.StartedAt))
}
