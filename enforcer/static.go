package enforcer

import (
	"fmt"
	"net/netip"

	"github.com/zonewall/zonewall/zones"
)

// The static part of the ruleset: tables, sets (without elements), chains and
// rules. It depends only on the mode (enforce/audit) and the log group, never
// on the containers, so container churn only ever changes set elements.

// Set names.
const (
	SetPortZone  = "port_zone"  // bridge: host veth -> zone mark
	SetPortAddr4 = "port_addr4" // bridge: host veth . its MAC . IPv4 the endpoint owns -> zone mark
	SetPortAddr6 = "port_addr6" // bridge: host veth . its MAC . IPv6 the endpoint owns -> zone mark
	SetZoneOf4   = "zone_of4"   // inet: container IPv4 -> zone mark
	SetZoneOf6   = "zone_of6"   // inet: container IPv6 -> zone mark
	SetAllowCC   = "allow_cc"   // inet: src zone . dst zone . l4proto . dport
	SetAllowW4   = "allow_w4"   // inet: src zone . world IPv4 . l4proto . dport
	SetAllowW6   = "allow_w6"
	SetAllowIn4  = "allow_in4" // inet: world IPv4 source . dst zone . l4proto . dport
	SetAllowIn6  = "allow_in6"
	SetAllowHost = "allow_host" // inet: src zone . l4proto . dport (to the host itself)
	SetAllowOut  = "allow_out"  // inet: dst zone . l4proto . dport (host -> container)
	// Metadata addresses, decided before world (see metadataRules).
	SetAllowMeta4   = "allow_meta4"
	SetAllowMeta6   = "allow_meta6"
	SetAllowMetaIn4 = "allow_meta_in4"
	SetAllowMetaIn6 = "allow_meta_in6"
)

// Chain priorities: before Docker's filter-priority chains (iptables-nft
// and Docker 29's nftables backend both use priority filter = 0).
const (
	PriorityBridgePrerouting = -300
	PriorityInet             = -10
)

// vethPrefix is how Docker names the host end of a container's veth pair.
const vethPrefix = "veth"

// Static is the static part of the ruleset Compile builds with these
// options and mode ("enforce" or "audit"): tables, set definitions without
// elements, chains and rules.
func Static(opts Options, mode string) *Ruleset {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	return staticRuleset(opts, mode == "audit")
}

func staticRuleset(opts Options, audit bool) *Ruleset {
	rs := &Ruleset{
		Tables:      []*Table{bridgeTable(opts, audit), inetTable(opts, audit)},
		LogPrefixes: map[string]Origin{},
		NflogGroup:  opts.NflogGroup,
		// Everything the static part depends on; bump the version when
		// static.go changes shape.
		StaticKey: fmt.Sprintf("static-v9 table=%s group=%d audit=%v", opts.Table, opts.NflogGroup, audit),
	}
	// Every NFLOG prefix names the default that dropped.
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, rule := range c.Rules {
				if rule.Log != nil {
					rs.LogPrefixes[rule.Log.Prefix] = DefaultOrigin(originOfDenyChain(c.Name))
				}
			}
		}
	}
	return rs
}

