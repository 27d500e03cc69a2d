package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// This file holds the narrow interfaces the daemon needs from the rest of
// zonewall, so the loop can be tested with in-memory fakes (fakes_test.go).

// Inventory is the Docker side (enforcer/docker's Tracker).
type Inventory interface {
	// Synced reports whether the first full inventory has been read.
	Synced() bool
	// Snapshot returns the inventory now in a deterministic order. The
	// daemon keeps it and compares it with the next one; it never writes
	// into it (the Tracker shares its values between snapshots).
	Snapshot() enforcer.Inventory
}

// DockerHealth is implemented by inventories that know whether Docker
// answers (enforcer/docker's Tracker): Unreachable says why not, "" when it
// does. Status reports it as degraded.
type DockerHealth interface {
	Unreachable() string
}

// RevisionedInventory is implemented by inventories that number their
// snapshots (enforcer/docker's Tracker): equal nonzero revisions mean equal
// inventories, so a sync after an event that changed nothing compares two
// numbers instead of two inventories.
type RevisionedInventory interface {
	SnapshotRev() (enforcer.Inventory, uint64)
}

// Ruleset is a compiled desired state (enforcer.Ruleset), opaque to the daemon.
type Ruleset interface {
	String() string // nft syntax
}

// DropOriginer is implemented by rulesets that know what each of their log
// prefixes stands for (a default decision, or a flow).
type DropOriginer interface {
	DropOrigin(prefix string) string
}

// Engine is the pure policy side: zone files and compilation.
type Engine interface {
	// Load reads a zone-file directory once and returns the policy and the
	// files it was parsed from; the error lists every problem (one
	// "file:line:col: message" each, via Unwrap() []error or lines).
	Load(dir string) (*zones.Policy, []zones.Source, error)
	// Parse is Load of zone files held in memory (the saved policy).
	Parse(files []zones.Source) (*zones.Policy, error)
	// Compile builds the ruleset for p and inv, and what must be reported.
	Compile(p *zones.Policy, inv enforcer.Inventory) (Ruleset, []control.Finding)
	ZoneOf(p *zones.Policy, c zones.Container) zones.Membership
	Decide(p *zones.Policy, from, to zones.Peer, proto zones.Proto, port uint16) zones.Decision
}

// ApplyStats describes one successful apply.
type ApplyStats struct {
	Full   bool           // the table was rebuilt rather than diffed
	Counts map[string]int // e.g. elements added/removed, rules
}

// Kernel programs nftables (enforcer/nft's Applier).
type Kernel interface {
	// Apply installs rs in one transaction; full forces a complete rebuild.
	Apply(rs Ruleset, full bool) (ApplyStats, error)
	// Verify returns drift != nil when the live tables no longer match what
	// was last applied (deleted, flushed or changed by someone else), and
	// err != nil when the check itself failed.
	Verify() (drift error, err error)
}

// Names is egress by name: zonewall's DNS forwarder and the kernel's DNS
// table (cmd/zonewall wires enforcer/dnsproxy and enforcer/nft).
type Names interface {
	// Enforce follows the policy and the zone numbering (zone name -> id)
	// of the ruleset the kernel just took.
	Enforce(p *zones.Policy, zoneIDs map[string]uint8) error
	// Status lists per zone the names resolved and their live addresses.
	Status() []control.NameStatus
	// NameOf is the name a world address was last resolved from, or "".
	NameOf(addr netip.Addr) string
}

// ContainerStopper stops containers (settings.host_network: stop).
type ContainerStopper interface {
	StopContainer(ctx context.Context, id string) error
}

// Notifier tells the service manager about the daemon's state (sd_notify).
type Notifier interface {
	Ready()
	Stopping()
	Watchdog()
	// WatchdogInterval is how often Watchdog must be called; 0 means never.
	WatchdogInterval() time.Duration
}

// Metrics receives every figure the daemon counts. All methods must be cheap.
type Metrics interface {
	Applied(full bool, d time.Duration, err error)
	DriftRepaired()
	ReloadFailed()
	ZoneMembers(counts map[string]int)
	Reported(findings int)
	// SetReported replaces the counts of reported containers by finding kind.
	SetReported(byKind map[string]int)
	// LoggedDrop counts one drop the kernel logged through NFLOG, attributed
	// to zones ("world", "host", "unzoned", ... for non-members) and to the
	// default decision that dropped it.
	LoggedDrop(fromZone, toZone, reason string)
}

// DropPacket is a dropped packet as the NFLOG reader reports it.
type DropPacket struct {
	Time              time.Time
	Prefix            string
	Proto             uint8 // IP protocol number
	Src, Dst          netip.Addr
	SrcPort, DstPort  uint16
	InIface, OutIface string
}

type nopNotifier struct{}

func (nopNotifier) Ready()                          {}
func (nopNotifier) Stopping()                       {}
func (nopNotifier) Watchdog()                       {}
func (nopNotifier) WatchdogInterval() time.Duration { return 0 }

type nopMetrics struct{}

func (nopMetrics) Applied(bool, time.Duration, error) {}
func (nopMetrics) DriftRepaired()                     {}
func (nopMetrics) ReloadFailed()                      {}
func (nopMetrics) ZoneMembers(map[string]int)         {}
func (nopMetrics) Reported(int)                       {}
func (nopMetrics) SetReported(map[string]int)         {}
func (nopMetrics) LoggedDrop(string, string, string)  {}
