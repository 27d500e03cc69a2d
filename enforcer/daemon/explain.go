package daemon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// Explain judges a connection with the policy being enforced and the
// containers running now, through the same Decide the compiler uses.
func (d *Daemon) Explain(req control.ExplainRequest) (control.ExplainResult, error) {
	d.mu.Lock()
	pol, v := d.policy, d.view
	d.mu.Unlock()
	if pol == nil {
		return control.ExplainResult{}, &control.BadRequestError{Msg: "no valid policy is loaded"}
	}
	if v == nil || v.policy != pol.p {
		// Policy reloaded since the last sync, or Docker not read yet.
		v = d.buildView(pol.p, v.inventoryOrEmpty())
	}
	proto, port, err := ParsePort(req.Port)
	if err != nil {
		return control.ExplainResult{}, &control.BadRequestError{Msg: err.Error()}
	}
	from, fromPeer, err := v.resolve(req.From)
	if err != nil {
		return control.ExplainResult{}, &control.BadRequestError{Msg: "FROM: " + err.Error()}
	}
	to, toPeer, err := v.resolve(req.To)
	if err != nil {
		return control.ExplainResult{}, &control.BadRequestError{Msg: "TO: " + err.Error()}
	}
	if fromPeer.Name != "" {
		return control.ExplainResult{}, &control.BadRequestError{Msg: "FROM: " + zones.ErrNameAsSource.Error()}
	}
	dec, ok := decideDefaultBridge(settingsOf(pol.p), from, to, fromPeer)
	if !ok {
		dec = d.cfg.Engine.Decide(pol.p, fromPeer, toPeer, proto, port)
	}
	res := control.ExplainResult{Allow: dec.Allow, Reason: dec.Reason, From: from, To: to, Port: portString(proto, port)}
	if dec.Flow != nil {
		res.Flow = &control.FlowRef{Label: dec.Flow.Label(), Pos: dec.Flow.Pos.FileLine()}
	}
	return res, nil
}

// ParsePort reads "tcp/443", "udp/53", "icmp", "icmpv6" or "" (any traffic).
func ParsePort(s string) (zones.Proto, uint16, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "any" {
		return zones.ProtoAny, 0, nil
	}
	name, num, hasNum := strings.Cut(s, "/")
	switch zones.Proto(name) {
	case zones.ProtoICMP, zones.ProtoICMPv6:
		if hasNum {
			return "", 0, fmt.Errorf("%q: %s takes no port", s, name)
		}
		return zones.Proto(name), 0, nil
	case zones.ProtoTCP, zones.ProtoUDP:
		if !hasNum {
			return "", 0, fmt.Errorf("%q: a port is needed, e.g. %s/443", s, name)
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("%q: port must be 1-65535", s)
		}
		return zones.Proto(name), uint16(n), nil
	}
	return "", 0, fmt.Errorf("%q: protocol must be tcp/PORT, udp/PORT, icmp or icmpv6", s)
}

func portString(p zones.Proto, port uint16) string {
	switch {
	case p == zones.ProtoAny:
		return "any"
	case port == 0:
		return string(p)
	}
	return fmt.Sprintf("%s/%d", p, port)
}

// resolve understands an explain endpoint: world, world:IP, host, a
// container name or ID, a zone, or an IP address (a container's, the host's,
// or else world).
func (v *view) resolve(s string) (control.Resolved, zones.Peer, error) {
	r := control.Resolved{Input: s}
	switch {
	case s == "":
		return r, zones.Peer{}, fmt.Errorf("empty endpoint")
	case s == "world":
		r.Kind = "world"
		return r, zones.Peer{Kind: zones.KindWorld}, nil
	case strings.HasPrefix(s, "world:"):
		p, err := zones.ParseWorldPeer(strings.TrimPrefix(s, "world:"))
		if err != nil {
			return r, zones.Peer{}, err
		}
		r.Kind, r.Name = "world", p.Name
		if p.Addr.IsValid() {
			r.Addr = p.Addr.String()
		}
		return r, p, nil
	case s == "host":
		r.Kind = "host"
		return r, zones.Peer{Kind: zones.KindHost}, nil
	}
	if c := v.index().byName[strings.TrimPrefix(s, "/")]; c != nil {
		return v.containerPeer(r, c)
	}
	for _, z := range v.policy.Zones {
		if z.Name == s {
			r.Kind, r.Zone = "zone", s
			return r, zones.Peer{Kind: zones.KindZone, Zone: s}, nil
		}
	}
	if c := v.container(s); c != nil {
		return v.containerPeer(r, c)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		r.Addr = a.String()
		if c := v.index().byAddr[a]; c != nil {
			return v.containerPeer(r, c)
		}
		if v.index().hostAddrs[a] {
			r.Kind = "host"
			return r, zones.Peer{Kind: zones.KindHost, Addr: a}, nil
		}
		r.Kind = "world"
		return r, zones.Peer{Kind: zones.KindWorld, Addr: a}, nil
	}
	return r, zones.Peer{}, fmt.Errorf("%q is no running container, zone, IP address, world, world:IP or host%s", s, v.suggest(s))
}

