package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zonewall/zonewall/zones"
)

// hangingEngine is PolicyEngine whose Load of one directory blocks until
// release is closed: a zone-file input that hangs the loader.
type hangingEngine struct {
	PolicyEngine
	dir     string
	release chan struct{}
}

func (e hangingEngine) Load(dir string) (*zones.Policy, []zones.Source, error) {
	if dir == e.dir {
		<-e.release
	}
	return e.PolicyEngine.Load(dir)
}

// savedState runs a first daemon until it has applied and saved state.
func savedState(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1", "web-1", "shop", "172.30.0.2"))
	h.start(nil)
	h.waitFor("apply", func() bool { return h.applyCount() == 1 })
	h.stopDaemon()
	if _, ok, _ := h.store.LoadApplied(); !ok {
		t.Fatal("no applied state saved")
	}
	return h
}

// The saved ruleset is in the kernel, and READY sent, while reading the
// zone files has not even returned.
func TestBootRestoresBeforeReadingZoneFiles(t *testing.T) {
	first := savedState(t)
	h := newHarness(t, zonesYAML)
	h.store = first.store
	engine := hangingEngine{PolicyEngine: PolicyEngine{CompileFunc: fakeCompile}, dir: h.dir, release: make(chan struct{})}
	h.start(func(c *Config) { c.Engine = engine })
	h.waitFor("boot apply while the loader hangs", func() bool { return h.applyCount() == 1 })
	if a := h.kernel.history()[0]; !a.full || a.err != nil || !strings.Contains(a.text, "web web-1 172.30.0.2") {
		t.Fatalf("boot apply = %+v, want the saved ruleset", a)
	}
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
	close(engine.release)
	h.waitFor("zone files read", func() bool { return h.d.Status().Policy.Source == "zones_dir" })
}

// Hostile zone directories at boot: the saved ruleset is enforced, the
// loader returns with an error naming the file, and nothing else is applied.
func TestBootWithHostileZonesDir(t *testing.T) {
	first := savedState(t)
	for name, setup := range map[string]func(t *testing.T, dir string){
		"fifo": func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "shop.yaml"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"alias bomb": func(t *testing.T, dir string) {
			var b strings.Builder
			b.WriteString("zones:\n  a:\n    members: &m [")
			for i := 0; i < 1000; i++ {
				b.WriteString("{name: x}, ")
			}
			b.WriteString("]\nflows:\n")
			for i := 0; i < 5000; i++ {
				b.WriteString("  - {from: a, to: a, ports: *m}\n")
			}
			if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(b.String()), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"link to /dev/zero": func(t *testing.T, dir string) {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, "shop.yaml")); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "")
			h.store = first.store
			setup(t, h.dir)
			h.start(nil)
			h.waitFor("boot apply", func() bool { return h.applyCount() == 1 })
			if a := h.kernel.history()[0]; a.err != nil || !strings.Contains(a.text, "web web-1 172.30.0.2") {
				t.Fatalf("boot apply = %+v, want the saved ruleset", a)
			}
			deadline := time.Now().Add(5 * time.Second)
			for h.d.Status().Policy.LastError == nil {
				if time.Now().After(deadline) {
					t.Fatal("the zone files were never judged (loader hangs?)")
				}
				time.Sleep(5 * time.Millisecond)
			}
			st := h.d.Status()
			errs := strings.Join(st.Policy.LastError.Errors, "\n")
			if !strings.Contains(errs, filepath.Join(h.dir, "shop.yaml")+":") || st.Policy.Source != "state" {
				t.Fatalf("source %q, errors:\n%s", st.Policy.Source, errs)
			}
			time.Sleep(50 * time.Millisecond)
			if n := h.applyCount(); n != 1 {
				t.Fatalf("%d applies, want only the boot one", n)
			}
		})
	}
}
