package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestHostileReload is the daemon's side of test/hostile/run.sh: it loads a
// valid policy, then reloads from the directory ZW_HOSTILE_DIR the way
// SIGHUP or fsnotify would, and prints the outcome. A refused reload must
// keep the previous policy and name a file (file:line:col) or the directory
// in every error. Without ZW_HOSTILE_DIR it is skipped.
func TestHostileReload(t *testing.T) {
	dir := os.Getenv("ZW_HOSTILE_DIR")
	if dir == "" {
		t.Skip("run by test/hostile/run.sh")
	}
	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "shop.yaml"), []byte(zonesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{ZonesDir: good, Engine: PolicyEngine{CompileFunc: fakeCompile}, Kernel: newFakeKernel(),
		Inventory: &fakeInventory{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !d.reloadPolicy() {
		t.Fatal("the valid policy did not load")
	}
	before := d.policy
	d.cfg.ZonesDir = dir
	if d.reloadPolicy() {
		fmt.Printf("reload: accepted (%d zones, %d flows)\n", len(d.policy.p.Zones), len(d.policy.p.Flows))
		return
	}
	st := d.Status()
	fmt.Printf("reload: refused, %d errors, previous policy kept: %v\n", len(st.Policy.LastError.Errors), d.policy == before)
	if d.policy != before {
		t.Error("a refused reload replaced the policy")
	}
	located := regexp.MustCompile(`^(` + regexp.QuoteMeta(dir) + `/.+:[0-9]+:[0-9]+|` + regexp.QuoteMeta(dir) + `): \S`)
	for _, e := range st.Policy.LastError.Errors {
		fmt.Printf("  %q\n", e) // quoted: the runner greps this output
		if !located.MatchString(e) {
			t.Errorf("error names no file:line:col: %q", e)
		}
	}
}
