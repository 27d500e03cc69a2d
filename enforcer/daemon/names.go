package daemon

import (
	"net/netip"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// enforceNames points egress by name at the policy and zone numbering the
// kernel now holds. A failure leaves the DNS table as it was: domain flows
// then open nothing new (the forwarder answers SERVFAIL for unknown zones).
func (d *Daemon) enforceNames(p *zones.Policy, rs Ruleset) {
	if d.cfg.Names == nil {
		return
	}
	ids := map[string]uint8{}
	if er := enforcerRuleset(rs); er != nil {
		for id, z := range er.Zones {
			ids[z] = id
		}
	}
	if err := d.cfg.Names.Enforce(p, ids); err != nil {
		d.log.Error("egress by name not updated", "err", err)
	}
}

func enforcerRuleset(rs Ruleset) *enforcer.Ruleset {
	switch r := rs.(type) {
	case compiledRuleset:
		return r.Ruleset
	case *enforcer.Ruleset:
		return r
	}
	return nil
}

// ZoneOfAddr is the zone of the container that owns addr, for the DNS
// forwarder: known is false for an address of no container the daemon
// has seen; zone is "" for an unzoned or conflicting one.
func (d *Daemon) ZoneOfAddr(addr netip.Addr) (zone string, known bool) {
	d.mu.Lock()
	v := d.view
	d.mu.Unlock()
	if v == nil {
		return "", false
	}
	c := v.index().byAddr[addr.Unmap()]
	if c == nil {
		return "", false
	}
	return v.members[c.ID].Zone, true
}
