package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/zonewall/zonewall/enforcer"
)

// DriftError says how the kernel's copy of our tables differs from what we
// applied (someone deleted or flushed them, or changed a set).
type DriftError struct{ Reason string }

func (e *DriftError) Error() string { return "nftables drift: " + e.Reason }

// Verify checks that the kernel still holds what we applied. It returns a
// non-nil *DriftError on drift (the next Apply then rebuilds), and an error
// when the check itself failed. Cheap when nothing changed since our last
// apply: the ruleset generation is compared first, and only when it moved
// is the content (every rule and set element) listed and compared.
func (a *Applier) Verify() (*DriftError, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.applied == nil {
		return &DriftError{Reason: "nothing applied yet"}, nil
	}
	gen, err := getGen(a.genConn)
	if err != nil {
		return nil, err
	}
	if gen == a.gen && gen != 0 {
		return nil, nil
	}
	drift, err := a.compare()
	if err != nil {
		return nil, err
	}
	if drift != nil {
		a.full = true
		return drift, nil
	}
	a.gen = gen // others changed their tables, ours are intact
	return nil, nil
}

// compare lists our tables and compares their content — every chain's
// rules and every set's elements — with what we applied.
func (a *Applier) compare() (*DriftError, error) {
	for _, t := range a.applied.Tables {
		tab, err := a.conn.ListTableOfFamily(t.Name, families[t.Family])
		if err != nil {
			return &DriftError{Reason: fmt.Sprintf("table %s %s: %v", t.Family, t.Name, err)}, nil
		}
		chains, err := a.conn.ListChainsOfTableFamily(families[t.Family])
		if err != nil {
			return nil, fmt.Errorf("listing chains: %w", err)
		}
		have := map[string]*nftables.Chain{}
		for _, c := range chains {
			if c.Table.Name == t.Name {
				have[c.Name] = c
			}
		}
		refs := setRefs(t)
		for _, c := range t.Chains {
			ch, ok := have[c.Name]
			if !ok {
				return &DriftError{Reason: fmt.Sprintf("chain %s %s %s is missing", t.Family, t.Name, c.Name)}, nil
			}
			rules, err := a.conn.GetRules(tab, ch)
			if err != nil {
				return nil, fmt.Errorf("listing rules of %s: %w", c.Name, err)
			}
			want, err := expectedRules(t, c, refs)
			if err != nil {
				return nil, err
			}
			if n := ruleDiff(tab.Family, want, rules); n > 0 {
				return &DriftError{Reason: fmt.Sprintf("chain %s %s %s: rule %d differs (%d rules, want %d)", t.Family, t.Name, c.Name, n, len(rules), len(c.Rules))}, nil
			}
		}
		for _, s := range t.Sets {
			ks, err := a.conn.GetSetByName(tab, s.Name)
			if err != nil {
				return &DriftError{Reason: fmt.Sprintf("set %s %s %s: %v", t.Family, t.Name, s.Name, err)}, nil
			}
			els, err := a.conn.GetSetElements(ks)
			if err != nil {
				return nil, fmt.Errorf("listing elements of %s: %w", s.Name, err)
			}
			if why := elementDiff(s, ks, els); why != "" {
				return &DriftError{Reason: fmt.Sprintf("set %s %s %s %s", t.Family, t.Name, s.Name, why)}, nil
			}
		}
	}
	return nil, nil
}

// countElements counts logical elements: non-concatenated interval sets
// list start and end separately (ours are all concatenated, but be exact).
func countElements(s *nftables.Set, els []nftables.SetElement) int {
	if !s.Interval || s.Concatenation {
		return len(els)
	}
	n := 0
	for _, e := range els {
		if !e.IntervalEnd {
			n++
		}
	}
	return n
}

// Applied is the ruleset of the last successful Apply (nil before).
func (a *Applier) Applied() *enforcer.Ruleset {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied
}