func (v *view) containerPeer(r control.Resolved, c *enforcer.Container) (control.Resolved, zones.Peer, error) {
	r.Kind, r.Container = "container", c.Name
	if c.NetworkMode == "host" {
		// Its traffic is the host's own; no zone applies.
		r.Kind, r.Note = "host", "container "+c.Name+" uses the host network"
		return r, zones.Peer{Kind: zones.KindHost}, nil
	}
	m := v.members[c.ID]
	r.Zone = m.Zone
	switch {
	case m.Conflict():
		r.Note = "conflict: matched by zones " + strings.Join(m.Matched, ", ") + "; treated as unzoned"
	case m.Zone == "":
		r.Note = "unzoned"
	}
	peer := zones.Peer{Kind: zones.KindZone, Zone: m.Zone}
	if r.Addr != "" {
		peer.Addr, _ = netip.ParseAddr(r.Addr)
	}
	if v.onDefaultBridge(c, peer.Addr) {
		r.DefaultBridge = true
		r.Note = strings.TrimPrefix(r.Note+"; on Docker's default bridge", "; ")
	}
	return r, peer, nil
}

// onDefaultBridge says whether the kernel classes this container's traffic
// as default-bridge: the endpoint holding addr, or, without an address,
// every endpoint of the container is on docker0.
func (v *view) onDefaultBridge(c *enforcer.Container, addr netip.Addr) bool {
	isDefault := func(ep enforcer.Endpoint) bool {
		if ep.Bridge == "docker0" {
			return true
		}
		for _, n := range v.inv.Networks {
			if n.ID == ep.NetworkID {
				return n.Default
			}
		}
		return false
	}
	if addr.IsValid() {
		for _, ep := range c.Endpoints {
			if ep.IPv4.Unmap() == addr || ep.IPv6 == addr {
				return isDefault(ep)
			}
		}
	}
	for _, ep := range c.Endpoints {
		if !isDefault(ep) {
			return false
		}
	}
	return len(c.Endpoints) > 0
}

// decideDefaultBridge mirrors the compiler: traffic of a default-bridge
// endpoint is decided by settings.default_bridge alone (the host's own
// connections still by host_to_containers).
func decideDefaultBridge(s zones.Settings, from, to control.Resolved, fromPeer zones.Peer) (zones.Decision, bool) {
	if !from.DefaultBridge && !to.DefaultBridge {
		return zones.Decision{}, false
	}
	if fromPeer.Kind == zones.KindHost && s.HostToContainers == "allow" {
		return zones.Decision{}, false
	}
	who := from
	if !from.DefaultBridge {
		who = to
	}
	if s.DefaultBridge == "allow" {
		return zones.Decision{Allow: true, Reason: fmt.Sprintf("container %s is on Docker's default bridge (settings.default_bridge: allow)", who.Container)}, true
	}
	return zones.Decision{Reason: fmt.Sprintf("container %s is on Docker's default bridge (settings.default_bridge: %s)", who.Container, s.DefaultBridge)}, true
}

// suggest names the closest zone or container for a misspelt endpoint.
func (v *view) suggest(s string) string {
	best, bestD := "", 3
	try := func(name string) {
		if d := editDistance(s, name); d < bestD {
			best, bestD = name, d
		}
	}
	for _, z := range v.policy.Zones {
		try(z.Name)
	}
	for _, c := range v.containers {
		try(c.Name)
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// settingsOf fills in defaults for a policy without a settings block.
func settingsOf(p *zones.Policy) zones.Settings {
	if p.Settings.Mode == "" {
		return zones.DefaultSettings()
	}
	return p.Settings
}
