package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// policyWithFlows is a valid policy with n flows (n >= 1), so that each
// version is told apart by status.
func policyWithFlows(n int) string {
	var b strings.Builder
	b.WriteString("zones:\n  web:\n    members:\n      - name: \"web-*\"\nflows:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - from: web\n    to: world\n    ports: [tcp/%d]\n", 1000+i)
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startWatched runs a daemon on zonesDir with the watch on and no SIGHUP
// ever sent; the poll is slow, so events must do the work.
func startWatched(t *testing.T, zonesDir string) *harness {
	h := newHarness(t, "")
	h.dir = zonesDir
	h.inv.synced.Store(true)
	h.start(func(c *Config) {
		c.WatchZonesDir = true
		c.ReloadDebounce = 30 * time.Millisecond
		c.ZonesPollInterval = time.Hour
	})
	return h
}

func (h *harness) waitFlows(what string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		st := h.d.Status()
		if st.Policy.Flows == n && st.Policy.Source == "zones_dir" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: policy has %d flows (source %s), want %d", what, st.Policy.Flows, st.Policy.Source, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReloadInPlaceEditsAndCheckout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zones.d")
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(1))
	h := startWatched(t, dir)
	h.waitFlows("start", 1)
	for i := 2; i <= 4; i++ {
		// In place, as an editor saves.
		writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(i))
		h.waitFlows(fmt.Sprintf("edit %d", i), i)
	}
	for i := 5; i <= 7; i++ {
		// As git checkout does: a new file renamed over the old one.
		tmp := filepath.Join(dir, ".shop.yaml.tmp")
		writeFile(t, tmp, policyWithFlows(i))
		if err := os.Rename(tmp, filepath.Join(dir, "shop.yaml")); err != nil {
			t.Fatal(err)
		}
		h.waitFlows(fmt.Sprintf("checkout %d", i), i)
	}
}

func TestReloadDirectorySwappedByRename(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "zones.d")
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(1))
	h := startWatched(t, dir)
	h.waitFlows("start", 1)
	for i := 2; i <= 4; i++ {
		next := filepath.Join(root, fmt.Sprintf("zones.d.new%d", i))
		writeFile(t, filepath.Join(next, "shop.yaml"), policyWithFlows(i))
		old := filepath.Join(root, fmt.Sprintf("zones.d.old%d", i))
		if err := os.Rename(dir, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, dir); err != nil {
			t.Fatal(err)
		}
		h.waitFlows(fmt.Sprintf("swap %d", i), i)
		// The old directory, now elsewhere, no longer counts.
		writeFile(t, filepath.Join(old, "shop.yaml"), policyWithFlows(9))
		time.Sleep(100 * time.Millisecond)
		h.waitFlows(fmt.Sprintf("after editing the old dir %d", i), i)
	}
}

func TestReloadSymlinkSwapped(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(root, "zones.d")
	release := func(i int) string {
		d := filepath.Join(root, "releases", fmt.Sprint(i))
		writeFile(t, filepath.Join(d, "shop.yaml"), policyWithFlows(i))
		return d
	}
	if err := os.Symlink(release(1), link); err != nil {
		t.Fatal(err)
	}
	h := startWatched(t, link)
	h.waitFlows("start", 1)
	for i := 2; i <= 4; i++ {
		// ln -sfn: a new link renamed over the old one.
		tmp := filepath.Join(root, ".zones.d.tmp")
		if err := os.Symlink(release(i), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
		h.waitFlows(fmt.Sprintf("symlink swap %d", i), i)
	}
	// Edits inside the directory the link names now are still seen.
	writeFile(t, filepath.Join(root, "releases", "4", "shop.yaml"), policyWithFlows(6))
	h.waitFlows("edit after swaps", 6)
}

// An invalid intermediate state (half a deploy) changes nothing; the next
// valid state is loaded.
func TestReloadInvalidIntermediateKeepsPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zones.d")
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(2))
	h := startWatched(t, dir)
	h.waitFlows("start", 2)
	h.waitFor("first apply", func() bool { return h.applyCount() > 0 })
	time.Sleep(50 * time.Millisecond)
	applies := h.applyCount()
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(3)[:40])
	h.waitFor("reload error", func() bool { return h.d.Status().Policy.LastError != nil })
	h.waitFlows("after an invalid state", 2)
	if n := h.applyCount(); n != applies {
		t.Errorf("%d applies after an invalid state, want %d", n, applies)
	}
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(3))
	h.waitFlows("fixed", 3)
	if h.d.Status().Policy.LastError != nil {
		t.Error("reload error still shown after a valid reload")
	}
}

// Writes that keep coming are read once they settle, not in between.
func TestReloadWaitsForWritesToSettle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zones.d")
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(1))
	h := newHarness(t, "")
	h.dir = dir
	h.inv.synced.Store(true)
	h.start(func(c *Config) {
		c.WatchZonesDir = true
		c.ReloadDebounce = 150 * time.Millisecond
		c.ZonesPollInterval = time.Hour
	})
	h.waitFlows("start", 1)
	failures := h.d.Status().ReloadFailures
	// A file written in pieces 20 ms apart: every prefix but the last is invalid YAML or policy.
	full := policyWithFlows(2)
	f, err := os.OpenFile(filepath.Join(dir, "shop.yaml"), os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(full); i += 16 {
		end := min(i+16, len(full))
		f.WriteString(full[i:end])
		time.Sleep(20 * time.Millisecond)
	}
	f.Close()
	h.waitFlows("settled", 2)
	if n := h.d.Status().ReloadFailures; n != failures {
		t.Errorf("%d reload failures while the file was being written: a half-written file was read", n-failures)
	}
}

// Events lost (or a change made while the watch was being moved) are
// caught by the poll.
func TestReloadPollCatchesMissedChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zones.d")
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(1))
	h := newHarness(t, "")
	h.dir = dir
	h.inv.synced.Store(true)
	h.start(func(c *Config) {
		c.WatchZonesDir = true
		c.ReloadDebounce = 20 * time.Millisecond
		c.ZonesPollInterval = 50 * time.Millisecond
	})
	h.waitFlows("start", 1)
	if fingerprint(dir) == "" || identify(dir) == (dirID{}) {
		t.Fatal("fingerprint or identity of an existing directory is empty")
	}
	before := fingerprint(dir)
	writeFile(t, filepath.Join(dir, "shop.yaml"), policyWithFlows(2))
	if fingerprint(dir) == before {
		t.Fatal("fingerprint did not change with the file")
	}
	h.waitFlows("changed", 2)
}
