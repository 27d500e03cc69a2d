package nft

import (
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

func TestSideName(t *testing.T) {
	a := &Applier{applied: &enforcer.Ruleset{Zones: map[uint8]string{1: "web", 2: "api", enforcer.ZoneIDUnzoned: "unzoned"}}}
	mark := enforcer.ZoneMark
	el := func(lo, hi uint32) enforcer.Element {
		return enforcer.Element{Key: []enforcer.Field{enforcer.NumRange(lo, hi)}}
	}
	for _, c := range []struct {
		desc string
		sd   side
		e    enforcer.Element
		want string
	}{
		{"one zone", zoneAt(0), el(mark(2), mark(2)), "api"},
		{"reserved class", zoneAt(0), el(mark(enforcer.ZoneIDUnzoned), mark(enforcer.ZoneIDUnzoned)), "unzoned"},
		{"range reaching into id 0 names one zone", zoneAt(0), el(mark(0), mark(1)), "web"},
		{"range of several zones", zoneAt(0), el(mark(0), mark(0xff)), SideAny},
		{"id nobody has", zoneAt(0), el(mark(9), mark(9)), SideUnknown},
		{"fixed side", fixed(SideWorld), el(mark(1), mark(1)), SideWorld},
	} {
		if got := a.sideName(c.sd, c.e); got != c.want {
			t.Errorf("%s: got %q, want %q", c.desc, got, c.want)
		}
	}
}

// Every allow set of the compiled ruleset counts and has its sides known,
// so no set is silently left out of AllowCounters.
func TestAllowSetsCountedAndMapped(t *testing.T) {
	rs := enforcer.Static(enforcer.Options{NflogGroup: 7001}, "enforce")
	n := 0
	for _, s := range rs.Table(enforcer.FamilyInet).Sets {
		_, mapped := allowSides[s.Name]
		if mapped != s.Counter {
			t.Errorf("set %s: counter %v, sides known %v", s.Name, s.Counter, mapped)
		}
		if mapped {
			n++
		}
	}
	if n != len(allowSides) {
		t.Errorf("%d allow sets in the ruleset, %d with known sides", n, len(allowSides))
	}
}
