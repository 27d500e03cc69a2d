package daemon

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/state"
	"github.com/zonewall/zonewall/zones"
)

// loadInitialPolicy reads zones_dir; if it is invalid or missing, the last
// valid policy from state_dir is enforced instead, so a broken deploy before
// a restart never opens anything.
func (d *Daemon) loadInitialPolicy() {
	if d.reloadPolicy() {
		return
	}
	if d.cfg.Store == nil {
		return
	}
	saved, ok, err := d.cfg.Store.LoadPolicy()
	if err != nil {
		d.log.Error("cannot read the last valid policy from state", "err", err)
		return
	}
	if !ok {
		return
	}
	p, err := d.loadSaved(saved)
	if err != nil {
		d.log.Error("the last valid policy in state no longer loads", "err", err)
		return
	}
	d.mu.Lock()
	d.policy = &loadedPolicy{p: p, files: saved, source: "state", loadedAt: time.Now()}
	d.mu.Unlock()
	d.log.Warn("enforcing the last valid policy from state", "state_dir", d.cfg.Store.Dir(), "saved_at", saved.SavedAt)
}

// reloadPolicy reads zones_dir. On success it replaces the policy and reports
// true; on failure the previous policy stays in force and the error is kept
// for status.
func (d *Daemon) reloadPolicy() bool {
	// One read of the directory (bounded against hostile files) gives both
	// the policy and the copy of its files saved to state_dir.
	p, srcs, err := d.cfg.Engine.Load(d.cfg.ZonesDir)
	files := state.PolicyFromSources(d.cfg.ZonesDir, srcs)
	if err == nil {
		if _, serr := os.Stat(d.cfg.ZonesDir); serr != nil {
			err = fmt.Errorf("zones_dir: %w", serr)
		}
	}
	if err != nil {
		msgs := errorLines(err)
		d.mu.Lock()
		d.reloadFail++
		d.reloadErr = &control.ReloadError{At: time.Now(), Errors: msgs}
		kept := d.policy != nil
		d.mu.Unlock()
		d.cfg.Metrics.ReloadFailed()
		for _, m := range msgs {
			d.log.Error("invalid zone files", "error", m)
		}
		d.log.Error("policy not reloaded", "errors", len(msgs), "keeping_previous", kept)
		return false
	}
	files.SavedAt = time.Now()
	d.mu.Lock()
	d.policy = &loadedPolicy{p: p, files: files, source: "zones_dir", loadedAt: time.Now()}
	d.reloadErr = nil
	d.mu.Unlock()
	d.needFull = true // chains may change with the policy, not only set elements
	d.log.Info("policy loaded", "dir", d.cfg.ZonesDir, "files", len(p.Files), "zones", len(p.Zones), "flows", len(p.Flows), "mode", p.Settings.Mode)
	if d.cfg.Store != nil {
		if err := d.cfg.Store.SavePolicy(files); err != nil {
			d.log.Error("cannot save the policy to state", "err", err)
		}
	}
	return true
}

// loadSaved parses the saved zone files from memory; messages name them
// by the directory they were read from.
func (d *Daemon) loadSaved(saved state.Policy) (*zones.Policy, error) {
	p, err := d.cfg.Engine.Parse(saved.Sources())
	if err != nil {
		return nil, fmt.Errorf("load saved policy: %w", err)
	}
	return p, nil
}

// bootFromState applies the last applied ruleset before Docker is read, so
// enforcement is in place while Docker is down or starting.
func (d *Daemon) bootFromState() {
	if d.cfg.Store == nil {
		return
	}
	a, ok, err := d.cfg.Store.LoadApplied()
	if err != nil {
		d.log.Error("cannot read the last applied ruleset from state", "err", err)
		return
	}
	if !ok {
		d.log.Info("no applied ruleset in state: a fail-closed baseline is applied until Docker's inventory is read")
		return
	}
	p, err := d.loadSaved(a.Policy)
	if err != nil {
		d.log.Error("cannot rebuild the last applied ruleset", "err", err)
		return
	}
	rs, findings := d.cfg.Engine.Compile(p, a.Inventory)
	if err := d.apply(rs, "boot from state"); err != nil {
		return
	}
	// Until Docker is read, status, explain and drops see the boot inventory.
	v := d.buildView(p, a.Inventory)
	d.mu.Lock()
	d.bootState = true
	if d.policy == nil {
		// In force until the zone files are read (loadInitialPolicy).
		d.policy = &loadedPolicy{p: p, files: a.Policy, source: "state", loadedAt: time.Now()}
	}
	if !d.synced {
		d.view, d.findings = v, findings
	}
	d.mu.Unlock()
	d.log.Info("boot: enforcing the last applied ruleset from state", "applied_at", a.AppliedAt, "containers", len(a.Inventory.Containers))
}

// errorLines splits a (possibly joined) error into one message per problem.
func errorLines(err error) []string {
	var list zones.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return out
	}
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var out []string
		for _, e := range multi.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		if len(out) > 0 {
			return out
		}
	}
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// numberLines prefixes each line with its number, for rejected-batch logs.
func numberLines(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
