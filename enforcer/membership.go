package enforcer

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
)

// fillMembership writes the per-container data: which zone each bridge port
// and each container address belongs to, and which addresses each port may
// use as a source. A port or address claimed twice with different zones is
// given the conflict id (denied) rather than either zone.
func fillMembership(rs *Ruleset, cls classification) {
	br, in := rs.Table(FamilyBridge), rs.Table(FamilyInet)
	type portAddr struct {
		port string
		addr netip.Addr
	}
	ports := make(map[string]uint8, len(cls.endpoints))
	macs := make(map[string][6]byte, len(cls.endpoints))
	addrs := make(map[netip.Addr]uint8, 2*len(cls.endpoints))
	var owned []portAddr
	for _, e := range cls.endpoints {
		if mac, ok := parseMAC(e.ep.MAC); ok && e.ep.HostVeth != "" {
			claim(ports, e.ep.HostVeth, e.id)
			if old, seen := macs[e.ep.HostVeth]; seen && old != mac {
				ports[e.ep.HostVeth] = ZoneIDConflict
			}
			macs[e.ep.HostVeth] = mac
		}
		for _, a := range []netip.Addr{e.ep.IPv4, e.ep.IPv6} {
			if !a.IsValid() {
				continue
			}
			a = a.Unmap()
			claim(addrs, a, e.id)
			if e.ep.HostVeth != "" {
				owned = append(owned, portAddr{e.ep.HostVeth, a})
			}
		}
	}
	// Deterministic order: by name, then address.
	portNames := make([]string, 0, len(ports))
	for p := range ports {
		portNames = append(portNames, p)
	}
	slices.Sort(portNames)
	fields := make([]Field, 2*len(portNames))
	els := make([]Element, len(portNames))
	for i, p := range portNames {
		fields[2*i], fields[2*i+1] = IfnameField(p), EtherField(macs[p])
		els[i] = Element{Key: fields[2*i : 2*i+2 : 2*i+2], Data: ZoneMark(ports[p]), Origin: membershipOrigin}
	}
	br.Set(SetPortZone).Elements = els

	slices.SortFunc(owned, func(a, b portAddr) int {
		return cmp.Or(cmp.Compare(a.port, b.port), a.addr.Compare(b.addr))
	})
	owned = slices.Compact(owned)
	pairFields := make([]Field, 2*len(owned))
	for _, set := range []*Set{br.Set(SetPortAddr4), br.Set(SetPortAddr6), in.Set(SetZoneOf4), in.Set(SetZoneOf6)} {
		set.Elements = make([]Element, 0, len(owned))
	}
	for i, o := range owned {
		pairFields[2*i], pairFields[2*i+1] = IfnameField(o.port), AddrField(o.addr)
		el := Element{Key: pairFields[2*i : 2*i+2 : 2*i+2], Origin: membershipOrigin}
		set := br.Set(SetPortAddr4)
		if o.addr.Is6() {
			set = br.Set(SetPortAddr6)
		}
		set.Elements = append(set.Elements, el)
	}

	addrList := make([]netip.Addr, 0, len(addrs))
	for a := range addrs {
		addrList = append(addrList, a)
	}
	slices.SortFunc(addrList, netip.Addr.Compare)
	addrFields := make([]Field, len(addrList))
	for i, a := range addrList {
		addrFields[i] = AddrField(a)
		set := in.Set(SetZoneOf4)
		if a.Is6() {
			set = in.Set(SetZoneOf6)
		}
		set.Elements = append(set.Elements, Element{Key: addrFields[i : i+1 : i+1], Data: ZoneMark(addrs[a]), Origin: membershipOrigin})
	}
}

// claim records that key belongs to zone id; a second, different claim
// turns it into a conflict (fail closed).
func claim[K comparable](m map[K]uint8, key K, id uint8) {
	if old, ok := m[key]; ok && old != id {
		id = ZoneIDConflict
	}
	m[key] = id
}

// parseMAC reads an endpoint's MAC ("02:42:ac:11:00:02").
func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return mac, false
	}
	copy(mac[:], hw)
	return mac, true
}
