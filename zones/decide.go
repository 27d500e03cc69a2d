package zones

import (
	"fmt"
	"net/netip"
)

// IsMetadata reports whether addr is a cloud metadata address, which world
// never includes unless a flow names it in cidrs.
func IsMetadata(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, m := range MetadataPrefixes {
		if m.Contains(addr) {
			return true
		}
	}
	return false
}

// namesMetadata reports whether cidr names a metadata address explicitly: it
// must lie inside a metadata prefix, so 0.0.0.0/0 or 169.254.0.0/16 do not
// open the metadata service by accident.
func namesMetadata(cidr netip.Prefix, addr netip.Addr) bool {
	for _, m := range MetadataPrefixes {
		if m.Contains(addr) && cidr.Contains(addr) && cidr.Bits() >= m.Bits() && m.Contains(cidr.Addr()) {
			return true
		}
	}
	return false
}

// CoversWorld reports whether the flow's world side includes addr. A zero
// addr stands for "some world address" and is covered by every world side.
// Metadata addresses are covered only by a cidr that names them. A domain
// flow covers no given address: an address reached without a lookup is not
// allowed by it (see CoversName).
func (f *Flow) CoversWorld(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	if len(f.Domains) > 0 {
		return false
	}
	addr = addr.Unmap()
	meta := IsMetadata(addr)
	if len(f.CIDRs) == 0 {
		return !meta
	}
	for _, c := range f.CIDRs {
		if meta {
			if namesMetadata(c, addr) {
				return true
			}
		} else if c.Contains(addr) {
			return true
		}
	}
	return false
}

// covers reports whether one side of the flow includes the peer.
func (f *Flow) covers(e Endpoint, peer Peer) bool {
	if e.Kind != peer.Kind {
		return false
	}
	switch e.Kind {
	case KindZone:
		return e.HasZone(peer.Zone)
	case KindWorld:
		if peer.Name != "" {
			return f.CoversName(peer.Name)
		}
		return f.CoversWorld(peer.Addr)
	default:
		return true
	}
}

// CoversName reports whether the flow's world side includes the addresses
// that the DNS name resolves to: a domain flow by its domains; a world side
// without cidrs (all of world) always; a side narrowed by cidrs never, since
// the addresses a name resolves to are not known offline.
func (f *Flow) CoversName(name string) bool {
	if len(f.Domains) > 0 {
		_, ok := f.MatchDomain(name)
		return ok
	}
	return len(f.CIDRs) == 0
}

// Allows reports whether the flow admits a connection from -> to with
// proto/port (see PortRange.Covers for ProtoAny and port 0).
func (f *Flow) Allows(from, to Peer, proto Proto, port uint16) bool {
	if !f.covers(f.From, from) || !f.covers(f.To, to) {
		return false
	}
	if len(f.Ports) == 0 {
		return true
	}
	for _, r := range f.Ports {
		if r.Covers(proto, port) {
			return true
		}
	}
	return false
}

// Reason renders the allow reason naming this flow: flow "NAME" (file:line).
func (f *Flow) Reason() string { return fmt.Sprintf("flow %q (%s)", f.Label(), f.Pos.FileLine()) }

// String renders a peer as policy tests write it: a zone, "unzoned",
// "world", "world:IP" or "host".
func (p Peer) String() string {
	switch p.Kind {
	case KindWorld:
		if p.Name != "" {
			return "world:" + p.Name
		}
		if p.Addr.IsValid() {
			return "world:" + p.Addr.String()
		}
		return "world"
	case KindHost:
		return "host"
	}
	if p.Zone == "" {
		return "unzoned container"
	}
	return p.Zone
}
