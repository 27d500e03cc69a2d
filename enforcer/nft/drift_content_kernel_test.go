package nft

import (
	"regexp"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

// Drift is judged by content: an element or a rule replaced by another,
// leaving every count as it was, is found, and the rebuild restores it.
func TestKernelDriftByContent(t *testing.T) {
	t.Parallel()
	s := newShopPrefixed(t, "zwtest-dr-")
	rs, _ := s.apply(t, defaultSettingsApply)
	// Right after our apply the kernel's content matches ours exactly (no
	// false positive from what the kernel adds or encodes differently).
	if d, err := s.a.compare(); err != nil || d != nil {
		t.Fatalf("content right after apply: drift=%v err=%v", d, err)
	}

	// Replace db's address in zone_of4 by another with the same zone.
	out, err := s.nft("list", "map", "inet", "zonewall", "zone_of4")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(s.db.ip4.String()) + ` : (0x[0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no element for %s in:\n%s", s.db.ip4, out)
	}
	if out, err := s.nft("delete", "element", "inet", "zonewall", "zone_of4", "{", s.db.ip4.String(), "}"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := s.nft("add", "element", "inet", "zonewall", "zone_of4", "{", "10.88.0.99", ":", m[1], "}"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// plan's live view shows the kernel's element, not ours.
	live, err := s.a.Live()
	zoneOf4 := regexp.MustCompile(`(?s)map zone_of4 \{.*?\n\t\}`).FindString(live)
	if err != nil || !strings.Contains(zoneOf4, "10.88.0.99 :") || strings.Contains(zoneOf4, s.db.ip4.String()+" :") {
		t.Errorf("Live after replacing an element (err %v):\n%s", err, live)
	}
	d, err := s.a.Verify()
	if err != nil || d == nil {
		t.Fatalf("Verify after replacing an element: drift=%v err=%v", d, err)
	}
	t.Logf("element replaced: %v", d)
	if st := mustApply(t, s.a, rs); !st.Full {
		t.Errorf("apply after drift was not a full rebuild")
	}
	if d, err := s.a.compare(); err != nil || d != nil {
		t.Fatalf("content after the rebuild: drift=%v err=%v", d, err)
	}
	s.run(t, both(s.web, "", s.db, "tcp", 5432, false, "rebuilt: web -> db denied again"))

	// Replace one rule of the inet forward chain by another (same count).
	out, err = s.nft("-a", "list", "chain", "inet", "zonewall", "forward")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	handles := regexp.MustCompile(`# handle (\d+)`).FindAllStringSubmatch(out, -1)
	if len(handles) < 2 {
		t.Fatalf("no rule handles in:\n%s", out)
	}
	last := handles[len(handles)-1][1]
	if out, err := s.nft("replace", "rule", "inet", "zonewall", "forward", "handle", last, "meta", "nfproto", "ipv4", "accept"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// plan's live view shows the foreign rule in place of ours, and
	// everything else as it is.
	live, err = s.a.Live()
	if err != nil || !strings.Contains(live, `comment "not zonewall's: Meta{`) {
		t.Errorf("Live after replacing a rule (err %v):\n%s", err, live)
	}
	if strings.Count(live, "\n") != strings.Count(rs.String(), "\n") {
		t.Errorf("Live after replacing a rule has %d lines, want %d", strings.Count(live, "\n"), strings.Count(rs.String(), "\n"))
	}
	d, err = s.a.Verify()
	if err != nil || d == nil || !strings.Contains(d.Reason, "forward") {
		t.Fatalf("Verify after replacing a rule: drift=%v err=%v", d, err)
	}
	t.Logf("rule replaced: %v", d)
	if st := mustApply(t, s.a, rs); !st.Full {
		t.Errorf("apply after rule drift was not a full rebuild")
	}
	if d, err := s.a.Verify(); err != nil || d != nil {
		t.Fatalf("Verify after the rebuild: drift=%v err=%v", d, err)
	}
	if live, err := s.a.Live(); err != nil || live != rs.String() {
		t.Errorf("Live after the rebuild differs from the applied ruleset (err %v)", err)
	}
}

// Every rule shape we build reads back from the kernel as what we sent:
// the content check never reports drift right after an apply, for every
// combination of settings.
func TestKernelContentMatchesEveryShape(t *testing.T) {
	t.Parallel()
	s := newShopPrefixed(t, "zwtest-dr-")
	for i := 0; i < 64; i++ {
		set := zones.DefaultSettings()
		pick := func(bit int, yes, no string) string {
			if i&(1<<bit) != 0 {
				return yes
			}
			return no
		}
		set.Mode = pick(0, "audit", "enforce")
		set.Unzoned = pick(1, "allow", "deny")
		set.DefaultBridge = pick(2, "allow", "deny")
		set.DNS = pick(3, "deny", "allow")
		set.HostToContainers = pick(4, "deny", "allow")
		set.HostNetwork = pick(5, "stop", "report")
		s.apply(t, func(st *zones.Settings) { *st = set })
		if d, err := s.a.compare(); err != nil || d != nil {
			t.Fatalf("settings %+v: drift right after apply: %v, %v", set, d, err)
		}
	}
}
