package dnsproxy

import (
	"context"
	"net/netip"
	"time"

	"github.com/zonewall/zonewall/zones"
)

// Grant opens one world address for one zone on the ports of one domain
// flow until Expires.
type Grant struct {
	Zone    string
	Addr    netip.Addr
	Ports   []zones.PortRange // the flow's ports; empty means all traffic
	Flow    string            // the flow's label, for status and metrics
	Name    string            // the name asked (canonical), for status and drops
	Expires time.Time
}

// Writer commits grants to the kernel. Allow must return only once every
// grant is in force (one transaction), or an error when none is; a grant
// for an address already allowed never shortens its lifetime.
type Writer interface {
	Allow(ctx context.Context, grants []Grant) error
}

// Resolver tells the zone of the container that owns a source address.
// known is false for an address that is no container's (yet): its queries
// are refused until the inventory knows it (fail closed). zone is "" for an
// unzoned or conflicting container.
type Resolver func(src netip.Addr) (zone string, known bool)
