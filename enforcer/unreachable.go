package enforcer

import (
	"fmt"

	"github.com/zonewall/zonewall/zones"
)

// unreachableFlows reports zone-to-zone flows whose zones both have members
// but share no network: Docker isolates networks from each other, so such a
// flow can never carry traffic (usually a forgotten network in compose).
func unreachableFlows(p *zones.Policy, inv Inventory, cls classification, r *Report) {
	nets := map[string]map[string]bool{} // zone -> network names
	for i := range inv.Containers {
		c := &inv.Containers[i]
		z, ok := cls.zoneOf[c.ID]
		if !ok {
			continue
		}
		if nets[z] == nil {
			nets[z] = map[string]bool{}
		}
		for _, ep := range c.Endpoints {
			nets[z][ep.NetworkName] = true
		}
	}
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

func shareAny(a, b map[string]bool) bool {
	for n := range a {
		if b[n] {
			return true
		}
	}
	return false
}
