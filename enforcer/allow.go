package enforcer

import (
	"net/netip"

	"github.com/zonewall/zonewall/zones"
)

// protoPort is one protocol range with one port range, as key fields.
type protoPort struct{ proto, port Field }

var anyTraffic = protoPort{NumRange(0, 255), NumRange(0, 65535)}

// protoPorts turns a flow's ports into key ranges. ICMP has no ports: the
// port field (which reads the ICMP checksum) is left unrestricted.
func protoPorts(ports []zones.PortRange) []protoPort {
	if len(ports) == 0 {
		return []protoPort{anyTraffic}
	}
	var out []protoPort
	for _, pr := range ports {
		switch pr.Proto {
		case zones.ProtoTCP:
			out = append(out, protoPort{NumField(ProtoTCP), NumRange(uint32(pr.From), uint32(pr.To))})
		case zones.ProtoUDP:
			out = append(out, protoPort{NumField(ProtoUDP), NumRange(uint32(pr.From), uint32(pr.To))})
		case zones.ProtoICMP:
			out = append(out, protoPort{NumField(ProtoICMP), NumRange(0, 65535)})
		case zones.ProtoICMPv6:
			out = append(out, protoPort{NumField(ProtoICMPv6), NumRange(0, 65535)})
		default:
			out = append(out, anyTraffic)
		}
	}
	return out
}

var (
	all4 = addrRange{netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255})}
	all6 = addrRange{netip.IPv6Unspecified(), netip.AddrFrom16([16]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})}
)

// worldRanges is the world side of a flow for one family: its cidrs, or
// everything. The metadata addresses need no hole here: rules decide them
// first (see metadataRules); meta lists the cidrs that name them, for the
// metadata sets.
func worldRanges(cidrs []netip.Prefix, v6 bool) (world, meta []addrRange) {
	if len(cidrs) == 0 {
		if v6 {
			return []addrRange{all6}, nil
		}
		return []addrRange{all4}, nil
	}
	for _, c := range cidrs {
		c = c.Masked()
		if c.Addr().Is6() != v6 {
			continue
		}
		r := addrRange{c.Addr(), lastAddr(c)}
		world = append(world, r)
		if namesMetadata(c) {
			meta = append(meta, r)
		}
	}
	return world, meta
}

// namesMetadata: a cidr inside a metadata prefix names it explicitly
// (169.254.0.0/16 or 0.0.0.0/0 do not), as zones.Decide judges.
func namesMetadata(c netip.Prefix) bool {
	for _, m := range zones.MetadataPrefixes {
		if m.Contains(c.Addr()) && c.Bits() >= m.Bits() {
			return true
		}
	}
	return false
}

// allowBuilder collects allow elements per set, in priority order.
type allowBuilder map[string][]Element

func (b allowBuilder) add(set string, o Origin, key ...Field) {
	b[set] = append(b[set], Element{Key: key, Origin: o})
}

// fillAllow writes the allow sets: the flows in order, then the defaults
// the settings ask for (the order zones.Decide checks them).
func fillAllow(rs *Ruleset, p *zones.Policy, s zones.Settings, ids map[string]uint8, opts Options) {
	b := allowBuilder{}
	for _, f := range p.Flows {
		flowElements(b, f, ids)
	}
	defaultElements(b, s, opts)
	in := rs.Table(FamilyInet)
	for name, els := range b {
		set := in.Set(name)
		set.Elements = makeDisjoint(set, els)
		set.Sort()
	}
}

func zonesOf(e zones.Endpoint, ids map[string]uint8) []uint8 {
	var out []uint8
	for _, z := range e.Zones {
		if id, ok := ids[z]; ok {
			out = append(out, id)
		}
	}
	return out
}

