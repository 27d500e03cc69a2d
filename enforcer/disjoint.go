package enforcer

import "net/netip"

// The kernel's concatenated-range set (pipapo) rejects elements that overlap
// an existing one, while allow data naturally overlaps (two flows naming the
// same port, DNS inside an "all traffic" flow, unzoned "any zone" elements).
// makeDisjoint rewrites a list of boxes into disjoint boxes covering the same
// union; where boxes overlap, the earlier one keeps the overlap, so the
// provenance of every point is the first flow (or default) that allows it,
// the same order zones.Decide uses.

// dimension bounds are handled as ordered 128-bit integers.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) prev() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

type span struct{ lo, hi u128 }

func toU128(f Field, t FieldType) span {
	switch t {
	case FieldIPv4, FieldIPv6:
		return span{addrU128(f.Addr), addrU128(f.AddrHi)}
	case FieldMark:
		// Order marks by zone id: only id-aligned ranges are valid in the kernel.
		return span{u128{0, uint64(f.Lo >> ZoneShift)}, u128{0, uint64(f.Hi >> ZoneShift)}}
	default:
		return span{u128{0, uint64(f.Lo)}, u128{0, uint64(f.Hi)}}
	}
}

func fromU128(s span, t FieldType, v6 bool) Field {
	switch t {
	case FieldIPv4, FieldIPv6:
		return AddrRange(u128Addr(s.lo, v6), u128Addr(s.hi, v6))
	case FieldMark:
		return NumRange(uint32(s.lo.lo)<<ZoneShift, uint32(s.hi.lo)<<ZoneShift)
	default:
		return NumRange(uint32(s.lo.lo), uint32(s.hi.lo))
	}
}

func addrU128(a netip.Addr) u128 {
	b := a.As16()
	if a.Is4() {
		return u128{0, uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])}
	}
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return u128{hi, lo}
}

func u128Addr(v u128, v6 bool) netip.Addr {
	if !v6 {
		x := uint32(v.lo)
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(v.hi >> (8 * i))
		b[15-i] = byte(v.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

type box struct {
	dims   []span
	origin Origin
}

func overlaps(a, b box) bool {
	for i := range a.dims {
		if a.dims[i].hi.less(b.dims[i].lo) || b.dims[i].hi.less(a.dims[i].lo) {
			return false
		}
	}
	return true
}

// subtract returns a \ b as disjoint boxes (a and b overlap).
func subtract(a, b box) []box {
	var out []box
	rest := box{dims: append([]span(nil), a.dims...), origin: a.origin}
	for i := range rest.dims {
		d := rest.dims[i]
		if d.lo.less(b.dims[i].lo) {
			piece := box{dims: append([]span(nil), rest.dims...), origin: a.origin}
			piece.dims[i] = span{d.lo, b.dims[i].lo.prev()}
			out = append(out, piece)
			d.lo = b.dims[i].lo
		}
		if b.dims[i].hi.less(d.hi) {
			piece := box{dims: append([]span(nil), rest.dims...), origin: a.origin}
			piece.dims[i] = span{b.dims[i].hi.next(), d.hi}
			out = append(out, piece)
			d.hi = b.dims[i].hi
		}
		rest.dims[i] = d
	}
	return out
}

// makeDisjoint returns elements equivalent to els (same union) that do not
// overlap, keeping earlier elements' provenance for shared points.
func makeDisjoint(s *Set, els []Element) []Element {
	v6 := make([]bool, len(s.Key))
	for i, t := range s.Key {
		v6[i] = t == FieldIPv6
	}
	var kept []box
	for _, e := range els {
		b := box{dims: make([]span, len(e.Key)), origin: e.Origin}
		for i, f := range e.Key {
			b.dims[i] = toU128(f, s.Key[i])
		}
		pending := []box{b}
		for _, k := range kept {
			var next []box
			for _, p := range pending {
				if overlaps(p, k) {
					next = append(next, subtract(p, k)...)
				} else {
					next = append(next, p)
				}
			}
			pending = next
			if len(pending) == 0 {
				break
			}
		}
		kept = append(kept, pending...)
	}
	out := make([]Element, len(kept))
	for i, b := range kept {
		key := make([]Field, len(b.dims))
		for j, d := range b.dims {
			key[j] = fromU128(d, s.Key[j], v6[j])
		}
		out[i] = Element{Key: key, Origin: b.origin}
	}
	return out
}
