package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/nft"
)

// TestKernelBootWithHostileZonesDir: after a "reboot" (our tables gone from
// the kernel), a zones directory holding a FIFO and an alias bomb cannot keep
// the saved ruleset out of the kernel.
func TestKernelBootWithHostileZonesDir(t *testing.T) {
	requireKernel(t)
	ns := fmt.Sprintf("zwtest-h-boot-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
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
	web := testContainer("aaaa1111", "web-1", "shop", "172.30.0.2")
	web.Endpoints[0].MAC = "02:42:ac:1e:00:02" // a port is known with its MAC (else it has no elements)
	h.inv.add(web)
	h.start(func(c *Config) { c.Engine, c.Kernel = engine, newKernel() })
	h.waitFor("first apply", func() bool { return h.d.Status().Applies == 1 })
	h.stopDaemon()

	// Reboot: the kernel holds nothing of ours; the zone files turned hostile.
	for _, fam := range []string{"inet", "bridge"} {
		if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "delete", "table", fam, "zonewall").CombinedOutput(); err != nil {
			t.Fatalf("nft delete: %v: %s", err, out)
		}
	}
	if got := ourTables(t, fd); len(got) != 0 {
		t.Fatalf("tables before boot = %v", got)
	}
	if err := os.Remove(filepath.Join(h.dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(h.dir, "shop.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	if err := os.WriteFile(filepath.Join(h.dir, "bomb.yaml"), []byte(bomb), 0o600); err != nil {
		t.Fatal(err)
	}

	h2 := newHarness(t, "")
	h2.dir, h2.store = h.dir, h.store
	h2.start(func(c *Config) { c.Engine, c.Kernel = engine, newKernel() })
	h2.waitFor("READY", func() bool { return h2.notify.ready.Load() == 1 })
	if got := ourTables(t, fd); len(got) != 2 {
		t.Fatalf("tables at READY = %v, want inet and bridge zonewall", got)
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "bridge", "zonewall").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"vethaaaa" . 02:42:ac:1e:00:02 . 172.30.0.2 : `) {
		t.Fatalf("bridge table after boot (err %v), want the saved container port:\n%s", err, out)
	}
	h2.waitFor("zone files judged", func() bool { return h2.d.Status().Policy.LastError != nil })
	errs := strings.Join(h2.d.Status().Policy.LastError.Errors, "\n")
	for _, want := range []string{"bomb.yaml:6:5: alias \"*e\"", "shop.yaml:1:1: is a named pipe"} {
		if !strings.Contains(errs, want) {
			t.Errorf("reload errors lack %q:\n%s", want, errs)
		}
	}
}
