package enforcer

import "github.com/zonewall/zonewall/zones"

// FindingKind classifies something the operator should know about a
// container or a flow.
type FindingKind string

const (
	FindingUnzoned         FindingKind = "unzoned"          // matches no zone
	FindingConflict        FindingKind = "conflict"         // matches several zones: denied
	FindingHostNetwork     FindingKind = "host-network"     // shares the host's network namespace
	FindingDefaultBridge   FindingKind = "default-bridge"   // attached to docker0
	FindingUnfilterable    FindingKind = "unfilterable"     // macvlan/ipvlan/overlay, or container: mode with an unzoned peer
	FindingNoVeth          FindingKind = "no-veth"          // bridge endpoint whose host veth is unknown: its frames are dropped
	FindingUnreachableFlow FindingKind = "unreachable-flow" // flow between zones that share no network
	FindingDuplicate       FindingKind = "duplicate"        // address or port claimed by two endpoints: denied
	FindingTooManyZones    FindingKind = "too-many-zones"   // zone beyond the mark's capacity: its members are unzoned
)

// Finding is one entry of a Report.
type Finding struct {
	ContainerID   string // empty for flow findings
	ContainerName string
	Kind          FindingKind
	Zones         []string // conflict: the zones that matched; unreachable-flow: from and to
	Flow          int      // unreachable-flow: index into Policy.Flows; -1 otherwise
	Detail        string
}

// Report is what Compile found while classifying the inventory.
type Report struct {
	Findings []Finding
	members  memberSource
}

// memberSource is what Report.Members derives the zones from: building a
// map of every container in each compile would cost more than the rest of
// a one-container change.
type memberSource struct {
	p          *zones.Policy
	containers []Container // the compiled inventory's, shared
	ids        map[string]uint8
}

// Members returns the zone of every running container by ID: a zone name,
// or one of the class names ClassUnzoned, ClassConflict, ClassHostNetwork.
// It matches the containers against the policy again (a compile does not
// pay for it), so the compiled inventory must not have been modified since.
func (r Report) Members() map[string]string {
	out := map[string]string{}
	for i := range r.members.containers {
		c := &r.members.containers[i]
		if c.Running {
			out[c.ID] = memberClass(c, r.members.p.ZoneOf(zonesContainer(c)), r.members.ids)
		}
	}
	return out
}

// Class names used in Report.Members and Ruleset.Zones for non-zones.
const (
	ClassUnzoned       = "unzoned"
	ClassConflict      = "conflict"
	ClassDefaultBridge = "default-bridge"
	ClassHostNetwork   = "host-network"
)

// Has reports whether the report holds a finding of that kind for the
// container (by ID); for flow findings pass "".
func (r Report) Has(kind FindingKind, containerID string) bool {
	for _, f := range r.Findings {
		if f.Kind == kind && f.ContainerID == containerID {
			return true
		}
	}
	return false
}

func (r *Report) add(c *Container, kind FindingKind, detail string, zones ...string) {
	f := Finding{Kind: kind, Detail: detail, Zones: zones, Flow: -1}
	if c != nil {
		f.ContainerID, f.ContainerName = c.ID, c.Name
	}
	r.Findings = append(r.Findings, f)
}
