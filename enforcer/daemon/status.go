package daemon

import (
	"fmt"
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
	s.Degraded = d.degradedLocked(now)
	s.Observing, _ = d.observeHow()
	s.Observations = d.obs.store.Stats()
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

// dockerGrace is how long after start an inventory not read yet is normal
// (Docker starting, the first listing) rather than a degraded state.
const dockerGrace = 10 * time.Second

// degradedLocked lists why the daemon does not enforce what it should.
func (d *Daemon) degradedLocked(now time.Time) []string {
	var out []string
	if d.policy == nil {
		msg := "no valid policy: nothing is enforced from " + d.cfg.ZonesDir
		if d.reloadErr != nil && len(d.reloadErr.Errors) > 0 {
			msg += " (" + d.reloadErr.Errors[0] + ")"
		}
		out = append(out, msg)
	}
	if h, ok := d.cfg.Inventory.(DockerHealth); ok {
		if why := h.Unreachable(); why != "" {
			out = append(out, "docker unreachable: "+why)
		}
	} else if !d.cfg.Inventory.Synced() && now.Sub(d.started) > dockerGrace {
		out = append(out, fmt.Sprintf("docker not read %s after start", now.Sub(d.started).Round(time.Second)))
	}
	if d.lastApply != nil && d.lastApply.Error != "" {
		out = append(out, "last apply failed: "+d.lastApply.Error)
	}
	return out
}
