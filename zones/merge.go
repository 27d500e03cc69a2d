package zones

import (
	"fmt"
)

// MaxZones is how many zones a policy may have: the enforcer carries a zone
// id in 8 bits of the packet mark, with 0 and three classes reserved
// (enforcer.MaxZones must not be smaller).
const MaxZones = 252

// merge joins the files into one Policy, reporting what only shows across
// files: duplicate zones, settings and flow names, and unknown zone names.
func merge(files []string, parsed []*parsedFile, errs *ErrorList) *Policy {
	pol := &Policy{Files: files, Settings: DefaultSettings()}
	pol.Zones = mergeZones(parsed, errs)
	if len(pol.Zones) > MaxZones {
		z := pol.Zones[MaxZones]
		errs.add(z.Pos, fmt.Sprintf("zone %q is zone number %d of %d; a policy may have at most %d zones "+
			"(the kernel ruleset numbers zones in 8 bits): merge zones", z.Name, MaxZones+1, len(pol.Zones), MaxZones))
	}
	pol.Settings = mergeSettings(parsed, errs)
	known := make(map[string]bool, len(pol.Zones))
	var names []string
	for _, z := range pol.Zones {
		if !known[z.Name] {
			known[z.Name] = true
			names = append(names, z.Name)
		}
	}
	candidates := append(names, "world", "host") // for suggestions
	firstName := map[string]*Flow{}
	rules, overRules := 0, false
	for _, f := range parsed {
		for _, pf := range f.flows {
			if pf.flow.Name != "" {
				if first, dup := firstName[pf.flow.Name]; dup {
					errs.add(pf.flow.Pos, fmt.Sprintf("flow %d: name %q is also used by the flow at %s", pf.flow.Index+1, pf.flow.Name, first.Pos))
				} else {
					firstName[pf.flow.Name] = pf.flow
				}
			}
			resolveFlow(pf, known, candidates, errs)
			pol.Flows = append(pol.Flows, pf.flow)
			if rules += flowRules(pf.flow); rules > MaxFlowRules && !overRules {
				overRules = true
				errs.add(pf.flow.Pos, fmt.Sprintf("flow %d: the flows so far make %d allow rules (each from zone x to zone x port x cidr); "+
					"a policy may have at most %d: use port ranges, fewer lists, or fewer flows", pf.flow.Index+1, rules, MaxFlowRules))
			}
		}
	}
	return pol
}

// MaxFlowRules bounds the allow rules of a policy: flows multiplied out
// over their from and to zones, ports and cidrs. Compiling them into
// disjoint kernel set elements grows faster than linearly (about 4 s for
// 8,000 on a loaded 2-core machine), and a reload must not stall the daemon.
const MaxFlowRules = 10_000

// flowRules is how many allow rules f stands for.
func flowRules(f *Flow) int {
	n := max(1, len(f.From.Zones)) * max(1, len(f.To.Zones))
	return n * max(1, len(f.Ports)) * max(1, len(f.CIDRs))
}

// mergeZones reports every place a zone name is defined more than once: the
// first place names the second, every later place names the first.
func mergeZones(parsed []*parsedFile, errs *ErrorList) []*Zone {
	var all []*Zone
	byName := map[string][]*Zone{}
	for _, f := range parsed {
		for _, z := range f.zones {
			all = append(all, z)
			byName[z.Name] = append(byName[z.Name], z)
		}
	}
	for _, z := range all {
		defs := byName[z.Name]
		if len(defs) < 2 {
			continue
		}
		other := defs[0]
		if z == defs[0] {
			other = defs[1]
		}
		errs.add(z.Pos, fmt.Sprintf("zone %q is also defined at %s", z.Name, other.Pos))
	}
	return all
}

// mergeSettings accepts at most one settings block across all files.
func mergeSettings(parsed []*parsedFile, errs *ErrorList) Settings {
	var blocks []*parsedSettings
	for _, f := range parsed {
		if f.settings != nil {
			blocks = append(blocks, f.settings)
		}
	}
	if len(blocks) == 0 {
		return DefaultSettings()
	}
	for i, b := range blocks {
		other := blocks[0]
		if i == 0 {
			if len(blocks) == 1 {
				break
			}
			other = blocks[1]
		}
		errs.add(b.settings.Pos, fmt.Sprintf("settings may be given only once; also given at %s", other.settings.Pos))
	}
	return blocks[0].settings
}
