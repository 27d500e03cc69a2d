package daemon

import (
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// view is the inventory seen through the policy: who is in which zone and
// which container owns an address. It is built on every sync and read by
// status, explain and drops without touching the loop; once built it is
// never written (the lookup index is filled once, on first use).
type view struct {
	policy     *zones.Policy
	inv        enforcer.Inventory  // read-only (see enforcer/docker's Snapshot)
	members    map[string]memberAt // container ID -> membership
	containers []*enforcer.Container

	hostAddrList func() []netip.Addr // read when the index is built
	indexOnce    sync.Once
	idx          viewIndex
}

// memberAt is a membership and the container revision it was matched at.
type memberAt struct {
	zones.Membership
	rev uint64
}

// viewIndex finds containers by address and name. Only explain and drops
// need it, so a sync does not pay for it: it is built on first use.
type viewIndex struct {
	byAddr    map[netip.Addr]*enforcer.Container
	byName    map[string]*enforcer.Container
	hostAddrs map[netip.Addr]bool
}

// buildView classifies inv's containers. A container whose ID and nonzero
// Rev are those of the previous view's (same policy) keeps its membership:
// a sync after one event matches one container, not all of them.
func (d *Daemon) buildView(p *zones.Policy, inv enforcer.Inventory) *view {
	d.mu.Lock()
	prev := d.view
	d.mu.Unlock()
	var memo map[string]memberAt
	if prev != nil && prev.policy == p {
		memo = prev.members
	}
	v := &view{
		policy:       p,
		inv:          inv,
		members:      make(map[string]memberAt, len(inv.Containers)),
		containers:   make([]*enforcer.Container, len(inv.Containers)),
		hostAddrList: d.cachedHostAddrs,
	}
	matched := 0
	for i := range inv.Containers {
		c := &inv.Containers[i]
		v.containers[i] = c
		if m, ok := memo[c.ID]; ok && m.rev != 0 && m.rev == c.Rev {
			v.members[c.ID] = m
			continue
		}
		v.members[c.ID] = memberAt{Membership: d.cfg.Engine.ZoneOf(p, zonesContainer(c)), rev: c.Rev}
		matched++
	}
	d.viewMatches.Add(uint64(matched))
	return v
}

// index returns the lookup maps, building them on first use.
func (v *view) index() *viewIndex {
	v.indexOnce.Do(func() {
		v.idx = viewIndex{
			byAddr:    map[netip.Addr]*enforcer.Container{},
			byName:    make(map[string]*enforcer.Container, len(v.containers)),
			hostAddrs: map[netip.Addr]bool{},
		}
		for _, c := range v.containers {
			v.idx.byName[c.Name] = c
			for _, ep := range c.Endpoints {
				for _, a := range []netip.Addr{ep.IPv4, ep.IPv6} {
					if a.IsValid() {
						v.idx.byAddr[a.Unmap()] = c
					}
				}
			}
		}
		if v.hostAddrList != nil {
			for _, a := range v.hostAddrList() {
				v.idx.hostAddrs[a.Unmap()] = true
			}
		}
	})
	return &v.idx
}

// zonesContainer is what membership selectors look at.
func zonesContainer(c *enforcer.Container) zones.Container {
	zc := zones.Container{Name: c.Name, Image: c.Image, Labels: c.Labels}
	for _, ep := range c.Endpoints {
		zc.Networks = append(zc.Networks, ep.NetworkName)
	}
	return zc
}

// zoneCounts is the number of running containers per zone (unzoned ones are reported instead).
func (v *view) zoneCounts() map[string]int {
	n := map[string]int{}
	for _, z := range v.policy.Zones {
		n[z.Name] = 0
	}
	for _, c := range v.containers {
		if z := v.members[c.ID].Zone; z != "" && c.Running {
			n[z]++
		}
	}
	return n
}

// zones lists every zone with its running members, in policy order.
func (v *view) zones() []control.ZoneStatus {
	out := make([]control.ZoneStatus, 0, len(v.policy.Zones))
	idx := map[string]int{}
	for _, z := range v.policy.Zones {
		idx[z.Name] = len(out)
		out = append(out, control.ZoneStatus{Name: z.Name, Description: z.Description, Members: []control.Member{}})
	}
	for _, c := range v.containers {
		i, ok := idx[v.members[c.ID].Zone]
		if !ok || !c.Running {
			continue
		}
		out[i].Members = append(out[i].Members, control.Member{ID: shortID(c.ID), Name: c.Name, Service: composeService(c)})
	}
	for i := range out {
		sort.Slice(out[i].Members, func(a, b int) bool { return out[i].Members[a].Name < out[i].Members[b].Name })
	}
	return out
}

// container finds a container by name or by a unique ID prefix (4+ characters).
func (v *view) container(s string) *enforcer.Container {
	s = strings.TrimPrefix(s, "/")
	if c := v.index().byName[s]; c != nil {
		return c
	}
	if len(s) < 4 {
		return nil
	}
	var found *enforcer.Container
	for _, c := range v.containers {
		if strings.HasPrefix(c.ID, s) {
			if found != nil {
				return nil // ambiguous
			}
			found = c
		}
	}
	return found
}

func composeService(c *enforcer.Container) string {
	p, s := c.Labels["com.docker.compose.project"], c.Labels["com.docker.compose.service"]
	if p == "" || s == "" {
		return ""
	}
	return p + "/" + s
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// InterfaceAddrs lists the addresses of this host's interfaces.
func InterfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if pn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(pn.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// cachedHostAddrs refreshes the host's addresses at most once a second:
// listing interfaces costs a netlink dump that grows with every veth.
func (d *Daemon) cachedHostAddrs() []netip.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hostAddrs == nil || time.Since(d.hostAddrsAt) > time.Second {
		d.hostAddrs, d.hostAddrsAt = d.cfg.HostAddrs(), time.Now()
	}
	return d.hostAddrs
}

// inventoryOrEmpty lets a nil view stand for "no containers known".
func (v *view) inventoryOrEmpty() enforcer.Inventory {
	if v == nil {
		return enforcer.Inventory{}
	}
	return v.inv
}
