package nft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// TestKernelLabSanity proves the lab itself forwards everything before our
// tables exist (so every "denied" below is our doing), then that the
// ruleset lists cleanly with the nft command (Live).
func TestKernelLabSanity(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	checks := both(s.web, "", s.db, "tcp", 5432, true, "no ruleset: web->db passes")
	checks = append(checks, both(s.web, "", s.api, "icmp", 0, true, "no ruleset: ping passes")...)
	checks = append(checks, check{s.world, "tcp", s.api.ip4, 8080, true, "no ruleset: world->api passes"})
	s.run(t, checks)
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
	mustApply(t, s.a, rs)
	s.run(t, both(s.web, "", s.db, "tcp", 5432, false, "ruleset applied: web->db denied"))
	// Live decodes the kernel's state into the same rendering: after an
	// apply it is exactly what was compiled (a round trip of every element).
	live, err := s.a.Live()
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	if live != rs.String() {
		t.Errorf("Live differs from the applied ruleset:\n%s", firstDiff(rs.String(), live))
	}
	// nft itself can list our tables (no crash on our rule shapes).
	listing, err := s.a.NftListing()
	if err != nil {
		t.Fatalf("nft list: %v", err)
	}
	for _, want := range []string{"table bridge zonewall", "table inet zonewall", "meta mark set iifname . ether saddr map @port_zone",
		"ct mark set ip daddr map @zone_of4", s.web.veth} {
		if !strings.Contains(listing, want) {
			t.Errorf("nft listing lacks %q:\n%s", want, listing)
		}
	}
	// Removing an element by hand shows up in Live.
	if out, err := s.nft("delete", "element", "inet", "zonewall", "zone_of4", "{", s.db.ip4.String(), "}"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// (in the inet table: the bridge's port_addr4 maps the address too)
	if live, _ = s.a.Live(); strings.Contains(live[strings.Index(live, "table inet"):], s.db.ip4.String()+" :") {
		t.Errorf("Live still shows a deleted element")
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, w, g)
		}
	}
	return ""
}
