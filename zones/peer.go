package zones

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrNameAsSource: domain flows are egress only, so a DNS name can only be
// the destination of a connection being judged.
var ErrNameAsSource = errors.New(`a DNS name (world:NAME) can only be the destination; domains decide egress to world`)

// ParseWorldPeer reads what follows "world:": an IP address or a DNS name
// (no wildcard; a name is decided by domain flows).
func ParseWorldPeer(s string) (Peer, error) {
	if addr, err := netip.ParseAddr(s); err == nil {
		if addr.Zone() != "" {
			return Peer{}, fmt.Errorf("%q: an address with a zone (%%%s) is not a world address", "world:"+s, addr.Zone())
		}
		return Peer{Kind: KindWorld, Addr: addr.Unmap()}, nil
	}
	if looksLikeAddr(s) {
		return Peer{}, fmt.Errorf("%q: not an IP address after \"world:\"", "world:"+s)
	}
	if err := CheckName(s); err != nil {
		return Peer{}, fmt.Errorf("%q: want an IP address or a DNS name after \"world:\": %v", "world:"+s, err)
	}
	return Peer{Kind: KindWorld, Name: CanonicalName(s)}, nil
}

// looksLikeAddr: digits, dots and colons only (a mistyped address, which
// must not be taken for a DNS name such as "10.0.0.300").
func looksLikeAddr(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == ':' || r == '/') {
			return false
		}
	}
	return s != ""
}

// ParsePeer reads an endpoint as policy tests and explain write it: a zone
// of this policy, "world", "world:IP" or "host".
func (p *Policy) ParsePeer(s string) (Peer, error) {
	switch {
	case s == "world":
		return Peer{Kind: KindWorld}, nil
	case s == "host":
		return Peer{Kind: KindHost}, nil
	case strings.HasPrefix(s, "world:"):
		return ParseWorldPeer(strings.TrimPrefix(s, "world:"))
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
