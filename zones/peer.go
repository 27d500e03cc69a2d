package zones

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePeer reads an endpoint as policy tests and explain write it: a zone
// of this policy, "world", "world:IP" or "host".
func (p *Policy) ParsePeer(s string) (Peer, error) {
	switch {
	case s == "world":
		return Peer{Kind: KindWorld}, nil
	case s == "host":
		return Peer{Kind: KindHost}, nil
	case strings.HasPrefix(s, "world:"):
		addr, err := netip.ParseAddr(strings.TrimPrefix(s, "world:"))
		if err != nil || addr.Zone() != "" {
			return Peer{}, fmt.Errorf("%q: not an IP address after \"world:\"", s)
		}
		return Peer{Kind: KindWorld, Addr: addr.Unmap()}, nil
	}
	for _, z := range p.Zones {
		if z.Name == s {
			return Peer{Kind: KindZone, Zone: s}, nil
		}
	}
	names := []string{"world", "host"}
	for _, z := range p.Zones {
		names = append(names, z.Name)
	}
	return Peer{}, fmt.Errorf("unknown zone %q%s", s, suggest(s, names))
}
