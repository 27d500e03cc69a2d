package zones

import "net/netip"

// This file fixes the API that membership and verdicts are computed through.
// The enforcer, explain and `zonewall test` all use these, so the operator is
// told exactly what the kernel enforces.

// Container is what membership selectors look at.
type Container struct {
	Name     string            // without leading slash
	Image    string            // image reference as the container was created with
	Labels   map[string]string // includes com.docker.compose.project / .service
	Networks []string          // names of Docker networks it is attached to
}

// Membership is the outcome of matching one container against all zones.
type Membership struct {
	Zone    string   // the zone; "" when none or conflict
	Matched []string // every zone that matched (len > 1 means conflict)
}

// Conflict reports a container matched by more than one zone.
func (m Membership) Conflict() bool { return len(m.Matched) > 1 }

// Peer is one side of a connection being judged by Decide.
type Peer struct {
	Kind EndpointKind // KindZone (Zone set, or "" for an unzoned container), KindWorld, KindHost
	Zone string
	Addr netip.Addr // optional; for world it selects cidrs (zero: any world address outside metadata)
	// Name is, for world only, a DNS name (canonical form) that the
	// connection's address was resolved from: domain flows decide it.
	// Set either Name or Addr, not both.
	Name string
}

// Decision is a verdict with the reason an operator reads.
type Decision struct {
	Allow  bool
	Flow   *Flow  // the flow that allowed it; nil when a default decided
	Reason string // e.g. `flow "public-web" (zones.d/shop.yaml:12)` or `no flow from web to db allows tcp/5432`
}
