package daemon

// Most Docker events of a container start (create, network connect, veth
// known, start) change the inventory but not the compiled ruleset, or change
// it only once. Those compiles must cost no kernel transaction and must not
// be counted as applies.

// RulesetEqualer is implemented by rulesets that can tell cheaply whether
// another one describes the same kernel state (enforcer.Ruleset.Equal);
// other rulesets are compared by their rendering.
type RulesetEqualer interface {
	EqualRuleset(other Ruleset) bool
}

// sameRuleset reports whether a and b describe the same kernel state.
func sameRuleset(a, b Ruleset) bool {
	if a == nil || b == nil {
		return false
	}
	if eq, ok := a.(RulesetEqualer); ok {
		return eq.EqualRuleset(b)
	}
	return a.String() == b.String()
}

// kernelHolds reports whether the kernel already holds rs: our last apply
// succeeded, no drift or failure has been seen since (either forces a
// rebuild), and rs equals what was applied.
func (d *Daemon) kernelHolds(rs Ruleset) bool {
	d.mu.Lock()
	d.compiles++
	last := d.lastRuleset
	d.mu.Unlock()
	return d.enforcing && !d.needFull && sameRuleset(last, rs)
}

// skipApply records a compile that needed no transaction. rs replaces the
// last ruleset anyway: it may name drops through a newer policy object.
func (d *Daemon) skipApply(rs Ruleset) {
	d.mu.Lock()
	d.unchanged++
	d.lastRuleset = rs
	compiles, unchanged, applies := d.compiles, d.unchanged, d.applies
	d.mu.Unlock()
	d.retryDelay = 0
	d.log.Debug("compiled ruleset unchanged; no kernel apply", "compiles", compiles, "unchanged", unchanged, "applies", applies)
}

// ReconcileCounts returns how many syncs compiled a ruleset, how many of
// them found the kernel already holding it (no transaction), and how many
// kernel transactions were made (Status.Applies).
func (d *Daemon) ReconcileCounts() (compiles, unchanged, applies int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.compiles, d.unchanged, d.applies
}
