package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
)

// Counters reads the packet counters of the default-deny chains of the
// applied ruleset, keyed by origin (enforcer.Origin*, e.g. "spoofed-source").
// In audit mode they count would-be drops.
func (a *Applier) Counters() (map[string]uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.applied == nil {
		return nil, ErrNotApplied
	}
	out := map[string]uint64{}
	for _, o := range a.applied.LogPrefixes {
		out[o.Default] = 0
	}
	for _, t := range a.applied.Tables {
		tab := nftTable(t)
		for _, c := range t.Chains {
			origin, ok := originOfChain(a.applied, c.Name)
			if !ok {
				continue
			}
			rules, err := a.conn.GetRules(tab, &nftables.Chain{Name: c.Name, Table: tab})
			if err != nil {
				return nil, fmt.Errorf("reading counters of %s: %w", c.Name, err)
			}
			for _, r := range rules {
				for _, e := range r.Exprs {
					if ctr, ok := e.(*expr.Counter); ok {
						out[origin] += ctr.Packets
					}
				}
			}
		}
	}
	return out, nil
}

func originOfChain(rs *enforcer.Ruleset, chain string) (string, bool) {
	for _, o := range rs.LogPrefixes {
		if enforcer.DenyChainName(o.Default) == chain {
			return o.Default, true
		}
	}
	return "", false
}