func flowElements(b allowBuilder, f *zones.Flow, ids map[string]uint8) {
	o := FlowOrigin(f)
	pps := protoPorts(f.Ports)
	switch {
	case len(f.Domains) > 0:
		// Egress by name: no static element. Its addresses are added at
		// run time, with timeouts, as the DNS forwarder sees lookups;
		// without that nothing of world is open to it (fail closed).
	case f.From.Kind == zones.KindZone && f.To.Kind == zones.KindZone:
		for _, src := range zonesOf(f.From, ids) {
			for _, dst := range zonesOf(f.To, ids) {
				for _, pp := range pps {
					b.add(SetAllowCC, o, zoneField(src), zoneField(dst), pp.proto, pp.port)
				}
			}
		}
	case f.From.Kind == zones.KindZone && f.To.Kind == zones.KindWorld:
		for _, src := range zonesOf(f.From, ids) {
			worldElements(f.CIDRs, pps, func(set string, w Field, pp protoPort) {
				b.add(set, o, zoneField(src), w, pp.proto, pp.port)
			}, [4]string{SetAllowW4, SetAllowW6, SetAllowMeta4, SetAllowMeta6})
		}
	case f.From.Kind == zones.KindWorld && f.To.Kind == zones.KindZone:
		for _, dst := range zonesOf(f.To, ids) {
			worldElements(f.CIDRs, pps, func(set string, w Field, pp protoPort) {
				b.add(set, o, w, zoneField(dst), pp.proto, pp.port)
			}, [4]string{SetAllowIn4, SetAllowIn6, SetAllowMetaIn4, SetAllowMetaIn6})
		}
	case f.From.Kind == zones.KindZone && f.To.Kind == zones.KindHost:
		for _, src := range zonesOf(f.From, ids) {
			for _, pp := range pps {
				b.add(SetAllowHost, o, zoneField(src), pp.proto, pp.port)
			}
		}
	case f.From.Kind == zones.KindHost && f.To.Kind == zones.KindZone:
		for _, dst := range zonesOf(f.To, ids) {
			for _, pp := range pps {
				b.add(SetAllowOut, o, zoneField(dst), pp.proto, pp.port)
			}
		}
	}
	// world/host <-> world/host is not container traffic: not zonewall's to decide.
}

// worldElements emits one element per world range and port spec into the
// sets named (IPv4, IPv6, IPv4 metadata, IPv6 metadata).
func worldElements(cidrs []netip.Prefix, pps []protoPort, emit func(string, Field, protoPort), sets [4]string) {
	for i, v6 := range []bool{false, true} {
		world, meta := worldRanges(cidrs, v6)
		for _, r := range world {
			for _, pp := range pps {
				emit(sets[i], r.field(), pp)
			}
		}
		for _, r := range meta {
			for _, pp := range pps {
				emit(sets[2+i], r.field(), pp)
			}
		}
	}
}

// defaultElements encodes the settings as data, so the rules stay the same
// whatever the settings are.
func defaultElements(b allowBuilder, s zones.Settings, opts Options) {
	unrestricted := func(id uint8, o Origin) {
		z := zoneField(id)
		b.add(SetAllowCC, o, z, anyZone, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowCC, o, anyZone, z, anyTraffic.proto, anyTraffic.port)
		// Towards world the metadata addresses stay excluded (no metadata
		// element); from world every source is let in, as zones.Decide
		// judges "unrestricted".
		b.add(SetAllowW4, o, z, all4.field(), anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowW6, o, z, all6.field(), anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowIn4, o, all4.field(), z, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowIn6, o, all6.field(), z, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowMetaIn4, o, all4.field(), z, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowMetaIn6, o, all6.field(), z, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowHost, o, z, anyTraffic.proto, anyTraffic.port)
		b.add(SetAllowOut, o, z, anyTraffic.proto, anyTraffic.port)
	}
	if s.DNS == "allow" {
		// Every container except default-bridge ones (their traffic is
		// decided by settings.default_bridge alone).
		o := DefaultOrigin(OriginDNS)
		classes := []Field{NumRange(ZoneMark(0), ZoneMark(ZoneIDDefaultBridge-1)), NumRange(ZoneMark(ZoneIDUnzoned), ZoneMark(ZoneIDConflict))}
		for _, z := range classes {
			for _, proto := range []uint32{ProtoUDP, ProtoTCP} {
				dns := protoPort{NumField(proto), NumField(53)}
				b.add(SetAllowHost, o, z, dns.proto, dns.port)
				for _, v6 := range []bool{false, true} {
					set := SetAllowW4
					if v6 {
						set = SetAllowW6
					}
					for _, r := range dnsRanges(opts.Resolvers, v6) {
						b.add(set, o, z, r.field(), dns.proto, dns.port)
					}
				}
			}
		}
	}
	if s.HostToContainers == "allow" {
		b.add(SetAllowOut, DefaultOrigin(OriginHostToContainers), anyZone, anyTraffic.proto, anyTraffic.port)
	}
	if s.Unzoned == "allow" {
		unrestricted(ZoneIDUnzoned, DefaultOrigin(OriginUnzonedAllow))
		unrestricted(ZoneIDConflict, DefaultOrigin(OriginUnzonedAllow))
	}
	if s.DefaultBridge == "allow" {
		unrestricted(ZoneIDDefaultBridge, DefaultOrigin(OriginDefaultBridge))
	}
}

// dnsRanges is where DNS may go: the configured resolvers, else all of world.
func dnsRanges(resolvers []netip.Addr, v6 bool) []addrRange {
	if len(resolvers) == 0 {
		all, _ := worldRanges(nil, v6)
		return all
	}
	var out []addrRange
	for _, a := range resolvers {
		a = a.Unmap()
		if a.Is6() == v6 {
			out = append(out, addrRange{a, a})
		}
	}
	return out
}
