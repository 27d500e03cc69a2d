package nft

import (
	"bytes"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
)

// Drift is judged by content: a set element or rule replaced by another of
// the same count is as much drift as a missing one. Rules are compared as
// the netlink bytes of their expressions, elements by their key, key end
// and data bytes, after normalising what the kernel adds on its own
// (counter values, the batch-local set IDs of lookups).

// setRefs builds the library set objects rule expressions refer to.
func setRefs(t *enforcer.Table) map[string]*nftables.Set {
	tab := nftTable(t)
	refs := make(map[string]*nftables.Set, len(t.Sets))
	for _, s := range t.Sets {
		refs[s.Name] = nftSet(tab, s)
	}
	return refs
}

// ruleBytes is a rule's comparable encoding.
func ruleBytes(fam nftables.TableFamily, exprs []expr.Any) ([]byte, error) {
	var out bytes.Buffer
	for _, e := range exprs {
		b, err := expr.Marshal(byte(fam), normalised(e))
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", e, err)
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

// normalised drops what differs between the rule we send and the one the
// kernel lists without being a difference in what the rule does: counter
// values, the batch-local set IDs of lookups, register numbers (the kernel
// lists a 32-bit register that starts a 128-bit one by the latter's
// number) and the source register of `ct ... set`, which google/nftables
// does not decode.
func normalised(e expr.Any) expr.Any {
	switch v := e.(type) {
	case *expr.Counter:
		return &expr.Counter{}
	case *expr.Lookup:
		cp := *v
		cp.SetID, cp.SourceRegister = 0, reg(v.SourceRegister)
		if cp.IsDestRegSet {
			cp.DestRegister = reg(v.DestRegister)
		}
		return &cp
	case *expr.Meta:
		cp := *v
		cp.Register = reg(v.Register)
		return &cp
	case *expr.Ct:
		cp := *v
		if cp.SourceRegister {
			cp.Register, cp.SourceRegister = 0, false
		}
		cp.Register = reg(cp.Register)
		return &cp
	case *expr.Payload:
		cp := *v
		cp.DestRegister, cp.SourceRegister = reg(v.DestRegister), reg(v.SourceRegister)
		return &cp
	case *expr.Bitwise:
		cp := *v
		cp.DestRegister, cp.SourceRegister = reg(v.DestRegister), reg(v.SourceRegister)
		return &cp
	case *expr.Cmp:
		cp := *v
		cp.Register = reg(v.Register)
		return &cp
	case *expr.Immediate:
		cp := *v
		cp.Register = reg(v.Register)
		return &cp
	}
	return e
}

// reg maps a 32-bit register (NFT_REG32_00 = 8 ...) that starts a 128-bit
// one to that one's number (NFT_REG_1 = 1 ...), as the kernel lists it.
func reg(r uint32) uint32 {
	if r >= 8 && r <= 23 && (r-8)%4 == 0 {
		return (r-8)/4 + 1
	}
	return r
}

// expectedRules encodes the rules of chain c as we send them.
func expectedRules(t *enforcer.Table, c *enforcer.Chain, refs map[string]*nftables.Set) ([][]byte, error) {
	out := make([][]byte, len(c.Rules))
	for i, r := range c.Rules {
		exprs, err := ruleExprs(r, refs)
		if err != nil {
			return nil, fmt.Errorf("chain %s rule %d: %w", c.Name, i+1, err)
		}
		if out[i], err = ruleBytes(families[t.Family], exprs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ruleDiff compares the kernel's rules of a chain with the expected ones
// and returns the (1-based) position of the first difference, 0 if none.
func ruleDiff(fam nftables.TableFamily, want [][]byte, have []*nftables.Rule) int {
	for i, r := range have {
		if i >= len(want) {
			return i + 1
		}
		b, err := ruleBytes(fam, r.Exprs)
		if err != nil || !bytes.Equal(b, want[i]) {
			return i + 1 // an error: an expression we never send
		}
	}
	if len(have) < len(want) {
		return len(have) + 1
	}
	return 0
}

// elementKey is an element's comparable encoding.
func elementKey(e nftables.SetElement) string {
	return string(e.Key) + "\x00|" + string(e.KeyEnd) + "\x00|" + string(e.Val)
}

// elementDiff compares a set's kernel elements with the expected ones and
// describes the first difference ("" if none).
func elementDiff(s *enforcer.Set, ks *nftables.Set, have []nftables.SetElement) string {
	if ks.Interval && !ks.Concatenation {
		// Listed as separate start and end elements: only counted (every
		// interval set of ours is a concatenation).
		if n := countElements(ks, have); n != len(s.Elements) {
			return fmt.Sprintf("has %d elements, want %d", n, len(s.Elements))
		}
		return ""
	}
	if len(have) != len(s.Elements) {
		return fmt.Sprintf("has %d elements, want %d", len(have), len(s.Elements))
	}
	want := make(map[string]int, len(s.Elements))
	for _, e := range s.Elements {
		want[elementKey(setElement(s, e))]++
	}
	for _, ke := range have {
		k := elementKey(ke)
		if want[k] == 0 {
			return "holds an element zonewall did not add"
		}
		want[k]--
	}
	return ""
}
