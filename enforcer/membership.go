package enforcer

import (
	"net/netip"
	"sort"
)

// fillMembership writes the per-container data: which zone each bridge port
// and each container address belongs to, and which addresses each port may
// use as a source. A port or address claimed twice with different zones is
// given the conflict id (denied) rather than either zone.
func fillMembership(rs *Ruleset, cls classification) {
	br, in := rs.Table(FamilyBridge), rs.Table(FamilyInet)
	ports := map[string]uint8{}
	addrs := map[netip.Addr]uint8{}
	claim := func(m map[string]uint8, k string, id uint8) {
		if old, ok := m[k]; ok && old != id {
			id = ZoneIDConflict
		}
		m[k] = id
	}
	var portAddr4, portAddr6 []Element
	for _, e := range cls.endpoints {
		if e.ep.HostVeth != "" {
			claim(ports, e.ep.HostVeth, e.id)
		}
		for _, a := range []netip.Addr{e.ep.IPv4, e.ep.IPv6} {
			if !a.IsValid() {
				continue
			}
			a = a.Unmap()
			if old, ok := addrs[a]; ok && old != e.id {
				addrs[a] = ZoneIDConflict
			} else {
				addrs[a] = e.id
			}
			if e.ep.HostVeth == "" {
				continue
			}
			el := Element{Key: []Field{IfnameField(e.ep.HostVeth), AddrField(a)}, Origin: membershipOrigin}
			if a.Is4() {
				portAddr4 = append(portAddr4, el)
			} else {
				portAddr6 = append(portAddr6, el)
			}
		}
	}
	for name, id := range ports {
		br.Set(SetPortZone).Elements = append(br.Set(SetPortZone).Elements,
			Element{Key: []Field{IfnameField(name)}, Data: ZoneMark(id), Origin: membershipOrigin})
	}
	br.Set(SetPortAddr4).Elements = dedupe(portAddr4)
	br.Set(SetPortAddr6).Elements = dedupe(portAddr6)
	for a, id := range addrs {
		set := in.Set(SetZoneOf4)
		if a.Is6() {
			set = in.Set(SetZoneOf6)
		}
		set.Elements = append(set.Elements, Element{Key: []Field{AddrField(a)}, Data: ZoneMark(id), Origin: membershipOrigin})
	}
	for _, s := range []*Set{br.Set(SetPortZone), in.Set(SetZoneOf4), in.Set(SetZoneOf6)} {
		sortElements(s)
	}
}

func dedupe(els []Element) []Element {
	seen := map[string]bool{}
	out := els[:0]
	for _, e := range els {
		k := e.Key[0].Name + "|" + e.Key[1].Addr.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key[0].Name != out[j].Key[0].Name {
			return out[i].Key[0].Name < out[j].Key[0].Name
		}
		return out[i].Key[1].Addr.Less(out[j].Key[1].Addr)
	})
	return out
}

// sortElements orders single-key sets for deterministic output.
func sortElements(s *Set) {
	sort.Slice(s.Elements, func(i, j int) bool {
		a, b := s.Elements[i].Key[0], s.Elements[j].Key[0]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Addr.Less(b.Addr)
	})
}
