package enforcer

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
)

// fillMembership writes the per-container data: which zone each bridge port
// (with its endpoint's MAC) and each container address belongs to, and
// which addresses each port may use as a source. A port or address claimed
// twice with different zones (or a port with two MACs) gets the conflict id
// (denied) rather than either zone. Everything is built by sorting, not
// hashing: it runs for every container on every compile.
func fillMembership(rs *Ruleset, cls classification) {
	br, in := rs.Table(FamilyBridge), rs.Table(FamilyInet)
	type port struct {
		name string
		mac  [6]byte
		id   uint8
	}
	type owned struct {
		port string
		addr netip.Addr
		id   uint8
	}
	ports := make([]port, 0, len(cls.endpoints))
	addrs := make([]owned, 0, 2*len(cls.endpoints))
	for _, e := range cls.endpoints {
		if e.macOK && e.ep.HostVeth != "" {
			ports = append(ports, port{e.ep.HostVeth, e.mac, e.id})
		}
		for _, a := range []netip.Addr{e.ep.IPv4, e.ep.IPv6} {
			if a.IsValid() {
				addrs = append(addrs, owned{e.ep.HostVeth, a.Unmap(), e.id})
			}
		}
	}

	// Sized up front: growing 50,000-element slices was a third of a compile.
	n4 := 0
	for _, o := range addrs {
		if o.addr.Is4() {
			n4++
		}
	}
	grow := func(s *Set, n int) { s.Elements = slices.Grow(s.Elements, n) }
	grow(br.Set(SetPortAddr4), n4)
	grow(br.Set(SetPortAddr6), len(addrs)-n4)
	grow(in.Set(SetZoneOf4), n4)
	grow(in.Set(SetZoneOf6), len(addrs)-n4)

	slices.SortFunc(ports, func(a, b port) int { return cmp.Compare(a.name, b.name) })
	portZone := br.Set(SetPortZone)
	grow(portZone, len(ports))
	portFields := make([]Field, 0, 2*len(ports))
	for i := 0; i < len(ports); {
		p, j := ports[i], i+1
		for ; j < len(ports) && ports[j].name == p.name; j++ {
			if ports[j].id != p.id || ports[j].mac != p.mac {
				p.id = ZoneIDConflict
			}
		}
		i = j
		portFields = append(portFields, IfnameField(p.name), EtherField(p.mac))
		key := portFields[len(portFields)-2 : len(portFields) : len(portFields)]
		portZone.Elements = append(portZone.Elements, Element{Key: key, Data: ZoneMark(p.id), Origin: membershipOrigin})
	}

	// Source pinning: every (port, address) pair, sorted by port then address.
	slices.SortFunc(addrs, func(a, b owned) int { return cmp.Or(cmp.Compare(a.port, b.port), a.addr.Compare(b.addr)) })
	pairFields := make([]Field, 0, 2*len(addrs))
	for i, o := range addrs {
		if o.port == "" || (i > 0 && addrs[i-1].port == o.port && addrs[i-1].addr == o.addr) {
			continue
		}
		pairFields = append(pairFields, IfnameField(o.port), AddrField(o.addr))
		set := br.Set(SetPortAddr4)
		if o.addr.Is6() {
			set = br.Set(SetPortAddr6)
		}
		set.Elements = append(set.Elements, Element{Key: pairFields[len(pairFields)-2 : len(pairFields) : len(pairFields)], Origin: membershipOrigin})
	}

	// Destination identity: address -> zone, sorted by address.
	slices.SortFunc(addrs, func(a, b owned) int { return a.addr.Compare(b.addr) })
	addrFields := make([]Field, 0, len(addrs))
	for i := 0; i < len(addrs); {
		o, j := addrs[i], i+1
		for ; j < len(addrs) && addrs[j].addr == o.addr; j++ {
			if addrs[j].id != o.id {
				o.id = ZoneIDConflict
			}
		}
		i = j
		addrFields = append(addrFields, AddrField(o.addr))
		set := in.Set(SetZoneOf4)
		if o.addr.Is6() {
			set = in.Set(SetZoneOf6)
		}
		set.Elements = append(set.Elements, Element{Key: addrFields[len(addrFields)-1 : len(addrFields) : len(addrFields)], Data: ZoneMark(o.id), Origin: membershipOrigin})
	}
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
