package nft

import (
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
	live, err := s.a.Live()
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	for _, want := range []string{"table bridge zonewall", "table inet zonewall", "meta mark set iifname . ether saddr map @port_zone",
		"ct mark set ip daddr map @zone_of4", s.web.veth} {
		if !strings.Contains(live, want) {
			t.Errorf("Live output lacks %q:\n%s", want, live)
		}
	}
}
