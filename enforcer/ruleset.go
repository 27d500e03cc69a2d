package enforcer

import "github.com/zonewall/zonewall/zones"

// Ruleset is the desired nftables state: a fixed set of tables, chains and
// rules (which depend only on Options and the policy's settings, never on the
// number of containers) plus the contents of the sets, which carry all
// per-container and per-flow data. It is plain data; enforcer/nft turns it
// into netlink messages and String renders it in nft syntax.
type Ruleset struct {
	Tables []*Table
	// LogPrefixes maps every NFLOG prefix used by a rule to the default
	// decision it reports, so drops read from NFLOG can be attributed.
	LogPrefixes map[string]Origin
	// NflogGroup is the netfilter log group every logging rule uses.
	NflogGroup uint16
	// Zones maps the zone id carried in the packet mark to its name
	// (including the reserved classes), for attributing drops.
	Zones map[uint8]string
	// StaticKey identifies the static part (tables, chains, rules, set
	// definitions): equal keys mean equal static parts, so an applier can
	// skip comparing them. Empty means unknown (compare the rendering).
	StaticKey string
}

// Family is an nftables address family.
type Family string

const (
	FamilyInet   Family = "inet"
	FamilyBridge Family = "bridge"
)

// Table is one nftables table owned by zonewall.
type Table struct {
	Family Family
	Name   string
	Sets   []*Set
	Chains []*Chain
}

// Chain is a base chain (Hook != "") or a regular chain jumped to.
type Chain struct {
	Name     string
	Hook     string // prerouting, input, forward, output; "" for a regular chain
	Priority int
	Rules    []*Rule
}

// Set returns the table's set with that name, or nil.
func (t *Table) Set(name string) *Set {
	for _, s := range t.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Table returns the ruleset's table of that family, or nil.
func (r *Ruleset) Table(f Family) *Table {
	for _, t := range r.Tables {
		if t.Family == f {
			return t
		}
	}
	return nil
}

// RuleCount is the number of rules in all chains (the static part).
func (r *Ruleset) RuleCount() int {
	n := 0
	for _, t := range r.Tables {
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}

// ElementCount is the number of elements in all sets (the dynamic part).
func (r *Ruleset) ElementCount() int {
	n := 0
	for _, t := range r.Tables {
		for _, s := range t.Sets {
			n += len(s.Elements)
		}
	}
	return n
}

// Origin says why an element or a log prefix exists: a flow of the policy
// (Flow >= 0, index into Policy.Flows) or a default (Flow == -1, Default set).
type Origin struct {
	Flow    int
	Default string
	Label   string // flow label ("public-web", "flow 3") or the default's name; shown as element comment
}

// Default origins.
const (
	OriginMembership       = "membership"         // port/address -> zone data, not an allow
	OriginDNS              = "dns"                // settings.dns: allow
	OriginUnzonedAllow     = "unzoned-allow"      // settings.unzoned: allow
	OriginDefaultBridge    = "default-bridge"     // settings.default_bridge: allow
	OriginHostToContainers = "host-to-containers" // settings.host_to_containers: allow
	// Log-prefix origins: which default decision dropped a packet.
	OriginUnknownPort = "unknown-port"      // frame from an unclassified bridge port
	OriginSpoof       = "spoofed-source"    // source address not given to that port
	OriginBadEther    = "bad-ethertype"     // neither IPv4, IPv6 nor ARP from a container port
	OriginInvalid     = "invalid-state"     // conntrack state invalid
	OriginNoFlowCC    = "no-flow-container" // container -> container, no flow allows it
	OriginNoFlowWorld = "no-flow-world"     // container -> world, no flow allows it
	OriginNoFlowHost  = "no-flow-host"      // container -> host, no flow allows it
	OriginNoFlowIn    = "no-flow-ingress"   // world -> container, no flow allows it
	OriginNoFlowOut   = "no-flow-host-to-container"
)

// FlowOrigin is the origin of data derived from flow i.
func FlowOrigin(f *zones.Flow) Origin { return Origin{Flow: f.Index, Label: f.Label()} }

// DefaultOrigin is the origin of data derived from a default or setting.
func DefaultOrigin(name string) Origin { return Origin{Flow: -1, Default: name, Label: name} }

// membershipOrigin marks per-container data (no comment: it is not an allow).
var membershipOrigin = Origin{Flow: -1, Default: OriginMembership}
