package zones

import (
	"fmt"
)

// Decide judges a connection that from opens towards to, the way the
// enforcer's ruleset does. Checked in order:
//  1. neither side a container: not filtered by zonewall (allow);
//  2. the first flow, in declaration order, that allows it;
//  3. settings.dns: allow admits tcp/53 and udp/53 from any container to
//     host or world (never to a metadata address);
//  4. settings.host_to_containers: allow admits host -> any container;
//  5. an unzoned container (Zone "") on either side: settings.unzoned
//     decides; allow makes it unrestricted except towards metadata addresses;
//  6. everything else is denied.
//
// ProtoAny asks about all traffic (only flows without ports allow it); for
// tcp/udp, port 0 asks about every port.
func (p *Policy) Decide(from, to Peer, proto Proto, port uint16) Decision {
	from.Addr, to.Addr = from.Addr.Unmap(), to.Addr.Unmap()
	s := p.Settings
	if from.Kind != KindZone && to.Kind != KindZone {
		return Decision{Allow: true, Reason: "neither side is a container; zonewall does not filter this traffic"}
	}
	for _, f := range p.Flows {
		if f.Allows(from, to, proto, port) {
			reason := f.Reason()
			if d, ok := f.MatchDomain(to.Name); ok && to.Kind == KindWorld {
				reason += fmt.Sprintf(", %s matches domain %q", to.Name, d)
			}
			return Decision{Allow: true, Flow: f, Reason: reason}
		}
	}
	toMetadata := to.Kind == KindWorld && IsMetadata(to.Addr)
	if s.DNS == "allow" && from.Kind == KindZone && isDNS(proto, port) &&
		(to.Kind == KindHost || to.Kind == KindWorld && !toMetadata) {
		return Decision{Allow: true, Reason: settingReason("dns", s.DNS)}
	}
	if from.Kind == KindHost && s.HostToContainers == "allow" {
		return Decision{Allow: true, Reason: settingReason("host_to_containers", s.HostToContainers)}
	}
	if (from.Kind == KindZone && from.Zone == "") || (to.Kind == KindZone && to.Zone == "") {
		if s.Unzoned == "allow" && !toMetadata {
			return Decision{Allow: true, Reason: settingReason("unzoned", s.Unzoned)}
		}
		if s.Unzoned != "allow" {
			return Decision{Reason: "unzoned container (" + settingReason("unzoned", s.Unzoned) + ")"}
		}
	}
	for _, w := range []Peer{to, from} {
		if w.Kind == KindWorld && IsMetadata(w.Addr) {
			return Decision{Reason: fmt.Sprintf("world address %s is a cloud metadata address; only a flow naming it in cidrs reaches it", w.Addr)}
		}
	}
	reason := fmt.Sprintf("no flow from %s to %s allows %s", from, to, FormatProtoPort(proto, port))
	if to.Kind == KindWorld && to.Name != "" {
		reason += " (a name is allowed by a flow whose domains match it, or by a flow to all of world)"
	} else if to.Kind == KindWorld && to.Addr.IsValid() && p.namesDomainsFrom(from) {
		reason += " (domain flows allow only addresses resolved by a lookup; ask about world:NAME)"
	}
	if from.Kind == KindHost {
		reason += " (" + settingReason("host_to_containers", s.HostToContainers) + ")"
	}
	return Decision{Reason: reason}
}

// namesDomainsFrom reports whether a domain flow leaves from the peer's zone.
func (p *Policy) namesDomainsFrom(from Peer) bool {
	for _, f := range p.Flows {
		if len(f.Domains) > 0 && from.Kind == KindZone && f.From.HasZone(from.Zone) {
			return true
		}
	}
	return false
}

func isDNS(proto Proto, port uint16) bool {
	return (proto == ProtoTCP || proto == ProtoUDP) && port == 53
}
