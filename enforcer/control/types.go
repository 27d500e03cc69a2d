// Package control is the daemon's control socket: HTTP with JSON bodies over
// a unix socket (mode 0600), and the client the zonewall commands use.
//
// The types here are the wire format; they are plain data so that the
// commands can print them without importing the daemon.
package control

import (
	"time"

	"github.com/zonewall/zonewall/enforcer/observe"
)

// Status is what `zonewall status` shows.
type Status struct {
	Mode            string        `json:"mode"`   // enforce | audit ("" before any valid policy)
	Synced          bool          `json:"synced"` // the first full Docker inventory has been read
	BootFromState   bool          `json:"boot_from_state"`
	BridgeNetfilter string        `json:"bridge_netfilter"` // "on", or why it is not
	Policy          PolicyStatus  `json:"policy"`
	Zones           []ZoneStatus  `json:"zones"`
	Reported        []Finding     `json:"reported"`
	LastApply       *ApplyStatus  `json:"last_apply,omitempty"`
	Applies         int           `json:"applies"`   // kernel transactions
	Compiles        int           `json:"compiles"`  // reconciles that compiled a ruleset
	Unchanged       int           `json:"unchanged"` // compiles equal to the applied ruleset (no transaction)
	ApplyFailures   int           `json:"apply_failures"`
	DriftRepairs    int           `json:"drift_repairs"`
	ReloadFailures  int           `json:"reload_failures"`
	VerifyFailures  int           `json:"verify_failures"`                // drift checks that could not run
	StoppedHostNet  []string      `json:"stopped_host_network,omitempty"` // containers stopped by host_network: stop
	Names           []NameStatus  `json:"names,omitempty"`                // egress by name: resolved names per zone
	StartedAt       time.Time     `json:"started_at"`
	Uptime          time.Duration `json:"uptime_ns"`
	// Degraded lists why the daemon does not enforce what it should (no
	// valid policy, Docker unreachable, the last apply failed); empty when
	// healthy. `zonewall status` exits 1 when it is not empty.
	Degraded []string `json:"degraded,omitempty"`
	// Observing says how connections are recorded for `zonewall learn`.
	Observing    string        `json:"observing,omitempty"`
	Observations observe.Stats `json:"observations"`
}

// Observations is what `zonewall learn` reads.
type Observations struct {
	Mode      string                `json:"mode"`
	Observing string                `json:"observing"` // how connections are recorded now
	Stats     observe.Stats         `json:"stats"`
	Items     []observe.Observation `json:"items"`
}

// PolicyStatus describes the policy being enforced.
type PolicyStatus struct {
	Dir       string        `json:"dir"`    // zones_dir the daemon watches
	Source    string        `json:"source"` // "zones_dir", "state" (last valid from state_dir) or "none"
	Files     []string      `json:"files"`
	Zones     int           `json:"zones"`
	Flows     int           `json:"flows"`
	LoadedAt  time.Time     `json:"loaded_at"`
	Age       time.Duration `json:"age_ns"`
	LastError *ReloadError  `json:"last_error,omitempty"` // the latest reload failed; the policy above is still enforced
}

// ReloadError is a rejected reload of the zone files.
type ReloadError struct {
	At     time.Time `json:"at"`
	Errors []string  `json:"errors"` // each "file:line:col: message"
}

// ZoneStatus is one zone and the containers in it now.
type ZoneStatus struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Members     []Member `json:"members"`
}

// Member is a container as an operator recognizes it.
type Member struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Service string `json:"service,omitempty"` // compose "project/service"
}

// Finding is something zonewall reports about a container, a network or the host.
type Finding struct {
	Kind        string `json:"kind"` // unzoned, conflict, host-network, default-bridge, unfilterable, no-veth, unreachable-flow, published-port, br-netfilter, docker-version
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Detail      string `json:"detail"`
}

