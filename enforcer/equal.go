package enforcer

import (
	"maps"
	"slices"
)

// Equal reports whether r and o describe the same kernel state and the
// same attribution data. It is cheap next to rendering: with equal static
// keys it compares elements field by field (about 2 ns each) and stops at
// the first difference; without static keys it compares the renderings.
// An applier can skip a transaction when the new ruleset equals the one
// it last applied.
func (r *Ruleset) Equal(o *Ruleset) bool {
	switch {
	case r == o:
		return true
	case r == nil || o == nil:
		return false
	case r.StaticKey == "" || o.StaticKey == "":
		return r.String() == o.String() && r.sameAttribution(o)
	case r.StaticKey != o.StaticKey || len(r.Tables) != len(o.Tables) || !r.sameAttribution(o):
		return false
	}
	for i, t := range r.Tables {
		u := o.Tables[i]
		if t.Family != u.Family || t.Name != u.Name || len(t.Sets) != len(u.Sets) {
			return false
		}
		for j, s := range t.Sets {
			if s.Name != u.Sets[j].Name || !sameSetElements(s, u.Sets[j]) {
				return false
			}
		}
	}
	return true
}

// sameAttribution compares what is not sent to the kernel but names drops.
func (r *Ruleset) sameAttribution(o *Ruleset) bool {
	return r.NflogGroup == o.NflogGroup && maps.Equal(r.Zones, o.Zones) && maps.Equal(r.LogPrefixes, o.LogPrefixes)
}

// sameSetElements compares the elements of two versions of a set, by
// identity or patch delta where one was made from the other's list.
func sameSetElements(s, u *Set) bool {
	if add, del, ok := s.DeltaFrom(u.Elements); ok {
		return len(add) == 0 && len(del) == 0
	}
	if add, del, ok := u.DeltaFrom(s.Elements); ok {
		return len(add) == 0 && len(del) == 0
	}
	return slices.EqualFunc(s.Elements, u.Elements, sameElement)
}

// SameElements reports whether a and b are the same list: the same array
// and length. Element lists are never modified in place once handed out
// (a cached compile shares unchanged ones), so that proves equal contents
// without comparing them.
func SameElements(a, b []Element) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func sameElement(a, b Element) bool {
	return a.Data == b.Data && a.Origin == b.Origin && slices.Equal(a.Key, b.Key)
}