func bridgeTable(opts Options, audit bool) *Table {
	// A port is known together with its endpoint's MAC, so a container that
	// forges its source MAC (to take over another's in the bridge's
	// forwarding table) is an unknown port.
	portKey := []KeyPart{KeyIifname, KeyEtherSaddr}
	// An address is known together with its port and the port's MAC, and
	// maps to the port's zone: one lookup both proves the source and
	// gives the mark.
	own4 := []KeyPart{KeyIifname, KeyEtherSaddr, KeyIPSaddr}
	own6 := []KeyPart{KeyIifname, KeyEtherSaddr, KeyIP6Saddr}
	v4 := []uint16{EtherIPv4}
	v6 := []uint16{EtherIPv6}
	arp := []uint16{EtherARP}
	icmp6 := MatchL4Proto{ProtoICMPv6}
	return &Table{
		Family: FamilyBridge,
		Name:   opts.Table,
		Sets: []*Set{
			{Name: SetPortZone, Key: []FieldType{FieldIfname, FieldEther}, Data: FieldMark, Comment: "container port and its MAC -> zone"},
			{Name: SetPortAddr4, Key: []FieldType{FieldIfname, FieldEther, FieldIPv4}, Data: FieldMark, Comment: "addresses Docker gave each port -> zone"},
			{Name: SetPortAddr6, Key: []FieldType{FieldIfname, FieldEther, FieldIPv6}, Data: FieldMark, Comment: "addresses Docker gave each port -> zone"},
		},
		Chains: []*Chain{
			{Name: "prerouting", Hook: "prerouting", Priority: PriorityBridgePrerouting, Rules: []*Rule{
				// The common case first, before anything else runs on every
				// frame: IPv4 from the port's own MAC and address is marked
				// and accepted after one lookup. A forged MAC or address
				// fails the map lookup, which ends this rule, so the frame
				// falls through to the unknown-port and spoofing checks.
				{Matches: []Match{MatchEtherType{Types: v4}},
					SetMark: &SetMark{Key: own4, Map: SetPortAddr4}, Verdict: Verdict{Kind: VerdictAccept},
					Comment: "own MAC and IPv4 address"},
				// The same for IPv6 TCP and UDP; ICMPv6 takes the slow path,
				// whose router/neighbour checks apply to own addresses too.
				ownIPv6Fast(ProtoTCP, own6),
				ownIPv6Fast(ProtoUDP, own6),
				// After the fast paths, which only ports in @port_zone pass
				// (the same frames this rule never accepts), so the order
				// changes no verdict; it saves every container frame an
				// iifname load and compare.
				{Matches: []Match{MatchIifnamePrefix{Prefix: vethPrefix, Negate: true}, MatchLookup{Key: portKey, Set: SetPortZone, Negate: true}},
					Verdict: Verdict{Kind: VerdictAccept},
					Comment: "not a container port"},
				{Matches: []Match{MatchLookup{Key: portKey, Set: SetPortZone, Negate: true}}, Verdict: gotoDeny(OriginUnknownPort),
					Comment: "unknown port, or a source MAC that is not the endpoint's"},
				{SetMark: &SetMark{Key: portKey, Map: SetPortZone}},
				{Matches: []Match{MatchEtherType{Types: []uint16{EtherIPv4, EtherIPv6, EtherARP}, Negate: true}}, Verdict: gotoDeny(OriginBadEther)},
				// Below, the port and MAC are known (the rules above), so
				// the address maps are used as sets of port . MAC . address.
				{Matches: []Match{MatchEtherType{Types: arp}, MatchLookup{Key: []KeyPart{KeyIifname, KeyEtherSaddr, KeyARPSaddr}, Set: SetPortAddr4, Negate: true},
					MatchARPSaddr{Addr: unspecified4, Negate: true}}, Verdict: gotoDeny(OriginSpoof)},
				{Matches: []Match{MatchEtherType{Types: v4}, MatchLookup{Key: own4, Set: SetPortAddr4, Negate: true}},
					Verdict: gotoDeny(OriginSpoof)},
				{Matches: []Match{MatchEtherType{Types: v6}, icmp6, MatchICMPv6Type{From: 134, To: 134}}, Verdict: gotoDeny(OriginSpoof),
					Comment: "router advertisement: containers are not routers"},
				{Matches: []Match{MatchEtherType{Types: v6}, icmp6, MatchICMPv6Type{From: 137, To: 137}}, Verdict: gotoDeny(OriginSpoof),
					Comment: "redirect: containers are not routers"},
				{Matches: []Match{MatchEtherType{Types: v6}, icmp6, MatchICMPv6Type{From: 136, To: 136}, MatchNDTarget{Prefix: linkLocal6, Negate: true},
					MatchLookup{Key: []KeyPart{KeyIifname, KeyEtherSaddr, KeyNDTarget}, Set: SetPortAddr6, Negate: true}}, Verdict: gotoDeny(OriginSpoof),
					Comment: "neighbour advertisement for an address the port does not own"},
				{Matches: []Match{MatchEtherType{Types: v6}, icmp6, MatchAddr{Key: KeyIP6Saddr, Prefix: unspecified6}}, Verdict: Verdict{Kind: VerdictAccept},
					Comment: "duplicate address detection"},
				{Matches: []Match{MatchEtherType{Types: v6}, icmp6, MatchAddr{Key: KeyIP6Saddr, Prefix: linkLocal6}}, Verdict: Verdict{Kind: VerdictAccept},
					Comment: "neighbour discovery"},
				{Matches: []Match{MatchEtherType{Types: v6}, MatchLookup{Key: own6, Set: SetPortAddr6, Negate: true}},
					Verdict: gotoDeny(OriginSpoof)},
			}},
			denyChain(OriginUnknownPort, opts, audit),
			denyChain(OriginBadEther, opts, audit),
			denyChain(OriginSpoof, opts, audit),
		},
	}
}

