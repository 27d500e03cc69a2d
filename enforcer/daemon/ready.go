package daemon

import (
	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
)

// Readiness. The unit is Type=notify and ordered Before=docker.service, so
// READY=1 must never wait for Docker: it is sent as soon as enforcement is
// in place without Docker's inventory, whichever comes first of
//   - the last applied ruleset from state_dir restored (bootFromState),
//   - a fail-closed baseline applied (no state: the policy compiled with an
//     empty inventory, so every container port is unknown and dropped
//     until Docker's inventory arrives),
//   - the first apply from Docker's inventory.
// With no valid policy and no saved ruleset there is nothing to enforce,
// and READY is held back (readyWithoutPolicy): the unit's TimeoutStartSec
// fails the start, visibly; Docker, ordered after it but not requiring it,
// still starts.

// applyBaseline programs the fail-closed ruleset of pol for a host whose
// containers are not known yet. It is not saved to state_dir: the state is
// the last ruleset applied from a real inventory.
func (d *Daemon) applyBaseline(pol *loadedPolicy) error {
	rs, _ := d.cfg.Engine.Compile(pol.p, enforcer.Inventory{})
	if err := d.apply(rs, "baseline before Docker's inventory"); err != nil {
		return err
	}
	d.baselineOf = pol.p
	// Drops and explain see no containers, but do know the host's addresses.
	v := d.buildView(pol.p, enforcer.Inventory{})
	d.mu.Lock()
	if !d.synced {
		d.view = v
	}
	d.mu.Unlock()
	d.log.Warn("no applied ruleset in state: enforcing the fail-closed baseline; every container's traffic is dropped until Docker's inventory is read",
		"policy_source", pol.source)
	return nil
}

// readyWithoutPolicy handles a daemon with no valid policy at all (no
// usable zone files, none saved in state_dir, no saved ruleset restored):
// it does not report ready, so the service manager sees a unit that failed
// to start rather than one that protects nothing; status reports it as
// degraded. READY follows the first apply once valid zone files appear.
func (d *Daemon) readyWithoutPolicy() {
	if d.warnedNoPolicy {
		return
	}
	d.warnedNoPolicy = true
	if d.enforcing {
		return // a saved ruleset was restored and is enforced (READY was sent)
	}
	d.log.Error("NOTHING IS ENFORCED: no valid zone files, no saved policy and no saved ruleset; not reporting ready until valid zone files appear",
		"zones_dir", d.cfg.ZonesDir)
}

// notifyReady sends READY=1 once.
func (d *Daemon) notifyReady() {
	if d.readySent {
		return
	}
	d.readySent = true
	d.cfg.Notify.Ready()
}

// findingsByKind counts findings by kind for zonewall_reported_containers.
func findingsByKind(findings []control.Finding) map[string]int {
	byKind := map[string]int{}
	for _, f := range findings {
		byKind[f.Kind]++
	}
	return byKind
}
