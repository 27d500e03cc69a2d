package daemon

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/nft"
)

// TestKernelContentDriftRepairedWithinASecond: with the daemon running on
// the real applier (default drift-check interval), an element replaced by
// another of the same count, then a rule replaced by another, are each
// found and rebuilt within a second.
func TestKernelContentDriftRepairedWithinASecond(t *testing.T) {
	requireKernel(t)
	ns, fd := throwawayNetnsPrefixed(t, "zwtest-dr-")
	a, err := nft.New(nft.WithNetNS(fd), nft.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		c.Kernel = NFTKernel{A: a}
	})
	h.waitFor("first apply", func() bool { return h.d.Status().Applies == 1 })
	nftIn := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// change runs one nft transaction, so no check can see a half-done
	// replacement (a count that changed), and waits for the repair.
	change := func(what, script string, intact func() bool) {
		t.Helper()
		before := h.d.Status().DriftRepairs
		nftIn(script)
		start := time.Now()
		for time.Since(start) < time.Second {
			if h.d.Status().DriftRepairs > before && intact() {
				t.Logf("%s repaired after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: not repaired within a second (drift repairs %d before, %d now)", what, before, h.d.Status().DriftRepairs)
	}

	// One element replaced by another: the counts stay the same.
	m := regexp.MustCompile(`172\.30\.0\.2 : (0x[0-9a-f]+)`).FindStringSubmatch(nftIn("list", "map", "inet", "zonewall", "zone_of4"))
	if m == nil {
		t.Fatal("web-1 is not in zone_of4")
	}
	change("replaced element", "delete element inet zonewall zone_of4 { 172.30.0.2 }; add element inet zonewall zone_of4 { 172.30.0.99 : "+m[1]+" }", func() bool {
		out := nftIn("list", "map", "inet", "zonewall", "zone_of4")
		return strings.Contains(out, "172.30.0.2 ") && !strings.Contains(out, "172.30.0.99")
	})

	// One rule replaced by another.
	handles := regexp.MustCompile(`# handle (\d+)`).FindAllStringSubmatch(nftIn("-a", "list", "chain", "inet", "zonewall", "forward"), -1)
	if len(handles) == 0 {
		t.Fatal("no rules in the forward chain")
	}
	change("replaced rule", "replace rule inet zonewall forward handle "+handles[len(handles)-1][1]+" meta nfproto ipv4 accept", func() bool {
		return !strings.Contains(nftIn("list", "chain", "inet", "zonewall", "forward"), "meta nfproto ipv4 accept")
	})
	if la := h.d.Status().LastApply; la.Error != "" || !la.Full {
		t.Fatalf("repair apply: %+v", la)
	}
}
