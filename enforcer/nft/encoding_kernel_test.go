package nft

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// TestKernelSetEncoding is a property test of the element encoding against
// the kernel: thousands of random concatenated ranges (IPv4 and IPv6) are
// loaded, then the kernel is asked (`nft get element`, a set lookup) about
// both inclusive ends of ranges, which must match, and about the values
// just outside, which must not.
func TestKernelSetEncoding(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a, err := New(WithNetNS(l.fd), WithTable("zwk_prop"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rng := rand.New(rand.NewSource(7))
	const n = 1000
	s4 := &enforcer.Set{Name: "s4", Key: []enforcer.FieldType{enforcer.FieldIPv4, enforcer.FieldProto, enforcer.FieldPort}, Interval: true}
	s6 := &enforcer.Set{Name: "s6", Key: []enforcer.FieldType{enforcer.FieldIPv6, enforcer.FieldPort}, Interval: true}
	type box struct {
		lo4, hi4 netip.Addr
		lo6, hi6 netip.Addr
		p1, p2   uint32
		q1, q2   uint32
	}
	boxes := make([]box, n)
	for i := range boxes {
		// One box per /24 (IPv4) and per /112 (IPv6), so boxes never overlap
		// and the neighbours of a box's corners are outside every box.
		off1, off2 := 1+rng.Intn(120), 130+rng.Intn(120)
		b := box{
			lo4: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(off1)}),
			hi4: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(off2)}),
			lo6: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 8), 13: byte(i), 15: byte(off1)}),
			hi6: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 8), 13: byte(i), 14: 1, 15: byte(off2)}),
			p1:  uint32(1 + rng.Intn(100)), q1: uint32(1 + rng.Intn(30000)),
		}
		b.p2, b.q2 = b.p1+uint32(rng.Intn(100)), b.q1+uint32(rng.Intn(30000))
		boxes[i] = b
		s4.Elements = append(s4.Elements, enforcer.Element{Key: []enforcer.Field{enforcer.AddrRange(b.lo4, b.hi4), enforcer.NumRange(b.p1, b.p2), enforcer.NumRange(b.q1, b.q2)}})
		s6.Elements = append(s6.Elements, enforcer.Element{Key: []enforcer.Field{enforcer.AddrRange(b.lo6, b.hi6), enforcer.NumRange(b.q1, b.q2)}})
	}
	rs := &enforcer.Ruleset{Tables: []*enforcer.Table{{Family: enforcer.FamilyInet, Name: "zwk_prop", Sets: []*enforcer.Set{s4, s6}}}}
	st := mustApply(t, a, rs)
	if st.Elements != 2*n {
		t.Fatalf("applied %d elements, want %d", st.Elements, 2*n)
	}
	if d, err := a.Verify(); err != nil || d != nil {
		t.Fatalf("verify: %v %v", d, err)
	}
	get := func(set string, keys ...string) bool {
		_, err := l.nft("get", "element", "inet", "zwk_prop", set, "{ "+strings.Join(keys, ", ")+" }")
		return err == nil
	}
	var inside4, inside6 []string
	for i, pick := range rng.Perm(n)[:60] {
		b := boxes[pick]
		k4 := func(a netip.Addr, p, q uint32) string { return fmt.Sprintf("%s . %d . %d", a, p, q) }
		k6 := func(a netip.Addr, q uint32) string { return fmt.Sprintf("%s . %d", a, q) }
		inside4 = append(inside4, k4(b.lo4, b.p1, b.q1), k4(b.hi4, b.p2, b.q2))
		inside6 = append(inside6, k6(b.lo6, b.q1), k6(b.hi6, b.q2))
		if i%6 != 0 {
			continue // nft costs ~20 ms a call: probe the outside of a sixth
		}
		for _, out := range []string{k4(b.lo4.Prev(), b.p1, b.q1), k4(b.hi4.Next(), b.p2, b.q2), k4(b.lo4, b.p1, b.q1-1), k4(b.hi4, b.p2+1, b.q2)} {
			if get("s4", out) {
				t.Errorf("kernel matched %s, outside every range", out)
			}
		}
		for _, out := range []string{k6(b.lo6.Prev(), b.q1), k6(b.hi6.Next(), b.q2), k6(b.hi6, b.q2+1)} {
			if get("s6", out) {
				t.Errorf("kernel matched %s, outside every range", out)
			}
		}
	}
	for set, keys := range map[string][]string{"s4": inside4, "s6": inside6} {
		for start := 0; start < len(keys); start += 25 {
			group := keys[start:min(start+25, len(keys))]
			if get(set, group...) {
				continue
			}
			for _, k := range group {
				if !get(set, k) {
					t.Errorf("kernel does not match %s, an inclusive range end", k)
				}
			}
		}
	}
	// Removing half the elements by diff leaves exactly the other half.
	s4.Elements = s4.Elements[:n/2]
	st = mustApply(t, a, rs)
	if st.Full || st.Removed != n/2 {
		t.Errorf("diff apply: %+v", st)
	}
	if get("s4", fmt.Sprintf("%s . %d . %d", boxes[n-1].lo4, boxes[n-1].p1, boxes[n-1].q1)) {
		t.Errorf("removed element still matches")
	}
	if !get("s4", fmt.Sprintf("%s . %d . %d", boxes[0].lo4, boxes[0].p1, boxes[0].q1)) {
		t.Errorf("kept element no longer matches")
	}
}
