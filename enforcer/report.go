package enforcer

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
	// Zone of every running container by ID: a zone name, or one of the
	// class names ClassUnzoned, ClassConflict, ClassHostNetwork.
	Members map[string]string
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