// ownIPv6Fast marks and accepts IPv6 of one non-ICMPv6 protocol from the
// port's own MAC and address (see the IPv4 fast path).
func ownIPv6Fast(proto uint8, own6 []KeyPart) *Rule {
	return &Rule{Matches: []Match{MatchEtherType{Types: []uint16{EtherIPv6}}, MatchL4Proto{proto}},
		SetMark: &SetMark{Key: own6, Map: SetPortAddr6}, Verdict: Verdict{Kind: VerdictAccept},
		Comment: "own MAC and IPv6 address"}
}

func inetTable(opts Options, audit bool) *Table {
	interval := func(name, comment string, key ...FieldType) *Set {
		// Allow sets count per element: allowed traffic per zone pair and flow.
		return &Set{Name: name, Key: key, Interval: true, Counter: true, Comment: comment}
	}
	established := MatchCtState{States: []string{"established", "related"}}
	invalid := MatchCtState{States: []string{"invalid"}}
	// Link-local ICMPv6 that IPv6 needs: MLD (130-132, 143) and neighbour
	// discovery (133-136). Never routed, so no zone decides it.
	nd := []Match{MatchL4Proto{ProtoICMPv6}, MatchICMPv6Type{From: 130, To: 136}}
	mld2 := []Match{MatchL4Proto{ProtoICMPv6}, MatchICMPv6Type{From: 143, To: 143}}
	ip4, ip6 := MatchNfproto{IPv6: false}, MatchNfproto{IPv6: true}
	accept := Verdict{Kind: VerdictAccept}
	fromContainer := MatchMarkZone{Value: 0, Negate: true}
	lookup := func(set string, key ...KeyPart) MatchLookup { return MatchLookup{Key: key, Set: set} }
	// The destination container's zone is looked up into the conntrack mark
	// of the (new) connection, so that it can be one field of the allow
	// key; the following rule re-checks membership, so a failed lookup never
	// leaves a stale ct mark in play.
	isCtr4, isCtr6 := lookup(SetZoneOf4, KeyIPDaddr), lookup(SetZoneOf6, KeyIP6Daddr)
	dstZone4 := &Rule{Matches: []Match{ip4}, SetMark: &SetMark{Ct: true, Key: []KeyPart{KeyIPDaddr}, Map: SetZoneOf4}}
	dstZone6 := &Rule{Matches: []Match{ip6}, SetMark: &SetMark{Ct: true, Key: []KeyPart{KeyIP6Daddr}, Map: SetZoneOf6}}
	metaOut, metaIn := metadataRules(ip4, ip6, isCtr4, isCtr6)
	return &Table{
		Family: FamilyInet,
		Name:   opts.Table,
		Sets: []*Set{
			{Name: SetZoneOf4, Key: []FieldType{FieldIPv4}, Data: FieldMark, Comment: "container address -> zone"},
			{Name: SetZoneOf6, Key: []FieldType{FieldIPv6}, Data: FieldMark, Comment: "container address -> zone"},
			interval(SetAllowCC, "container -> container", FieldMark, FieldMark, FieldProto, FieldPort),
			interval(SetAllowW4, "container -> world", FieldMark, FieldIPv4, FieldProto, FieldPort),
			interval(SetAllowW6, "container -> world", FieldMark, FieldIPv6, FieldProto, FieldPort),
			interval(SetAllowIn4, "world -> container", FieldIPv4, FieldMark, FieldProto, FieldPort),
			interval(SetAllowIn6, "world -> container", FieldIPv6, FieldMark, FieldProto, FieldPort),
			interval(SetAllowMeta4, "container -> metadata service, only where a flow names it", FieldMark, FieldIPv4, FieldProto, FieldPort),
			interval(SetAllowMeta6, "container -> metadata service, only where a flow names it", FieldMark, FieldIPv6, FieldProto, FieldPort),
			interval(SetAllowMetaIn4, "metadata address -> container", FieldIPv4, FieldMark, FieldProto, FieldPort),
			interval(SetAllowMetaIn6, "metadata address -> container", FieldIPv6, FieldMark, FieldProto, FieldPort),
			interval(SetAllowHost, "container -> host", FieldMark, FieldProto, FieldPort),
			interval(SetAllowOut, "host -> container", FieldMark, FieldProto, FieldPort),
		},
		Chains: []*Chain{
			{Name: "forward", Hook: "forward", Priority: PriorityInet, Rules: []*Rule{
				{Matches: []Match{established}, Verdict: accept},
				{Matches: []Match{fromContainer}, Verdict: Verdict{Kind: VerdictGoto, Chain: "from_container"}},
				{Matches: []Match{ip4, lookup(SetZoneOf4, KeyIPDaddr)}, Verdict: Verdict{Kind: VerdictGoto, Chain: "to_container"}},
				{Matches: []Match{ip6, lookup(SetZoneOf6, KeyIP6Daddr)}, Verdict: Verdict{Kind: VerdictGoto, Chain: "to_container"}},
			}},
			{Name: "from_container", Rules: []*Rule{
				{Matches: []Match{invalid}, Verdict: gotoDeny(OriginInvalid)},
				{Matches: nd, Verdict: accept},
				{Matches: mld2, Verdict: accept},
				dstZone4, {Matches: []Match{ip4, isCtr4, lookup(SetAllowCC, KeyMarkZone, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				dstZone6, {Matches: []Match{ip6, isCtr6, lookup(SetAllowCC, KeyMarkZone, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Matches: []Match{ip4, lookup(SetZoneOf4, KeyIPDaddr)}, Verdict: gotoDeny(OriginNoFlowCC)},
				{Matches: []Match{ip6, lookup(SetZoneOf6, KeyIP6Daddr)}, Verdict: gotoDeny(OriginNoFlowCC)},
				metaOut[0], metaOut[1], metaOut[2], metaOut[3],
				// After the container and metadata checks, so a name never
				// opens a container or a metadata address.
				{Matches: []Match{MatchMarkBit{Bit: MarkNameAllowed}}, Verdict: accept,
					Comment: "world address a DNS answer opened for this zone (table " + opts.Table + "_dns)"},
				{Matches: []Match{ip4, lookup(SetAllowW4, KeyMarkZone, KeyIPDaddr, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Matches: []Match{ip6, lookup(SetAllowW6, KeyMarkZone, KeyIP6Daddr, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Verdict: gotoDeny(OriginNoFlowWorld)},
			}},
			{Name: "to_container", Rules: []*Rule{
				{Matches: []Match{invalid}, Verdict: gotoDeny(OriginInvalid)},
				{Matches: nd, Verdict: accept},
				{Matches: mld2, Verdict: accept},
				dstZone4, dstZone6,
				metaIn[0], metaIn[1], metaIn[2], metaIn[3],
				{Matches: []Match{ip4, isCtr4, lookup(SetAllowIn4, KeyIPSaddr, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Matches: []Match{ip6, isCtr6, lookup(SetAllowIn6, KeyIP6Saddr, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Verdict: gotoDeny(OriginNoFlowIn)},
			}},
			{Name: "input", Hook: "input", Priority: PriorityInet, Rules: []*Rule{
				{Matches: []Match{established}, Verdict: accept},
				{Matches: []Match{fromContainer}, Verdict: Verdict{Kind: VerdictGoto, Chain: "to_host"}},
			}},
			{Name: "to_host", Rules: []*Rule{
				{Matches: []Match{invalid}, Verdict: gotoDeny(OriginInvalid)},
				{Matches: nd, Verdict: accept},
				{Matches: mld2, Verdict: accept},
				{Matches: []Match{MatchMarkBit{Bit: MarkNameAllowed}}, Verdict: accept,
					Comment: "DNS query redirected to zonewall's forwarder (table " + opts.Table + "_dns)"},
				{Matches: []Match{lookup(SetAllowHost, KeyMarkZone, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Verdict: gotoDeny(OriginNoFlowHost)},
			}},
			{Name: "output", Hook: "output", Priority: PriorityInet, Rules: []*Rule{
				{Matches: []Match{established}, Verdict: accept},
				{Matches: nd, Verdict: accept},
				{Matches: mld2, Verdict: accept},
				dstZone4, {Matches: []Match{ip4, isCtr4, lookup(SetAllowOut, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				dstZone6, {Matches: []Match{ip6, isCtr6, lookup(SetAllowOut, KeyCtMark, KeyL4Proto, KeyTHDport)}, Verdict: accept},
				{Matches: []Match{ip4, lookup(SetZoneOf4, KeyIPDaddr)}, Verdict: gotoDeny(OriginNoFlowOut)},
				{Matches: []Match{ip6, lookup(SetZoneOf6, KeyIP6Daddr)}, Verdict: gotoDeny(OriginNoFlowOut)},
			}},
			denyChain(OriginInvalid, opts, audit),
			denyChain(OriginNoFlowCC, opts, audit),
			denyChain(OriginNoFlowWorld, opts, audit),
			denyChain(OriginNoFlowIn, opts, audit),
			denyChain(OriginNoFlowHost, opts, audit),
			denyChain(OriginNoFlowOut, opts, audit),
		},
	}
}

// DenyChainName is the regular chain every default denial of that origin
// jumps to; its counter counts them.
func DenyChainName(origin string) string { return "deny_" + underscore(origin) }

func gotoDeny(origin string) Verdict {
	return Verdict{Kind: VerdictGoto, Chain: DenyChainName(origin)}
}

// LogPrefix is the NFLOG prefix of a default denial; audit mode uses a
// different word so consumers can tell would-be drops from drops.
func LogPrefix(origin string, audit bool) string {
	if audit {
		return "zw:audit:" + origin + " "
	}
	return "zw:drop:" + origin + " "
}

// denyChain logs (rate limited, so a flood cannot flood the log) and then
// drops, or in audit mode accepts, with a counter either way.
func denyChain(origin string, opts Options, audit bool) *Chain {
	final := Verdict{Kind: VerdictDrop}
	if audit {
		final = Verdict{Kind: VerdictAccept}
	}
	return &Chain{Name: DenyChainName(origin), Rules: []*Rule{
		{Log: &Log{Prefix: LogPrefix(origin, audit), Group: opts.NflogGroup, RatePerSec: 20, BurstPacket: 50}},
		{Counter: true, Verdict: final},
	}}
}

func underscore(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// metadataRules decide traffic to (egress) and from (ingress) the cloud
// metadata addresses before the world sets: world elements then can be
// plain CIDRs instead of "everything minus one address" (32 IPv4 and 128
// IPv6 prefixes for the kernel's range sets, per element). Only flows whose
// cidrs name a metadata address put elements in the metadata sets.
func metadataRules(ip4, ip6 MatchNfproto, isCtr4, isCtr6 MatchLookup) (out, in [4]*Rule) {
	var meta4, meta6 netip.Prefix
	for _, p := range zones.MetadataPrefixes {
		if p.Addr().Is4() {
			meta4 = p
		} else {
			meta6 = p
		}
	}
	accept := Verdict{Kind: VerdictAccept}
	out = [4]*Rule{
		{Matches: []Match{ip4, MatchAddr{Key: KeyIPDaddr, Prefix: meta4}, MatchLookup{Key: []KeyPart{KeyMarkZone, KeyIPDaddr, KeyL4Proto, KeyTHDport}, Set: SetAllowMeta4}}, Verdict: accept},
		{Matches: []Match{ip4, MatchAddr{Key: KeyIPDaddr, Prefix: meta4}}, Verdict: gotoDeny(OriginNoFlowWorld)},
		{Matches: []Match{ip6, MatchAddr{Key: KeyIP6Daddr, Prefix: meta6}, MatchLookup{Key: []KeyPart{KeyMarkZone, KeyIP6Daddr, KeyL4Proto, KeyTHDport}, Set: SetAllowMeta6}}, Verdict: accept},
		{Matches: []Match{ip6, MatchAddr{Key: KeyIP6Daddr, Prefix: meta6}}, Verdict: gotoDeny(OriginNoFlowWorld)},
	}
	in = [4]*Rule{
		{Matches: []Match{ip4, MatchAddr{Key: KeyIPSaddr, Prefix: meta4}, isCtr4, MatchLookup{Key: []KeyPart{KeyIPSaddr, KeyCtMark, KeyL4Proto, KeyTHDport}, Set: SetAllowMetaIn4}}, Verdict: accept},
		{Matches: []Match{ip4, MatchAddr{Key: KeyIPSaddr, Prefix: meta4}}, Verdict: gotoDeny(OriginNoFlowIn)},
		{Matches: []Match{ip6, MatchAddr{Key: KeyIP6Saddr, Prefix: meta6}, isCtr6, MatchLookup{Key: []KeyPart{KeyIP6Saddr, KeyCtMark, KeyL4Proto, KeyTHDport}, Set: SetAllowMetaIn6}}, Verdict: accept},
		{Matches: []Match{ip6, MatchAddr{Key: KeyIP6Saddr, Prefix: meta6}}, Verdict: gotoDeny(OriginNoFlowIn)},
	}
	return out, in
}
