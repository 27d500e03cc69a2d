package enforcer

import (
	"fmt"
	"net/netip"
	"strings"
)

// Match is one condition of a rule. The concrete types below are the whole
// vocabulary enforcer/nft knows how to translate into kernel expressions.
type Match interface {
	String() string
}

// ZoneMask is the part of the packet mark that carries the zone id.
const ZoneMask uint32 = 0x00ff0000

// ZoneShift positions a zone id inside ZoneMask.
const ZoneShift = 16

// MatchIifnamePrefix: iifname "veth*" (or != when Negate).
type MatchIifnamePrefix struct {
	Prefix string
	Negate bool
}

func (m MatchIifnamePrefix) String() string {
	return fmt.Sprintf("iifname %s%q", neg(m.Negate), m.Prefix+"*")
}

// MatchMarkZone: meta mark & ZoneMask == Value (or != when Negate).
type MatchMarkZone struct {
	Value  uint32
	Negate bool
}

func (m MatchMarkZone) String() string {
	return fmt.Sprintf("meta mark & 0x%08x %s0x%08x", ZoneMask, neg(m.Negate), m.Value)
}

// MarkNameAllowed is the packet-mark bit zonewall's DNS table sets on a
// packet it admits: a new connection to a world address that a DNS answer
// opened for the sender's zone, or a container's DNS query redirected to
// the forwarder. Only zonewall's own chains set it (frames from container
// ports get their whole mark written by the bridge table).
const MarkNameAllowed uint32 = 0x01000000

// MatchMarkBit: meta mark & Bit != 0.
type MatchMarkBit struct {
	Bit uint32
}

func (m MatchMarkBit) String() string {
	return fmt.Sprintf("meta mark & 0x%08x != 0x00000000", m.Bit)
}

// MatchEtherType: ether type equals Type (or differs from every one of
// Types when Negate).
type MatchEtherType struct {
	Types  []uint16
	Negate bool
}

func (m MatchEtherType) String() string {
	names := make([]string, len(m.Types))
	for i, t := range m.Types {
		names[i] = etherTypeName(t)
	}
	if len(names) == 1 {
		return fmt.Sprintf("ether type %s%s", neg(m.Negate), names[0])
	}
	return fmt.Sprintf("ether type %s{ %s }", neg(m.Negate), strings.Join(names, ", "))
}

// Ether types.
const (
	EtherIPv4 uint16 = 0x0800
	EtherARP  uint16 = 0x0806
	EtherIPv6 uint16 = 0x86dd
)

func etherTypeName(t uint16) string {
	switch t {
	case EtherIPv4:
		return "ip"
	case EtherARP:
		return "arp"
	case EtherIPv6:
		return "ip6"
	}
	return fmt.Sprintf("0x%04x", t)
}

// MatchNfproto: meta nfproto ipv4|ipv6 (inet family: which header follows).
type MatchNfproto struct{ IPv6 bool }

func (m MatchNfproto) String() string {
	if m.IPv6 {
		return "meta nfproto ipv6"
	}
	return "meta nfproto ipv4"
}

// MatchCtState: ct state is one of States (established, related, invalid, new).
type MatchCtState struct{ States []string }

func (m MatchCtState) String() string { return "ct state " + strings.Join(m.States, ",") }

// MatchL4Proto: meta l4proto == Proto.
type MatchL4Proto struct{ Proto uint8 }

func (m MatchL4Proto) String() string { return "meta l4proto " + protoName(m.Proto) }

// MatchICMPv6Type: icmpv6 type in [From, To].
type MatchICMPv6Type struct{ From, To uint8 }

func (m MatchICMPv6Type) String() string {
	if m.From == m.To {
		return fmt.Sprintf("icmpv6 type %d", m.From)
	}
	return fmt.Sprintf("icmpv6 type %d-%d", m.From, m.To)
}

// MatchAddr: the address Key loads (ip/ip6 saddr/daddr) is inside Prefix.
type MatchAddr struct {
	Key    KeyPart
	Prefix netip.Prefix
}

func (m MatchAddr) String() string {
	if m.Prefix.IsSingleIP() {
		return m.Key.String() + " " + m.Prefix.Addr().String()
	}
	return m.Key.String() + " " + m.Prefix.String()
}

// MatchNDTarget: the target address of an ICMPv6 neighbour solicitation or
// advertisement is inside Prefix (or not, with Negate).
type MatchNDTarget struct {
	Prefix netip.Prefix
	Negate bool
}

func (m MatchNDTarget) String() string {
	return "icmpv6 nd-target " + neg(m.Negate) + m.Prefix.String()
}

// MatchARPSaddr: arp saddr ip == Addr (or != when Negate).
type MatchARPSaddr struct {
	Addr   netip.Addr
	Negate bool
}

func (m MatchARPSaddr) String() string { return "arp saddr ip " + neg(m.Negate) + m.Addr.String() }

var (
	unspecified4 = netip.IPv4Unspecified()
	unspecified6 = netip.MustParsePrefix("::/128")
	linkLocal6   = netip.MustParsePrefix("fe80::/10")
)

// KeyPart is one component of a lookup key, loaded from the packet.
type KeyPart int

const (
	KeyIifname    KeyPart = iota + 1
	KeyMarkZone           // meta mark & ZoneMask
	KeyIPSaddr            // ip saddr
	KeyIPDaddr            // ip daddr
	KeyIP6Saddr           // ip6 saddr
	KeyIP6Daddr           // ip6 daddr
	KeyARPSaddr           // arp saddr ip
	KeyL4Proto            // meta l4proto
	KeyTHDport            // th dport
	KeyCtMark             // ct mark (holds the destination's zone, see SetMark)
	KeyNDTarget           // target address of an ICMPv6 NS/NA
	KeyEtherSaddr         // ether saddr
)

var keyPartText = map[KeyPart]string{
	KeyIifname: "iifname", KeyMarkZone: fmt.Sprintf("meta mark & 0x%08x", ZoneMask),
	KeyIPSaddr: "ip saddr", KeyIPDaddr: "ip daddr", KeyIP6Saddr: "ip6 saddr", KeyIP6Daddr: "ip6 daddr",
	KeyARPSaddr: "arp saddr ip", KeyL4Proto: "meta l4proto", KeyTHDport: "th dport",
	KeyCtMark: "ct mark", KeyNDTarget: "icmpv6 nd-target", KeyEtherSaddr: "ether saddr",
}

func (k KeyPart) String() string { return keyPartText[k] }

// MatchLookup: the key built from Key is (or, with Negate, is not) in Set.
type MatchLookup struct {
	Key    []KeyPart
	Set    string
	Negate bool
}

func (m MatchLookup) String() string {
	parts := make([]string, len(m.Key))
	for i, k := range m.Key {
		parts[i] = k.String()
	}
	return fmt.Sprintf("%s %s@%s", strings.Join(parts, " . "), neg(m.Negate), m.Set)
}

func neg(b bool) string {
	if b {
		return "!= "
	}
	return ""
}
