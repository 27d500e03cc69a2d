package nft

import (
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

func TestDebugLive(t *testing.T) {
	s := newShop(t)
	checks := both(s.web, "", s.db, "tcp", 5432, true, "before rules: everything passes")
	checks = append(checks, both(s.web, "", s.api, "icmp", 0, true, "before rules")...)
	s.run(t, checks)
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
	mustApply(t, s.a, rs)
	s.run(t, both(s.web, "", s.db, "tcp", 5432, false, "after"))
	live, err := s.a.Live()
	t.Log(live, err)
}
