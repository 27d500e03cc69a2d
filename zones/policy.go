// Package zones reads trust-zone files and produces a typed, immutable Policy.
//
// The Policy is the single source of truth for every decision zonewall makes:
// the enforcer compiles it into nftables sets, and explain/test evaluate it
// with Decide, so what an operator is told is what the kernel enforces.
package zones

import (
	"fmt"
	"net/netip"
)

// Pos locates a value in a zone file (1-based line and column).
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders "file:line:col".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// FileLine renders "file:line", the form explain and drops show.
func (p Pos) FileLine() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Policy is the merged, validated content of a zone-file directory.
type Policy struct {
	Files    []string // files read, in lexical order
	Zones    []*Zone  // in declaration order (file order, then position)
	Flows    []*Flow  // in declaration order; Flow.Index is the position in this slice
	Settings Settings
}

// Zone is a named set of containers.
type Zone struct {
	Name        string
	Description string
	Members     []Selector // a container is a member if ANY selector matches
	Pos         Pos
}

// Selector matches a container if ALL of its non-empty fields match.
type Selector struct {
	Name    string // container name glob, no leading slash
	Compose string // "project/service" or "project/*"
	Label   string // "key=value" or "key"
	Image   string // image reference glob
	Network string // Docker network name the container is attached to
	Pos     Pos
}

// EndpointKind says what one side of a flow names.
type EndpointKind int

const (
	KindZone  EndpointKind = iota // a zone by name
	KindWorld                     // anything that is neither this host nor a container
	KindHost                      // this host's own addresses
)

// Endpoint is one side of a flow: one or more zones, or world, or host.
type Endpoint struct {
	Kind  EndpointKind
	Zones []string // KindZone only; a list means each of them
}

// Proto is a transport protocol as named in zone files.
type Proto string

const (
	ProtoAny    Proto = "" // all traffic (ports omitted)
	ProtoTCP    Proto = "tcp"
	ProtoUDP    Proto = "udp"
	ProtoICMP   Proto = "icmp"
	ProtoICMPv6 Proto = "icmpv6"
)

// PortRange is a protocol with an inclusive port range. For tcp/udp with no
// port given, From=1 and To=65535 ("tcp" means every TCP port). For icmp,
// icmpv6 and ProtoAny the range is unused (0-0).
type PortRange struct {
	Proto Proto
	From  uint16
	To    uint16
	Pos   Pos
}

// Flow allows connections opened by From towards To.
type Flow struct {
	Index int    // position in Policy.Flows
	Name  string // optional operator-given name
	From  Endpoint
	To    Endpoint
	Ports []PortRange    // empty means all traffic
	CIDRs []netip.Prefix // narrows the world side; empty means all of world
	// Domains narrows the world side (of a flow to world) to the addresses
	// that matching names resolved to in lookups by the From zone; never
	// given together with CIDRs.
	Domains []Domain
	Pos     Pos // position of the flow item ("- from: ...")
}

// Label is how explain, drops and metrics name a flow: its name, or "flow N" (1-based).
func (f *Flow) Label() string {
	if f.Name != "" {
		return f.Name
	}
	return fmt.Sprintf("flow %d", f.Index+1)
}

// Settings are the policy-wide switches (spec section 1, "settings").
type Settings struct {
	Mode             string // "enforce" | "audit"
	Unzoned          string // "deny" | "allow"
	DefaultBridge    string // "deny" | "allow"
	HostNetwork      string // "report" | "stop"
	DNS              string // "allow" | "deny"
	HostToContainers string // "allow" | "deny"
	Pos              Pos    // where the settings block is, if given
}

// DefaultSettings are used for every setting the policy does not give.
func DefaultSettings() Settings {
	return Settings{Mode: "enforce", Unzoned: "deny", DefaultBridge: "deny", HostNetwork: "report", DNS: "allow", HostToContainers: "allow"}
}

// MetadataPrefixes are never part of "world" unless a flow names them in cidrs.
var MetadataPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.254/32"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}