// ApplyStatus describes the last attempt to program the kernel.
type ApplyStatus struct {
	At       time.Time      `json:"at"`
	Duration time.Duration  `json:"duration_ns"`
	Full     bool           `json:"full"` // full rebuild rather than element diff
	Reason   string         `json:"reason"`
	Counts   map[string]int `json:"counts,omitempty"`
	Error    string         `json:"error,omitempty"`
	// LastSuccess is when the kernel last accepted a ruleset.
	LastSuccess time.Time `json:"last_success"`
}

// ExplainRequest asks whether a connection would pass.
type ExplainRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Port string `json:"port,omitempty"` // "tcp/443", "udp/53", "icmp", "tcp"; empty: any traffic
}

// ExplainResult is the verdict and why.
type ExplainResult struct {
	Allow  bool     `json:"allow"`
	Reason string   `json:"reason"`
	Flow   *FlowRef `json:"flow,omitempty"`
	From   Resolved `json:"from"`
	To     Resolved `json:"to"`
	Port   string   `json:"port"`
}

// FlowRef names the flow that allowed a connection.
type FlowRef struct {
	Label string `json:"label"` // name or "flow N"
	Pos   string `json:"pos"`   // file:line
}

// Resolved says how an explain endpoint was understood.
type Resolved struct {
	Input     string `json:"input"`
	Kind      string `json:"kind"` // zone, container, world, host
	Zone      string `json:"zone,omitempty"`
	Container string `json:"container,omitempty"`
	Addr      string `json:"addr,omitempty"`
	Name      string `json:"name,omitempty"` // world:NAME: a DNS name, decided by domain flows
	Note      string `json:"note,omitempty"` // e.g. "unzoned", "conflict: web, api"
	// DefaultBridge: the container is on Docker's default bridge, where
	// settings.default_bridge alone decides.
	DefaultBridge bool `json:"default_bridge,omitempty"`
}

// Drop is one dropped (or, in audit mode, would-be dropped) packet.
type Drop struct {
	Time    time.Time `json:"time"`
	Prefix  string    `json:"prefix"`            // the NFLOG prefix of the rule that logged it
	Decided string    `json:"decided,omitempty"` // which default (or flow, in audit mode) the prefix stands for
	// Direction is ingress, egress, internal, to-host, from-host or unknown
	// (DropDirection of Src and Dst).
	Direction string   `json:"direction,omitempty"`
	Proto     string   `json:"proto"`
	Src       DropSide `json:"src"`
	Dst       DropSide `json:"dst"`
	InIface   string   `json:"in_iface,omitempty"`
	OutIface  string   `json:"out_iface,omitempty"`
}

// DropSide is one end of a dropped packet, attributed through the inventory.
type DropSide struct {
	Addr        string `json:"addr,omitempty"`
	Port        uint16 `json:"port,omitempty"`
	Kind        string `json:"kind"` // container, host, world; unknown for non-IP packets
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Service     string `json:"service,omitempty"`
	Zone        string `json:"zone,omitempty"`
	// Name is, for a world address, the DNS name it was last resolved
	// from by zonewall's forwarder (egress by name).
	Name string `json:"name,omitempty"`
}

// NameStatus is one DNS name a zone resolved and how many of its addresses
// the kernel holds open now (egress by name).
type NameStatus struct {
	Zone      string    `json:"zone"`
	Name      string    `json:"name"`
	LiveAddrs int       `json:"live_addrs"`
	Expires   time.Time `json:"expires"` // when the last of them expires
}

// Audit is the outcome of `zonewall audit`.
type Audit struct {
	Findings []Finding `json:"findings"`
	// Docker is the engine the daemon follows; nil when it did not answer.
	Docker *DockerEngine `json:"docker,omitempty"`
}

// DockerEngine is the Docker Engine the daemon follows, and how far
// zonewall is proven against it.
type DockerEngine struct {
	Version         string `json:"version"`
	APIVersion      string `json:"api_version"`
	FirewallBackend string `json:"firewall_backend"` // iptables, nftables, iptables+firewalld
	Support         string `json:"support"`          // tested, untested, unsupported
	Detail          string `json:"detail"`
}
