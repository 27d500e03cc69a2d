package state

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

func TestSavedFilesCarryTheFormat(t *testing.T) {
	st, _ := Open(t.TempDir())
	if err := st.SavePolicy(Policy{Dir: "/z", Files: map[string][]byte{"a.yaml": []byte("zones: {}\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveApplied(Applied{AppliedAt: time.Unix(1, 0).UTC()}, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{policyFile, appliedFile} {
		b, _ := os.ReadFile(filepath.Join(st.Dir(), name))
		if !strings.HasPrefix(string(b), `{"format":1,`) {
			t.Errorf("%s starts %.40q, want the format first", name, b)
		}
	}
}

// Files written before the format key existed (this exact layout) are
// format 1 and must read exactly as they did.
func TestLegacyFilesWithoutFormatAreRead(t *testing.T) {
	st, _ := Open(t.TempDir())
	legacyPolicy := `{"dir":"/etc/zonewall/zones.d","files":{"a.yaml":"em9uZXM6IHt9Cg=="},"saved_at":"2026-11-25T03:00:00Z"}`
	legacyApplied := `{"policy":{"dir":"/etc/zonewall/zones.d","files":{"a.yaml":"em9uZXM6IHt9Cg=="},"saved_at":"2026-11-25T03:00:00Z"},` +
		`"inventory":{"Networks":null,"Containers":[{"ID":"c1","Name":"web","Image":"","Labels":null,"NetworkMode":"","Running":true,` +
		`"Endpoints":[{"NetworkID":"","NetworkName":"n","EndpointID":"","Bridge":"","HostVeth":"veth1","MAC":"","IPv4":"172.30.0.2","IPv6":""}],"Ports":null,"Rev":0}]},"applied_at":"2026-11-25T03:00:01Z"}`
	os.WriteFile(filepath.Join(st.Dir(), policyFile), []byte(legacyPolicy), 0o600)
	os.WriteFile(filepath.Join(st.Dir(), appliedFile), []byte(legacyApplied), 0o600)

	p, ok, err := st.LoadPolicy()
	if !ok || err != nil {
		t.Fatalf("legacy policy: ok=%v err=%v", ok, err)
	}
	want := Policy{Dir: "/etc/zonewall/zones.d", Files: map[string][]byte{"a.yaml": []byte("zones: {}\n")}, SavedAt: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("legacy policy:\n got %+v\nwant %+v", p, want)
	}
	a, ok, err := st.LoadApplied()
	if !ok || err != nil {
		t.Fatalf("legacy applied: ok=%v err=%v", ok, err)
	}
	wantInv := enforcer.Inventory{Containers: []enforcer.Container{{ID: "c1", Name: "web", Running: true,
		Endpoints: []enforcer.Endpoint{{NetworkName: "n", HostVeth: "veth1", IPv4: netip.MustParseAddr("172.30.0.2")}}}}}
	if !reflect.DeepEqual(a.Policy, want) || !reflect.DeepEqual(a.Inventory, wantInv) ||
		!a.AppliedAt.Equal(time.Date(2026, 11, 25, 3, 0, 1, 0, time.UTC)) {
		t.Fatalf("legacy applied read wrongly:\n got %+v\nwant %+v", a, wantInv)
	}
	// A legacy file round-trips into the current format with the same content.
	if err := st.SaveApplied(a, ""); err != nil {
		t.Fatal(err)
	}
	again, _, _ := st.LoadApplied()
	if !reflect.DeepEqual(again, a) {
		t.Fatalf("rewritten legacy state differs:\n got %+v\nwant %+v", again, a)
	}
}

// Only the JSON layout this test pins is format 1: if Applied, Policy or the
// inventory types change their JSON, this fails, and Format must be raised
// (with new file names) or the change made compatible.
func TestFormat1Layout(t *testing.T) {
	st, _ := Open(t.TempDir())
	a := Applied{
		Policy: Policy{Dir: "/z", Files: map[string][]byte{"x.yaml": []byte("v")}, SavedAt: time.Unix(0, 0).UTC()},
		Inventory: enforcer.Inventory{Containers: []enforcer.Container{{
			ID: "c1", Name: "web", Running: true,
			Endpoints: []enforcer.Endpoint{{NetworkName: "n", IPv4: netip.MustParseAddr("172.30.0.2")}},
		}}},
		AppliedAt: time.Unix(0, 0).UTC(),
	}
	if err := st.SaveApplied(a, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(st.Dir(), appliedFile))
	for _, key := range []string{`"format":1`, `"policy":{"dir":"/z","files":{"x.yaml":"dg=="}`, `"inventory":{"Networks":null,"Containers":[{"ID":"c1","Name":"web"`, `"NetworkName":"n"`, `"IPv4":"172.30.0.2"`, `"applied_at":"1970-01-01T00:00:00Z"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("applied.json lacks %s:\n%s", key, b)
		}
	}
}

func TestUnknownFormatIsSetAside(t *testing.T) {
	for _, format := range []string{`2`, `0`, `"1"`, `{"major":3}`} {
		st, _ := Open(t.TempDir())
		content := `{"format":` + format + `,"policy":{"dir":"/elsewhere"},"inventory":{},"applied_at":"2030-01-01T00:00:00Z"}`
		path := filepath.Join(st.Dir(), appliedFile)
		os.WriteFile(path, []byte(content), 0o600)

		a, ok, err := st.LoadApplied()
		var sa *SetAsideError
		if !errors.As(err, &sa) || ok {
			t.Fatalf("format %s: ok=%v err=%v, want a SetAsideError", format, ok, err)
		}
		if a.Policy.Dir != "" {
			t.Fatalf("format %s: content was interpreted: %+v", format, a)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("format %s: %s still in place", format, path)
		}
		if b, err := os.ReadFile(sa.MovedTo); err != nil || string(b) != content {
			t.Fatalf("format %s: set-aside copy %s: %v %q", format, sa.MovedTo, err, b)
		}
		if !strings.HasPrefix(filepath.Base(sa.MovedTo), appliedFile+".format-") || filepath.Dir(sa.MovedTo) != st.Dir() {
			t.Fatalf("format %s: moved to %s", format, sa.MovedTo)
		}
		// The next start finds no state; the next save writes a fresh file
		// and leaves the set-aside one alone.
		if _, ok, err := st.LoadApplied(); ok || err != nil {
			t.Fatalf("format %s: second load ok=%v err=%v", format, ok, err)
		}
		if err := st.SaveApplied(Applied{}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(sa.MovedTo); err != nil {
			t.Fatalf("format %s: set-aside file gone after a save: %v", format, err)
		}
		t.Logf("format %s: %v", format, err)
	}
	// The policy file is guarded the same way.
	st, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(st.Dir(), policyFile), []byte(`{"format":7,"dir":"/x"}`), 0o600)
	if _, ok, err := st.LoadPolicy(); ok || err == nil || !strings.Contains(err.Error(), "format 7") {
		t.Fatalf("policy of format 7: ok=%v err=%v", ok, err)
	}
}
