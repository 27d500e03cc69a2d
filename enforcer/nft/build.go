package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/zonewall/zonewall/enforcer"
)

// elementChunk bounds the elements per netlink message: an attribute
// cannot exceed 64 KiB and an element takes up to ~100 bytes.
const elementChunk = 400

var families = map[enforcer.Family]nftables.TableFamily{
	enforcer.FamilyInet:   nftables.TableFamilyINet,
	enforcer.FamilyBridge: nftables.TableFamilyBridge,
}

var hooks = map[string]*nftables.ChainHook{
	"prerouting": nftables.ChainHookPrerouting,
	"input":      nftables.ChainHookInput,
	"forward":    nftables.ChainHookForward,
	"output":     nftables.ChainHookOutput,
}

// built maps our names to the library objects of one batch.
type built struct {
	tables map[enforcer.Family]*nftables.Table
	sets   map[enforcer.Family]map[string]*nftables.Set
}

func nftTable(t *enforcer.Table) *nftables.Table {
	return &nftables.Table{Family: families[t.Family], Name: t.Name}
}

func nftSet(tab *nftables.Table, s *enforcer.Set) *nftables.Set {
	return &nftables.Set{
		Table:         tab,
		Name:          s.Name,
		KeyType:       keyType(s),
		IsMap:         s.Data != enforcer.FieldNone,
		DataType:      fieldTypes[s.Data],
		Interval:      s.Interval,
		Concatenation: len(s.Key) > 1,
		Counter:       s.Counter,
		Comment:       s.Comment,
		KeyByteOrder:  keyByteOrder(s),
		Size:          sizeHint(s),
	}
}

// sizeHint sizes the per-container hash sets at a full rebuild: with a
// size the kernel uses a preallocated hash table (about 15-20 % faster to
// load than the resizable one). The size is also a hard limit: room for 4x
// growth plus 1,024, and an element diff that would pass it fails with
// ENFILE, which makes Apply fall back to a full rebuild with a new size.
func sizeHint(s *enforcer.Set) uint32 {
	if s.Interval {
		return 0
	}
	return uint32(4*len(s.Elements) + 1024)
}

// keyByteOrder tells nft (for `nft list` only) how to print a single-field
// key: interface names are host-order strings to nft.
func keyByteOrder(s *enforcer.Set) binaryutil.ByteOrder {
	if len(s.Key) == 1 && s.Key[0] == enforcer.FieldIfname {
		return binaryutil.NativeEndian
	}
	return nil
}

// queueFull queues, on conn, the atomic replacement of our tables: each is
// created (a no-op if it exists), deleted and created again with its sets,
// elements, chains and rules, so the kernel swaps old for new in one
// transaction and there is never a moment without rules.
func queueFull(conn *nftables.Conn, rs *enforcer.Ruleset) (*built, error) {
	b := &built{tables: map[enforcer.Family]*nftables.Table{}, sets: map[enforcer.Family]map[string]*nftables.Set{}}
	for _, t := range rs.Tables {
		tab := nftTable(t)
		conn.AddTable(tab)
		conn.DelTable(tab)
		conn.AddTable(tab)
		b.tables[t.Family] = tab
		sets := map[string]*nftables.Set{}
		b.sets[t.Family] = sets
		for _, s := range t.Sets {
			ns := nftSet(tab, s)
			if err := conn.AddSet(ns, nil); err != nil {
				return nil, fmt.Errorf("set %s %s: %w", t.Family, s.Name, err)
			}
			sets[s.Name] = ns
			if err := queueElements(conn, ns, s, s.Elements, true); err != nil {
				return nil, err
			}
		}
		for _, c := range t.Chains {
			ch := &nftables.Chain{Name: c.Name, Table: tab}
			if c.Hook != "" {
				prio := nftables.ChainPriority(c.Priority)
				accept := nftables.ChainPolicyAccept
				ch.Hooknum, ch.Priority, ch.Type, ch.Policy = hooks[c.Hook], &prio, nftables.ChainTypeFilter, &accept
			}
			conn.AddChain(ch)
		}
		for _, c := range t.Chains {
			ch := &nftables.Chain{Name: c.Name, Table: tab}
			for i, r := range c.Rules {
				exprs, err := ruleExprs(r, sets)
				if err != nil {
					return nil, fmt.Errorf("%s %s chain %s rule %d (%s): %w", t.Family, t.Name, c.Name, i+1, r, err)
				}
				conn.AddRule(&nftables.Rule{Table: tab, Chain: ch, Exprs: exprs})
			}
		}
	}
	return b, nil
}

// queueElements adds (add=true) or deletes elements in chunks.
func queueElements(conn *nftables.Conn, ns *nftables.Set, s *enforcer.Set, els []enforcer.Element, add bool) error {
	for start := 0; start < len(els); start += elementChunk {
		end := min(start+elementChunk, len(els))
		batch := make([]nftables.SetElement, 0, end-start)
		for _, e := range els[start:end] {
			batch = append(batch, setElement(s, e))
		}
		var err error
		if add {
			err = conn.SetAddElements(ns, batch)
		} else {
			err = conn.SetDeleteElements(ns, batch)
		}
		if err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
	}
	return nil
}
