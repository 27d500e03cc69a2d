package nft

import (
	"github.com/zonewall/zonewall/enforcer"
)

// setDelta returns the elements to add to and delete from old (what the
// kernel holds) to get cur: the compile's own delta when cur was made from
// old's very list (enforcer.Set.DeltaFrom), else a diff.
func setDelta(old, cur *enforcer.Set) (add, del []enforcer.Element) {
	if add, del, ok := cur.DeltaFrom(old.Elements); ok {
		return add, del
	}
	return diffElements(old, cur)
}

// diffElements returns the elements to add to and delete from old to get
// cur. It avoids encoding or rendering: the common prefix and suffix are
// skipped, and sets in canonical order (Compile sorts every set) are merged
// in one pass; a set out of order falls back to a map.
func diffElements(old, cur *enforcer.Set) (add, del []enforcer.Element) {
	o, c := old.Elements, cur.Elements
	// Trim the common prefix and suffix: one start or stop changes a few
	// elements in the middle of long sorted lists.
	for len(o) > 0 && len(c) > 0 && compareElements(cur, &o[0], &c[0]) == 0 {
		o, c = o[1:], c[1:]
	}
	for len(o) > 0 && len(c) > 0 && compareElements(cur, &o[len(o)-1], &c[len(c)-1]) == 0 {
		o, c = o[:len(o)-1], c[:len(c)-1]
	}
	if len(o) == 0 && len(c) == 0 {
		return nil, nil
	}
	if add, del, ok := mergeDiff(cur, o, c); ok {
		return add, del
	}
	return mapDiff(cur, o, c)
}

func mergeDiff(s *enforcer.Set, o, c []enforcer.Element) (add, del []enforcer.Element, ok bool) {
	if !sorted(s, o) || !sorted(s, c) {
		return nil, nil, false
	}
	i, j := 0, 0
	for i < len(o) || j < len(c) {
		switch {
		case i == len(o):
			add = append(add, c[j])
			j++
		case j == len(c):
			del = append(del, o[i])
			i++
		default:
			switch d := compareElements(s, &o[i], &c[j]); {
			case d == 0:
				i++
				j++
			case d < 0:
				del = append(del, o[i])
				i++
			default:
				add = append(add, c[j])
				j++
			}
		}
	}
	return add, del, true
}

func sorted(s *enforcer.Set, els []enforcer.Element) bool {
	for i := 1; i < len(els); i++ {
		if compareElements(s, &els[i-1], &els[i]) >= 0 {
			return false
		}
	}
	return true
}

func mapDiff(s *enforcer.Set, o, c []enforcer.Element) (add, del []enforcer.Element) {
	key := func(e enforcer.Element) string { return s.ElementString(e) }
	have := make(map[string]bool, len(o))
	for _, e := range o {
		have[key(e)] = true
	}
	want := make(map[string]bool, len(c))
	for _, e := range c {
		k := key(e)
		want[k] = true
		if !have[k] {
			add = append(add, e)
		}
	}
	for _, e := range o {
		if !want[key(e)] {
			del = append(del, e)
		}
	}
	return add, del
}

func compareElements(s *enforcer.Set, a, b *enforcer.Element) int { return s.Compare(a, b) }
