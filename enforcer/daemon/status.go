package daemon

import (
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// Status describes what the daemon enforces now.
func (d *Daemon) Status() control.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	s := control.Status{
		Synced:          d.synced,
		BootFromState:   d.bootState,
		BridgeNetfilter: d.brnf,
		Policy:          control.PolicyStatus{Dir: d.cfg.ZonesDir, Source: "none", LastError: d.reloadErr},
		Zones:           []control.ZoneStatus{},
		Reported:        append([]control.Finding{}, d.findings...),
		Applies:         d.applies,
		Compiles:        d.compiles,
		Unchanged:       d.unchanged,
		ApplyFailures:   d.applyFails,
		DriftRepairs:    d.drifts,
		ReloadFailures:  d.reloadFail,
		VerifyFailures:  d.verifyFails,
		StoppedHostNet:  append([]string(nil), d.stopped...),
		StartedAt:       d.started,
		Uptime:          now.Sub(d.started),
	}
	if d.cfg.Names != nil {
		s.Names = d.cfg.Names.Status()
	}
	if d.lastApply != nil {
		la := *d.lastApply
		s.LastApply = &la
	}
	if p := d.policy; p != nil {
		s.Mode = p.p.Settings.Mode
		s.Policy.Source = p.source
		s.Policy.Files = p.p.Files
		s.Policy.Zones = len(p.p.Zones)
		s.Policy.Flows = len(p.p.Flows)
		s.Policy.LoadedAt = p.loadedAt
		s.Policy.Age = now.Sub(p.loadedAt)
		if d.view != nil && d.view.policy == p.p {
			s.Zones = d.view.zones()
		} else {
			for _, z := range p.p.Zones {
				s.Zones = append(s.Zones, control.ZoneStatus{Name: z.Name, Description: z.Description, Members: []control.Member{}})
			}
		}
	}
	return s
}
