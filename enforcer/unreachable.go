package enforcer

import (
	"fmt"

	"github.com/zonewall/zonewall/zones"
)

// zoneNetworks counts, per zone (or class) name, the endpoints of its
// running containers on each network name. A Cache keeps one summed over
// its entries, so a compile need not walk every container to find the
// networks of a zone.
type zoneNetworks map[string]map[string]int

func (zn zoneNetworks) add(zone string, networks []string, delta int) {
	for _, n := range networks {
		zn.addOne(zone, n, delta)
	}
}

func (zn zoneNetworks) addOne(zone, network string, delta int) {
	nets := zn[zone]
	if nets == nil {
		nets = map[string]int{}
		zn[zone] = nets
	}
	if nets[network] += delta; nets[network] == 0 {
		delete(nets, network)
		if len(nets) == 0 {
			delete(zn, zone)
		}
	}
}

// count records that e's running container is in class now.
func (c *Cache) count(e *cacheEntry, class string) {
	if e.counted && e.class == class {
		return
	}
	c.uncount(e)
	e.class, e.counted = class, true
	c.reach.add(class, e.networks, 1)
}

// classified records that running container ct is in class: in the
// cache's entry, or without a cache in this compile's own count.
func (m *membership) classified(ct *Container, e *cacheEntry, class string) {
	if m.c != nil {
		m.c.count(e, class)
		return
	}
	if m.local == nil {
		m.local = zoneNetworks{}
	}
	for i := range ct.Endpoints {
		m.local.addOne(class, ct.Endpoints[i].NetworkName, 1)
	}
}

func (c *Cache) uncount(e *cacheEntry) {
	if e.counted {
		c.reach.add(e.class, e.networks, -1)
		e.counted = false
	}
}

// networksOfZones is the zone -> networks count of inv's running
// containers: the cache's sum when it holds exactly them, else counted
// from inv.
func (m *membership) networksOfZones(inv Inventory, ids map[string]uint8) zoneNetworks {
	switch {
	case m.c == nil:
		return m.local
	case !m.dup:
		return m.c.reach
	}
	zn := zoneNetworks{}
	for i := range inv.Containers {
		c := &inv.Containers[i]
		if c.Running {
			zn.add(memberClass(c, m.zoneOf(c), ids), zonesContainer(c).Networks, 1)
		}
	}
	return zn
}

// unreachableFlows reports zone-to-zone flows whose zones both have members
// but share no network: Docker isolates networks from each other, so such a
// flow can never carry traffic (usually a forgotten network in compose).
func unreachableFlows(p *zones.Policy, nets zoneNetworks, r *Report) {
	for _, f := range p.Flows {
		if f.From.Kind != zones.KindZone || f.To.Kind != zones.KindZone {
			continue
		}
		for _, a := range f.From.Zones {
			for _, b := range f.To.Zones {
				if len(nets[a]) == 0 || len(nets[b]) == 0 || shareAny(nets[a], nets[b]) {
					continue
				}
				r.Findings = append(r.Findings, Finding{Kind: FindingUnreachableFlow, Zones: []string{a, b}, Flow: f.Index,
					Detail: fmt.Sprintf("%s (%s): zones %s and %s share no network", f.Label(), f.Pos.FileLine(), a, b)})
			}
		}
	}
}

func shareAny(a, b map[string]int) bool {
	for n := range a {
		if b[n] > 0 {
			return true
		}
	}
	return false
}
