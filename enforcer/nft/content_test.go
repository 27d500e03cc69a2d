package nft

import (
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
)

// The kernel lists a 32-bit register that starts a 128-bit one by the
// latter's number; others keep theirs.
func TestRegisterNormalisation(t *testing.T) {
	for in, want := range map[uint32]uint32{0: 0, 1: 1, 8: 1, 9: 9, 12: 2, 16: 3, 20: 4, 23: 23} {
		if got := reg(in); got != want {
			t.Errorf("reg(%d) = %d, want %d", in, got, want)
		}
	}
	ours := []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: 8}, &expr.Lookup{SourceRegister: 8, SetName: "s", SetID: 7}, &expr.Counter{}}
	listed := []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: 1}, &expr.Lookup{SourceRegister: 1, SetName: "s"}, &expr.Counter{Packets: 3, Bytes: 99}}
	other := []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: 1}, &expr.Lookup{SourceRegister: 1, SetName: "t"}, &expr.Counter{}}
	want, err := ruleBytes(nftables.TableFamilyINet, ours)
	if err != nil {
		t.Fatal(err)
	}
	if n := ruleDiff(nftables.TableFamilyINet, [][]byte{want}, []*nftables.Rule{{Exprs: listed}}); n != 0 {
		t.Errorf("the kernel's listing of our rule differs at rule %d", n)
	}
	if n := ruleDiff(nftables.TableFamilyINet, [][]byte{want}, []*nftables.Rule{{Exprs: other}}); n != 1 {
		t.Errorf("a rule looking up another set: ruleDiff = %d, want 1", n)
	}
	if n := ruleDiff(nftables.TableFamilyINet, [][]byte{want, want}, []*nftables.Rule{{Exprs: listed}}); n != 2 {
		t.Errorf("a missing rule: ruleDiff = %d, want 2", n)
	}
}

// An element replaced by another leaves the count as it was and is still
// a difference; the same elements in another order are none.
func TestElementDiffByContent(t *testing.T) {
	s := &enforcer.Set{Name: "zone_of4", Key: []enforcer.FieldType{enforcer.FieldIPv4}, Data: enforcer.FieldMark}
	el := func(ip string, mark uint32) enforcer.Element {
		a := netip.MustParseAddr(ip)
		return enforcer.Element{Key: []enforcer.Field{{Addr: a, AddrHi: a}}, Data: mark}
	}
	s.Elements = []enforcer.Element{el("10.0.0.2", 0x10000), el("10.0.0.3", 0x20000)}
	ks := nftSet(&nftables.Table{Name: "zw"}, s)
	kernel := func(els ...enforcer.Element) []nftables.SetElement {
		var out []nftables.SetElement
		for _, e := range els {
			out = append(out, setElement(s, e))
		}
		return out
	}
	if why := elementDiff(s, ks, kernel(el("10.0.0.3", 0x20000), el("10.0.0.2", 0x10000))); why != "" {
		t.Errorf("same elements, other order: %s", why)
	}
	if why := elementDiff(s, ks, kernel(el("10.0.0.2", 0x10000), el("10.0.0.9", 0x20000))); why == "" {
		t.Errorf("a replaced key was not found")
	}
	if why := elementDiff(s, ks, kernel(el("10.0.0.2", 0x10000), el("10.0.0.3", 0x10000))); why == "" {
		t.Errorf("a replaced value was not found")
	}
	if why := elementDiff(s, ks, kernel(el("10.0.0.2", 0x10000))); why == "" {
		t.Errorf("a missing element was not found")
	}
}
