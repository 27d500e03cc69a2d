package enforcer

import "net/netip"

// lastAddr is the highest address inside p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// rangeAsPrefix reports whether [lo, hi] is exactly one CIDR.
func rangeAsPrefix(lo, hi netip.Addr) (netip.Prefix, bool) {
	for bits := 0; bits <= lo.BitLen(); bits++ {
		p := netip.PrefixFrom(lo, bits)
		if p.Masked().Addr() == lo && lastAddr(p) == hi {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// addrRange is an inclusive address range of one family.
type addrRange struct{ lo, hi netip.Addr }

func (r addrRange) field() Field { return AddrRange(r.lo, r.hi) }

// subtractPrefixes removes every hole from r and returns the remaining
// pieces in order. Holes of the other family are ignored.
func subtractPrefixes(r addrRange, holes []netip.Prefix) []addrRange {
	out := []addrRange{r}
	for _, h := range holes {
		if h.Addr().Is4() != r.lo.Is4() {
			continue
		}
		hlo, hhi := h.Masked().Addr(), lastAddr(h)
		var next []addrRange
		for _, x := range out {
			if hhi.Less(x.lo) || x.hi.Less(hlo) {
				next = append(next, x)
				continue
			}
			if x.lo.Less(hlo) {
				next = append(next, addrRange{x.lo, hlo.Prev()})
			}
			if hhi.Less(x.hi) {
				next = append(next, addrRange{hhi.Next(), x.hi})
			}
		}
		out = next
	}
	return out
}
