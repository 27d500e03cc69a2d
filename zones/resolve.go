package zones

import (
	"fmt"
)

// resolveFlow turns endpoint names into Endpoints and checks what depends
// on them: unknown zones, world/host mixed with zones, cidrs placement.
func resolveFlow(pf *parsedFlow, known map[string]bool, candidates []string, errs *ErrorList) {
	f := pf.flow
	label := fmt.Sprintf("flow %d", f.Index+1)
	// Both sides are resolved even when one is broken, so every unknown
	// name is reported in the same run.
	var fromOK, toOK bool
	f.From, fromOK = resolveEndpoint(pf.from, label, known, candidates, errs)
	f.To, toOK = resolveEndpoint(pf.to, label, known, candidates, errs)
	if !pf.ok || !fromOK || !toOK {
		return
	}
	switch {
	case f.From.Kind != KindZone && f.To.Kind != KindZone:
		errs.add(f.Pos, fmt.Sprintf("%s: from %s to %s: one side must be a zone; zonewall filters only traffic of containers", label, f.From, f.To))
	case pf.cidrsPos.Line > 0 && f.From.Kind != KindWorld && f.To.Kind != KindWorld:
		errs.add(pf.cidrsPos, fmt.Sprintf("%s: cidrs is only valid when from or to is world", label))
	}
	if pf.domainsPos.Line == 0 {
		return
	}
	switch {
	case f.To.Kind != KindWorld && f.From.Kind == KindWorld:
		errs.add(pf.domainsPos, fmt.Sprintf("%s: domains is only valid on flows to world (egress by name); for traffic from world use cidrs", label))
	case f.To.Kind != KindWorld:
		errs.add(pf.domainsPos, fmt.Sprintf("%s: domains is only valid when to is world", label))
	case pf.cidrsPos.Line > 0:
		errs.add(pf.domainsPos, fmt.Sprintf("%s: domains and cidrs cannot be given in one flow; split it into two flows", label))
	}
}

func resolveEndpoint(names []nameAt, label string, known map[string]bool, candidates []string, errs *ErrorList) (Endpoint, bool) {
	ok := len(names) > 0
	ep := Endpoint{Kind: KindZone}
	seen := map[string]bool{}
	for _, n := range names {
		pos := n.pos
		switch {
		case n.name == "world" || n.name == "host":
			if len(names) > 1 {
				errs.add(pos, fmt.Sprintf("%s: %q cannot be listed together with other endpoints", label, n.name))
				ok = false
				continue
			}
			ep.Kind = KindWorld
			if n.name == "host" {
				ep.Kind = KindHost
			}
		case n.name == "any":
			errs.add(pos, fmt.Sprintf("%s: %q is reserved, not an endpoint; name the zones, world or host", label, n.name))
			ok = false
		case !known[n.name]:
			errs.add(pos, fmt.Sprintf("%s: unknown zone %q%s", label, n.name, suggest(n.name, candidates)))
			ok = false
		case seen[n.name]:
			errs.add(pos, fmt.Sprintf("%s: zone %q is listed twice", label, n.name))
			ok = false
		default:
			seen[n.name] = true
			ep.Zones = append(ep.Zones, n.name)
		}
	}
	return ep, ok
}
