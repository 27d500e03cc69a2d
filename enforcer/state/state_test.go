package state

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

func TestPolicyRoundTrip(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.yaml"), []byte("zones: {}\n"), 0o600)
	os.WriteFile(filepath.Join(src, "b.yml"), []byte("flows: []\n"), 0o600)
	os.WriteFile(filepath.Join(src, "README"), []byte("not a zone file"), 0o600)

	p, err := ReadPolicyDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 2 {
		t.Fatalf("files = %v, want a.yaml and b.yml only", p.Files)
	}
	st, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.LoadPolicy(); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	if err := st.SavePolicy(p); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadPolicy()
	if !ok || err != nil {
		t.Fatalf("load: ok=%v err=%v", ok, err)
	}
	out := t.TempDir()
	if err := got.WriteTo(out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "b.yml"))
	if string(b) != "flows: []\n" {
		t.Fatalf("restored b.yml = %q", b)
	}
}

func TestAppliedRoundTrip(t *testing.T) {
	st, _ := Open(t.TempDir())
	a := Applied{
		Policy: Policy{Dir: "/z", Files: map[string][]byte{"x.yaml": []byte("v")}},
		Inventory: enforcer.Inventory{Containers: []enforcer.Container{{
			ID: "c1", Name: "web", Running: true,
			Endpoints: []enforcer.Endpoint{{NetworkName: "n", IPv4: netip.MustParseAddr("172.30.0.2"), IPv6: netip.MustParseAddr("fd00::2")}},
		}}},
		AppliedAt: time.Unix(1700000000, 0).UTC(),
	}
	if err := st.SaveApplied(a, "table inet zonewall {}\n"); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadApplied()
	if !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
	}
	if b, _ := os.ReadFile(filepath.Join(st.Dir(), rulesetFile)); string(b) != "table inet zonewall {}\n" {
		t.Fatalf("nft text = %q", b)
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(st.Dir())
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Fatalf("leftover temp file %s", e.Name())
		}
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	st, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(st.Dir(), appliedFile), []byte("{half"), 0o600)
	if _, _, err := st.LoadApplied(); err == nil {
		t.Fatal("corrupt applied.json loaded without error")
	}
}

func TestWriteToRejectsPathNames(t *testing.T) {
	p := Policy{Files: map[string][]byte{"../evil.yaml": nil}}
	if err := p.WriteTo(t.TempDir()); err == nil {
		t.Fatal("a file name with a path was restored")
	}
}

func TestLockIsExclusive(t *testing.T) {
	st, _ := Open(t.TempDir())
	unlock, err := st.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	unlock()
	again, err := st.Lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

// A saved inventory's container revisions belong to the process that saved
// it: loading clears them so no cache mistakes them for current ones.
func TestLoadAppliedClearsRevisions(t *testing.T) {
	st, _ := Open(t.TempDir())
	a := Applied{Inventory: enforcer.Inventory{Containers: []enforcer.Container{{ID: "c1", Name: "web", Rev: 42}}}}
	if err := st.SaveApplied(a, ""); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadApplied()
	if !ok || err != nil || len(got.Inventory.Containers) != 1 {
		t.Fatalf("ok=%v err=%v inv=%+v", ok, err, got.Inventory)
	}
	if r := got.Inventory.Containers[0].Rev; r != 0 {
		t.Fatalf("Rev = %d after load, want 0", r)
	}
}
