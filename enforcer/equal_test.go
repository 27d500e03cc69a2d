package enforcer

import "testing"

func TestRulesetEqual(t *testing.T) {
	p := BenchPolicy(5)
	inv := BenchInventory(20, 5)
	a, _ := Compile(p, inv, Options{NflogGroup: 7001})
	b, _ := Compile(p, inv, Options{NflogGroup: 7001, Cache: &Cache{}})
	if !a.Equal(b) || !b.Equal(a) {
		t.Fatal("two compiles of the same input are not Equal")
	}
	more := inv
	more.Containers = append(inv.Containers[:20:20], BenchContainer(20, 5))
	c, _ := Compile(p, more, Options{NflogGroup: 7001})
	if a.Equal(c) {
		t.Fatal("one container more compiles Equal")
	}
	moved := BenchInventory(20, 5)
	moved.Containers[3].Labels["tier"] = "z4"
	if d, _ := Compile(p, moved, Options{NflogGroup: 7001}); a.Equal(d) {
		t.Fatal("a container in another zone compiles Equal")
	}
	if e, _ := Compile(p, inv, Options{NflogGroup: 7002}); a.Equal(e) {
		t.Fatal("another log group compiles Equal")
	}
	relabeled := BenchPolicy(5)
	relabeled.Flows[0].Name = "renamed"
	if f, _ := Compile(relabeled, inv, Options{NflogGroup: 7001}); a.Equal(f) {
		t.Fatal("another provenance label compiles Equal")
	}
	a.StaticKey, b.StaticKey = "", ""
	if !a.Equal(b) {
		t.Fatal("equal rulesets without static keys are not Equal")
	}
}

// Rulesets patched from each other compare by their deltas, and agree
// with a comparison of the lists.
func TestRulesetEqualPatched(t *testing.T) {
	p := BenchPolicy(5)
	inv := BenchInventory(20, 5)
	more := inv
	more.Containers = append(inv.Containers[:20:20], BenchContainer(20, 5))
	opts := Options{NflogGroup: 7001, Cache: &Cache{}}
	x, _ := Compile(p, inv, opts)
	y, _ := Compile(p, more, opts)
	z, _ := Compile(p, inv, opts)
	if y.Table(FamilyInet).Set(SetZoneOf4).Patch == nil || z.Table(FamilyInet).Set(SetZoneOf4).Patch == nil {
		t.Fatal("compiles were not patched")
	}
	if x.Equal(y) || y.Equal(x) || y.Equal(z) || z.Equal(y) {
		t.Fatal("a patched ruleset with one container more or less is Equal")
	}
	if !x.Equal(z) || !z.Equal(x) {
		t.Fatal("the same inventory compiled before and after a patch is not Equal")
	}
	renamed := inv
	renamed.Containers = append([]Container(nil), inv.Containers...)
	renamed.Containers[4].Name = "other-name" // not in any set
	renamed.Containers[4].Rev = 999
	w, _ := Compile(p, renamed, opts)
	if !w.Equal(z) || !z.Equal(w) {
		t.Fatal("a change no set shows is not Equal")
	}
}
