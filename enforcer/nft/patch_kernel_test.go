package nft

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// A compile that patched the membership sets of the ruleset the kernel
// holds is applied by sending exactly the compile's delta (no list is
// compared), and the kernel then holds what a compile from scratch gives.
func TestKernelPatchedApplySendsTheDelta(t *testing.T) {
	t.Parallel()
	l := newLabPrefixed(t, "zwtest-ka-")
	a, err := New(WithNetNS(l.fd))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	r := rand.New(rand.NewPCG(7, 8))
	p := enforcer.BenchPolicy(5)
	inv := enforcer.BenchInventory(60, 5)
	opts := enforcer.Options{NflogGroup: 7001, Cache: &enforcer.Cache{}}
	rs, _ := enforcer.Compile(p, inv, opts)
	if st, err := a.Apply(rs); err != nil || !st.Full {
		t.Fatalf("first apply: %+v, %v", st, err)
	}
	next, rev := 60, uint64(1000)
	usedDelta := 0
	for step := 0; step < 30; step++ {
		inv = changeContainer(r, inv, &next, &rev)
		rs, _ = enforcer.Compile(p, inv, opts)
		wantAdd, wantDel, fromDelta := expectedDelta(t, a.Applied(), rs)
		usedDelta += fromDelta
		st, err := a.Apply(rs)
		if err != nil || st.Full {
			t.Fatalf("step %d: %+v, %v", step, st, err)
		}
		if st.Added != wantAdd || st.Removed != wantDel {
			t.Fatalf("step %d: sent +%d -%d, want +%d -%d", step, st.Added, st.Removed, wantAdd, wantDel)
		}
		fresh, _ := enforcer.Compile(p, inv, enforcer.Options{NflogGroup: 7001})
		if live, err := a.Live(); err != nil || live != fresh.String() {
			t.Fatalf("step %d: kernel differs from a compile from scratch (err %v)\n--- kernel\n%s\n--- scratch\n%s", step, err, live, fresh)
		}
	}
	if usedDelta < 30 {
		t.Fatalf("only %d sets were applied from a compile's delta over 30 changes", usedDelta)
	}
	if d, err := a.Verify(); err != nil || d != nil {
		t.Fatalf("verify after patched applies: %v, %v", d, err)
	}
}

// expectedDelta is what applying rs over applied must send: per set the
// compile's delta when it was patched from the applied list (counted in
// fromDelta, and checked against a full diff), else a full diff.
func expectedDelta(t *testing.T, applied, rs *enforcer.Ruleset) (add, del, fromDelta int) {
	t.Helper()
	for _, tab := range rs.Tables {
		for _, s := range tab.Sets {
			old := applied.Table(tab.Family).Set(s.Name)
			a, d := diffElements(old, s)
			if s.Patch != nil && enforcer.SameElements(old.Elements, s.Patch.Base) {
				fromDelta++
				if len(s.Patch.Added) != len(a) || len(s.Patch.Removed) != len(d) {
					t.Fatalf("set %s: delta +%d -%d, diff +%d -%d", s.Name, len(s.Patch.Added), len(s.Patch.Removed), len(a), len(d))
				}
			}
			add, del = add+len(a), del+len(d)
		}
	}
	return add, del, fromDelta
}

// changeContainer starts, stops, moves or re-zones one container, giving
// changed containers a new Rev as a tracker does.
func changeContainer(r *rand.Rand, inv enforcer.Inventory, next *int, rev *uint64) enforcer.Inventory {
	cs := slices.Clone(inv.Containers)
	i := r.IntN(len(cs))
	*rev++
	switch r.IntN(4) {
	case 0:
		c := enforcer.BenchContainer(*next, 5)
		*next++
		c.Rev = *rev
		cs = slices.Insert(cs, i, c)
	case 1:
		cs = slices.Delete(cs, i, i+1)
	case 2: // a new address and veth (a reconnect)
		c := cs[i]
		c.Endpoints = slices.Clone(c.Endpoints)
		c.Endpoints[0].IPv4 = netip.AddrFrom4([4]byte{10, 200, byte(*rev >> 8), byte(*rev)})
		c.Endpoints[0].HostVeth = fmt.Sprintf("vethx%05x", *rev)
		c.Rev = *rev
		cs[i] = c
	default: // another zone: the same keys with other data
		c := cs[i]
		c.Labels = map[string]string{"tier": fmt.Sprintf("z%d", r.IntN(5))}
		c.Rev = *rev
		cs[i] = c
	}
	inv.Containers = cs
	return inv
}
