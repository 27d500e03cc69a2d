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
