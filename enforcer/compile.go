package enforcer

import (
	"net/netip"

	"github.com/zonewall/zonewall/zones"
)

// Options are the compile-time settings that do not come from the policy.
type Options struct {
	NflogGroup uint16 // netfilter log group for drops (spec default 7001)
	Table      string // name of both tables; default "zonewall"
	// Resolvers narrows settings.dns: allow to these upstream resolvers;
	// empty allows port 53 to every world address (outside metadata).
	Resolvers []netip.Addr
	// Cache memoizes zone membership across compiles (nil: none). It
	// never changes the result; pass the same Cache to every compile of
	// a daemon so that one container start costs one ZoneOf.
	Cache *Cache
}

// DefaultTable is the name of zonewall's tables.
const DefaultTable = "zonewall"

// Compile turns a policy and the running containers into the desired
// ruleset. It is pure: same input, same output, no I/O.
func Compile(p *zones.Policy, inv Inventory, opts Options) (*Ruleset, Report) {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	settings := withDefaults(p.Settings)
	rs := staticRuleset(opts, settings.Mode == "audit")
	ids, report := zoneIDs(p)
	rs.Zones = map[uint8]string{
		ZoneIDUnzoned: ClassUnzoned, ZoneIDConflict: ClassConflict, ZoneIDDefaultBridge: ClassDefaultBridge,
	}
	for name, id := range ids {
		rs.Zones[id] = name
	}
	classifyAndFill(rs, p, inv, settings, ids, opts, &report)
	report.members = memberSource{p: p, containers: inv.Containers, ids: ids}
	return rs, report
}

// classifyAndFill is the part of Compile that the cache serves: zone
// membership of every container, the allow sets (which depend on the
// policy only) and the membership sets (patched from the previous
// compile's) and the flows between zones without a common network (from
// the cache's count of networks per zone). The allow sets are filled
// before membership, so that the cache records exactly the sets fillAllow
// filled.
func classifyAndFill(rs *Ruleset, p *zones.Policy, inv Inventory, settings zones.Settings, ids map[string]uint8, opts Options, r *Report) {
	mem := opts.Cache.begin(p)
	defer mem.end()
	cls := classify(mem, inv, ids, r)
	mem.drop()
	mem.allow(rs, opts.Resolvers, func() { fillAllow(rs, p, settings, ids, opts) })
	fillMembership(mem, rs, cls)
	unreachableFlows(p, mem.networksOfZones(inv, ids), r)
}

// withDefaults fills every setting the policy left empty.
func withDefaults(s zones.Settings) zones.Settings {
	d := zones.DefaultSettings()
	for _, f := range []struct{ v, def *string }{
		{&s.Mode, &d.Mode}, {&s.Unzoned, &d.Unzoned}, {&s.DefaultBridge, &d.DefaultBridge},
		{&s.HostNetwork, &d.HostNetwork}, {&s.DNS, &d.DNS}, {&s.HostToContainers, &d.HostToContainers},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return s
}

// originOfDenyChain maps "deny_no_flow_world" back to "no-flow-world".
func originOfDenyChain(chain string) string {
	for _, o := range []string{OriginUnknownPort, OriginSpoof, OriginBadEther, OriginInvalid, OriginNoFlowCC,
		OriginNoFlowWorld, OriginNoFlowHost, OriginNoFlowIn, OriginNoFlowOut} {
		if DenyChainName(o) == chain {
			return o
		}
	}
	return chain
}

// zoneIDs numbers the zones 1..N in policy order.
func zoneIDs(p *zones.Policy) (map[string]uint8, Report) {
	ids := map[string]uint8{}
	var r Report
	for i, z := range p.Zones {
		if i >= MaxZones {
			r.add(nil, FindingTooManyZones, "zone "+z.Name+" exceeds the mark's capacity; its members are treated as unzoned", z.Name)
			continue
		}
		ids[z.Name] = uint8(i + 1)
	}
	return ids, r
}
