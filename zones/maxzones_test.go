package zones_test

import (
	"testing"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// The loader refuses what the compiler could not number: a policy that
// passes check must never have zones the kernel silently treats as unzoned.
func TestMaxZonesMatchesTheEnforcer(t *testing.T) {
	if zones.MaxZones != enforcer.MaxZones {
		t.Fatalf("zones.MaxZones = %d, enforcer.MaxZones = %d", zones.MaxZones, enforcer.MaxZones)
	}
}
