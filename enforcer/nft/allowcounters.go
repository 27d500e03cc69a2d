package nft

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/zonewall/zonewall/enforcer"
)

// Names of the non-zone sides of an allow element.
const (
	SideWorld = "world"
	SideHost  = "host"
	// SideAny is a side whose element covers several zone ids (a default
	// such as settings.dns or host_to_containers: allow): the kernel counts
	// the element once, so its traffic cannot be split per zone.
	SideAny = "any"
	// SideUnknown is a zone id (or range) the applied ruleset does not name.
	SideUnknown = "unknown"
)

// ErrNotApplied: there are no counters before the first successful Apply
// (or after Cleanup).
var ErrNotApplied = errors.New("nothing applied")

// AllowSample is the traffic allowed from one zone to another by one flow
// (or default), summed over the allow elements that serve them: the
// kernel's running totals since the element was added (a full rebuild
// restarts them).
type AllowSample struct {
	From, To string // zone names, or SideWorld, SideHost, SideAny, SideUnknown
	Flow     string // the flow's label ("public-web", "flow 3") or the default's name ("dns")
	Packets  uint64
	Bytes    uint64
}

// side says where an allow set keeps one end of a connection: the key field
// holding a zone mark, or a fixed name (world, host).
type side struct {
	field int    // index of the zone field, or -1
	fixed string // used when field < 0
}

func zoneAt(i int) side           { return side{field: i} }
func fixed(n string) side         { return side{field: -1, fixed: n} }
func sides(from, to side) [2]side { return [2]side{from, to} }

// allowSides maps every allow set to its from and to sides (see
// enforcer/static.go for the key layouts).
var allowSides = map[string][2]side{
	enforcer.SetAllowCC:      sides(zoneAt(0), zoneAt(1)),
	enforcer.SetAllowW4:      sides(zoneAt(0), fixed(SideWorld)),
	enforcer.SetAllowW6:      sides(zoneAt(0), fixed(SideWorld)),
	enforcer.SetAllowMeta4:   sides(zoneAt(0), fixed(SideWorld)),
	enforcer.SetAllowMeta6:   sides(zoneAt(0), fixed(SideWorld)),
	enforcer.SetAllowIn4:     sides(fixed(SideWorld), zoneAt(1)),
	enforcer.SetAllowIn6:     sides(fixed(SideWorld), zoneAt(1)),
	enforcer.SetAllowMetaIn4: sides(fixed(SideWorld), zoneAt(1)),
	enforcer.SetAllowMetaIn6: sides(fixed(SideWorld), zoneAt(1)),
	enforcer.SetAllowHost:    sides(zoneAt(0), fixed(SideHost)),
	enforcer.SetAllowOut:     sides(fixed(SideHost), zoneAt(0)),
}

// AllowCounters reads the per-element counters of the allow sets of the
// applied ruleset and sums them per (from zone, to zone, flow). Zone ids
// are named through the applied Ruleset.Zones; the flow is the element's
// provenance (its comment in the kernel). Sets without counters are
// skipped. Samples are sorted by from, to, flow.
func (a *Applier) AllowCounters() ([]AllowSample, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.applied == nil {
		return nil, ErrNotApplied
	}
	in := a.applied.Table(enforcer.FamilyInet)
	if in == nil {
		return nil, nil
	}
	tab := nftTable(in)
	type key struct{ from, to, flow string }
	sums := map[key]*AllowSample{}
	for _, s := range in.Sets {
		sd, ok := allowSides[s.Name]
		if !ok || !s.Counter {
			continue
		}
		els, err := a.conn.GetSetElements(&nftables.Set{Table: tab, Name: s.Name, KeyType: keyType(s)})
		if err != nil {
			return nil, fmt.Errorf("reading counters of set %s: %w", s.Name, err)
		}
		for _, ke := range els {
			e, ok := decodeElement(s, ke)
			if !ok || ke.Counter == nil {
				continue
			}
			k := key{a.sideName(sd[0], e), a.sideName(sd[1], e), e.Origin.Label}
			sum := sums[k]
			if sum == nil {
				sum = &AllowSample{From: k.from, To: k.to, Flow: k.flow}
				sums[k] = sum
			}
			sum.Packets += ke.Counter.Packets
			sum.Bytes += ke.Counter.Bytes
		}
	}
	out := make([]AllowSample, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(x, y AllowSample) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To), cmp.Compare(x.Flow, y.Flow))
	})
	return out, nil
}

// sideName names one side of a decoded element: the zone its id stands
// for; a range of ids that names one zone only (a split default, or one
// reaching into id 0, "not a container") is that zone, a wider one SideAny.
func (a *Applier) sideName(sd side, e enforcer.Element) string {
	if sd.field < 0 {
		return sd.fixed
	}
	f := e.Key[sd.field]
	lo, hi := int(enforcer.ZoneIDOfMark(f.Lo)), int(enforcer.ZoneIDOfMark(f.Hi))
	name := ""
	for id := lo; id <= hi; id++ {
		n, ok := a.applied.Zones[uint8(id)]
		if !ok {
			continue
		}
		if name != "" {
			return SideAny
		}
		name = n
	}
	if name == "" {
		return SideUnknown
	}
	return name
}
