package enforcer

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

// randomInventory draws containers whose membership depends on labels,
// names and networks, with conflicts, unzoned and stopped ones mixed in.
func randomInventory(r *rand.Rand, n, nZones int) Inventory {
	inv := Inventory{Networks: []Network{
		{ID: "n1", Name: "back", Driver: "bridge", Bridge: "br-a"},
		{ID: "n2", Name: "front", Driver: "bridge", Bridge: "br-b"},
	}}
	for i := 0; i < n; i++ {
		c := BenchContainer(r.IntN(4*n), nZones) // duplicates: shared ports/addresses
		c.ID = fmt.Sprintf("c%d", r.IntN(2*n))   // duplicate IDs exercise the cache key
		c.Labels["tier"] = fmt.Sprintf("z%d", r.IntN(nZones+2))
		if r.IntN(4) == 0 {
			c.Labels["extra"] = "z0"
		}
		if r.IntN(3) == 0 {
			ep := c.Endpoints[0]
			ep.NetworkID, ep.NetworkName, ep.Bridge = "n2", "front", "br-b"
			c.Endpoints = append(c.Endpoints, ep)
		}
		c.Running = r.IntN(8) != 0
		c.Rev = newRev(r)
		inv.Containers = append(inv.Containers, c)
	}
	return inv
}

// lastRev numbers revisions as a tracker would: a fresh one per change.
var lastRev uint64

// newRev is a fresh revision, or (one time in three) 0: a source that
// sets none, so that both cache paths are exercised.
func newRev(r *rand.Rand) uint64 {
	if r.IntN(3) == 0 {
		return 0
	}
	lastRev++
	return lastRev
}

// changed gives c a new revision if its source sets them.
func changed(r *rand.Rand, c *Container) {
	if c.Rev != 0 {
		c.Rev = newRev(r)
	}
}

// randomPolicy is BenchPolicy with a few zones selecting by name, network
// or a second label, so that a change of any of them changes membership.
func randomPolicy(r *rand.Rand, nZones int) *zones.Policy {
	p := BenchPolicy(nZones)
	for _, z := range p.Zones {
		switch r.IntN(4) {
		case 0:
			z.Members = append(z.Members, zones.Selector{Name: fmt.Sprintf("ctr-%d*", r.IntN(10))})
		case 1:
			z.Members = append(z.Members, zones.Selector{Label: "extra=" + z.Name})
		case 2:
			z.Members = append(z.Members, zones.Selector{Network: "front", Label: "tier=" + z.Name})
		}
	}
	return p
}

func TestCacheNeverChangesCompile(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cache := &Cache{}
	for round := 0; round < 60; round++ {
		nZones := 2 + r.IntN(6)
		p := randomPolicy(r, nZones)
		p.Settings.DNS = []string{"allow", "deny"}[r.IntN(2)]
		p.Settings.Unzoned = []string{"allow", "deny"}[r.IntN(2)]
		inv := randomInventory(r, 1+r.IntN(40), nZones)
		for step := 0; step < 5; step++ { // same policy, changing inventories: hits and misses
			inv = mutate(r, inv, nZones)
			opts := Options{NflogGroup: 7001}
			if r.IntN(3) == 0 { // allow sets depend on the resolvers too
				opts.Resolvers = []netip.Addr{netip.MustParseAddr("198.51.100.53")}
			}
			want, wantRep := Compile(p, inv, opts)
			opts.Cache = cache
			got, gotRep := Compile(p, inv, opts)
			if got.String() != want.String() || !reflect.DeepEqual(gotRep, wantRep) {
				t.Fatalf("round %d step %d: cached compile differs\n--- without cache\n%s\n--- with cache\n%s", round, step, want, got)
			}
			running := map[string]bool{}
			for _, c := range inv.Containers {
				if c.Running {
					running[c.ID] = true
				}
			}
			if st := cache.Stats(); st.Entries > len(running) {
				t.Fatalf("cache holds %d entries for %d running containers", st.Entries, len(running))
			}
		}
	}
	if st := cache.Stats(); st.Hits == 0 || st.Misses == 0 {
		t.Fatalf("test exercised no hits or no misses: %+v", st)
	}
}

// A container whose labels change in place (same ID), and a new policy
// object, must both be looked up again.
func TestCacheInvalidation(t *testing.T) {
	p := BenchPolicy(3)
	inv := BenchInventory(3, 3)
	cache := &Cache{}
	opts := Options{Cache: cache}
	Compile(p, inv, opts)

	inv.Containers[0].Labels = map[string]string{"tier": "z2"}
	_, rep := Compile(p, inv, opts)
	if got := rep.Members()[inv.Containers[0].ID]; got != "z2" {
		t.Fatalf("after a label change member = %q, want z2", got)
	}

	p2 := BenchPolicy(3)
	p2.Zones[2].Members = []zones.Selector{{Label: "tier=nothing"}}
	_, rep = Compile(p2, inv, opts)
	if got := rep.Members()[inv.Containers[0].ID]; got != ClassUnzoned {
		t.Fatalf("after a policy change member = %q, want unzoned", got)
	}
	before := cache.Stats()
	Compile(p2, inv, opts)
	if st := cache.Stats(); st.Hits-before.Hits != 3 || st.Misses != before.Misses {
		t.Fatalf("unchanged compile: %+v then %+v, want 3 hits and no misses", before, st)
	}
	Compile(p2, Inventory{Networks: inv.Networks}, opts)
	if st := cache.Stats(); st.Entries != 0 {
		t.Fatalf("empty inventory left %d entries", st.Entries)
	}
}

// mutate is the next inventory: some containers change what membership
// looks at (in place, under the same ID), some go, some come.
func mutate(r *rand.Rand, inv Inventory, nZones int) Inventory {
	next := Inventory{Networks: inv.Networks}
	for _, c := range inv.Containers {
		op := r.IntN(10)
		switch op {
		case 0: // gone
			continue
		case 1:
			c.Labels = map[string]string{"tier": fmt.Sprintf("z%d", r.IntN(nZones+2))}
		case 2:
			c.Name = fmt.Sprintf("ctr-%d", r.IntN(100))
		case 3:
			c.Endpoints = c.Endpoints[:1]
		case 4:
			c.Running = !c.Running
		}
		if op <= 4 {
			changed(r, &c)
		}
		next.Containers = append(next.Containers, c)
	}
	next.Containers = append(next.Containers, randomInventory(r, r.IntN(4), nZones).Containers...)
	return next
}

// A cache that patches the previous compile's membership sets gives what a
// compile without cache gives, over random sequences of single starts,
// stops and in-place changes (zone, veth, MAC, addresses, duplicates and
// conflicts included) at random positions of the inventory.
func TestCachePatchesMembership(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 20; round++ {
		nZones := 2 + r.IntN(6)
		p := randomPolicy(r, nZones)
		inv := randomInventory(r, 20+r.IntN(150), nZones)
		cache := &Cache{}
		opts := Options{NflogGroup: 7001, Cache: cache}
		Compile(p, inv, opts)
		for step := 0; step < 40; step++ {
			inv = changeOne(r, inv, nZones)
			want, wantRep := Compile(p, inv, Options{NflogGroup: 7001})
			got, gotRep := Compile(p, inv, opts)
			if got.String() != want.String() || !reflect.DeepEqual(gotRep, wantRep) {
				t.Fatalf("round %d step %d: patched compile differs\n--- without cache\n%s\n--- with cache\n%s", round, step, want, got)
			}
			checkPortAddrsFollowPorts(t, got)
		}
		if st := cache.Stats(); st.Patched < 30 {
			t.Fatalf("round %d: only %d of 40 compiles patched the membership sets", round, st.Patched)
		}
	}
}

// changeOne starts, stops or changes one container (a copy: the previous
// inventory is left as it was).
func changeOne(r *rand.Rand, inv Inventory, nZones int) Inventory {
	cs := slices.Clone(inv.Containers)
	i := r.IntN(len(cs) + 1)
	switch op := r.IntN(4); {
	case op == 0 || len(cs) == 0 || i == len(cs): // start, anywhere in the list
		cs = slices.Insert(cs, min(i, len(cs)), randomInventory(r, 1, nZones).Containers[0])
	case op == 1:
		cs = slices.Delete(cs, i, i+1)
	default:
		c := cs[i]
		c.Endpoints = slices.Clone(c.Endpoints)
		ep := &c.Endpoints[r.IntN(len(c.Endpoints))]
		other := cs[r.IntN(len(cs))].Endpoints[0] // borrowing another's field: conflicts
		switch r.IntN(6) {
		case 0:
			c.Labels = map[string]string{"tier": fmt.Sprintf("z%d", r.IntN(nZones+2))}
		case 1:
			ep.HostVeth = []string{"", other.HostVeth, "veth-new"}[r.IntN(3)]
		case 2:
			ep.MAC = []string{"", other.MAC, "02:42:00:00:00:99"}[r.IntN(3)]
		case 3:
			ep.IPv4 = []netip.Addr{{}, other.IPv4, netip.MustParseAddr("::ffff:10.9.9.9")}[r.IntN(3)]
		case 4:
			ep.IPv6 = []netip.Addr{{}, other.IPv6, netip.MustParseAddr("10.9.9.8")}[r.IntN(3)]
		case 5:
			c.Running = !c.Running
		}
		changed(r, &c)
		cs[i] = c
	}
	inv.Containers = cs
	return inv
}

// Rulesets already returned (an Applier keeps the applied one to diff
// against) never change when later compiles patch the cached sets.
func TestCompiledRulesetsStayUnchanged(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := randomPolicy(r, 4)
	inv := randomInventory(r, 100, 4)
	opts := Options{NflogGroup: 7001, Cache: &Cache{}}
	type compiled struct {
		rs   *Ruleset
		text string
	}
	var all []compiled
	for step := 0; step < 60; step++ {
		rs, _ := Compile(p, inv, opts)
		all = append(all, compiled{rs, rs.String()})
		inv = changeOne(r, inv, 4)
	}
	for i, c := range all {
		if c.rs.String() != c.text {
			t.Fatalf("ruleset of compile %d changed after later compiles", i)
		}
	}
	if st := opts.Cache.Stats(); st.Patched == 0 {
		t.Fatal("no compile patched the membership sets")
	}
}

// The hand-written MAC decoder agrees with net.ParseMAC.
func TestParseMACAgreesWithNet(t *testing.T) {
	for _, s := range []string{"02:42:ac:11:00:02", "02:42:AC:11:0F:fe", "02-42-ac-11-00-02", "0242.ac11.0002",
		"02:42:ac:11:00:0g", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "02:42:ac:11:00;02", "", "00:00:5e:00:53:01:00:00"} {
		mac, ok := parseMAC(s)
		hw, err := net.ParseMAC(s)
		wantOK := err == nil && len(hw) == 6
		if ok != wantOK || (ok && !bytes.Equal(mac[:], hw)) {
			t.Errorf("parseMAC(%q) = %x, %v; net.ParseMAC: %x, %v", s, mac, ok, hw, err)
		}
	}
}

// Container.Rev: an equal nonzero Rev is a hit without comparing (so a
// source that breaks the contract would see stale zones: the test uses
// that to prove no comparison happened); a new Rev or Rev 0 compares
// everything, and a new Rev with the same content is still a hit.
func TestCacheRev(t *testing.T) {
	p := BenchPolicy(3)
	inv := BenchInventory(3, 3)
	cache := &Cache{}
	opts := Options{Cache: cache}
	Compile(p, inv, opts)
	step := func(what string, wantZone string, wantHits, wantMisses int) {
		t.Helper()
		before := cache.Stats()
		_, rep := Compile(p, inv, opts)
		st := cache.Stats()
		if got := rep.Members()[inv.Containers[0].ID]; got != wantZone {
			t.Errorf("%s: cached zone %q, want %q", what, got, wantZone)
		}
		if st.Hits-before.Hits != wantHits || st.Misses-before.Misses != wantMisses {
			t.Errorf("%s: %d hits, %d misses; want %d, %d", what, st.Hits-before.Hits, st.Misses-before.Misses, wantHits, wantMisses)
		}
	}
	step("unchanged", "z0", 3, 0)

	c := &inv.Containers[0]
	c.Labels = map[string]string{"tier": "z1"} // same Rev: the entry is trusted
	Compile(p, inv, opts)
	if got := cache.Stats(); got.Misses != 3 {
		t.Fatalf("same Rev with other labels was looked up again: %+v", got)
	}

	c.Rev = 100 // new revision: compared, and the labels differ
	step("new Rev, new labels", "z1", 2, 1)
	c.Rev = 101 // new revision, same content: compared, still a hit
	step("new Rev, same content", "z1", 3, 0)
	c.Labels = map[string]string{"tier": "z2"}
	c.Rev = 0 // no revision: every compile compares
	step("Rev 0, new labels", "z2", 2, 1)
	step("Rev 0, unchanged", "z2", 3, 0)
	c.Rev = 101 // a Rev seen before, but the entry was filled under Rev 0
	c.Labels = map[string]string{"tier": "z0"}
	step("Rev again after Rev 0", "z0", 2, 1)
}

// A patched membership set says how it was made: its Patch.Base is the
// previous compile's list (the same array), Base with Removed taken out
// and Added put in is its Elements, and the delta is minimal (nothing both
// removed and added unchanged), so an applier can send exactly it.
func TestPatchedSetsCarryTheirDelta(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	p := randomPolicy(r, 4)
	inv := randomInventory(r, 120, 4)
	opts := Options{NflogGroup: 7001, Cache: &Cache{}}
	prev, _ := Compile(p, inv, opts)
	patches := 0
	for step := 0; step < 80; step++ {
		inv = changeOne(r, inv, 4)
		rs, _ := Compile(p, inv, opts)
		for _, n := range memberSetNames {
			s, old := rs.Table(n.family).Set(n.name), prev.Table(n.family).Set(n.name)
			if s.Patch == nil {
				continue
			}
			patches++
			if !SameElements(s.Patch.Base, old.Elements) {
				t.Fatalf("step %d set %s: patch base is not the previous compile's list", step, n.name)
			}
			have := map[string]bool{}
			for _, el := range old.Elements {
				have[s.ElementString(el)] = true
			}
			removed := map[string]bool{}
			for _, el := range s.Patch.Removed {
				k := s.ElementString(el)
				if !have[k] {
					t.Fatalf("step %d set %s: removes %s, which the base lacks", step, n.name, k)
				}
				delete(have, k)
				removed[k] = true
			}
			for _, el := range s.Patch.Added {
				k := s.ElementString(el)
				if have[k] || removed[k] {
					t.Fatalf("step %d set %s: adds %s, which the base has or the patch removed unchanged", step, n.name, k)
				}
				have[k] = true
			}
			want := map[string]bool{}
			for _, el := range s.Elements {
				want[s.ElementString(el)] = true
			}
			if !maps.Equal(have, want) || len(want) != len(s.Elements) {
				t.Fatalf("step %d set %s: base + patch != elements", step, n.name)
			}
		}
		prev = rs
	}
	if patches < 80 {
		t.Fatalf("only %d patched sets in 80 single changes", patches)
	}
}

// checkPortAddrsFollowPorts asserts what the bridge's one-lookup fast path
// relies on: every port address element carries its port's MAC and zone
// mark exactly as port_zone has them, and a port without a port_zone
// element has no address element (its frames stay unknown, dropped).
func checkPortAddrsFollowPorts(t *testing.T, rs *Ruleset) {
	t.Helper()
	br := rs.Table(FamilyBridge)
	ports := map[string]Element{}
	for _, el := range br.Set(SetPortZone).Elements {
		ports[el.Key[0].Name] = el
	}
	for _, name := range []string{SetPortAddr4, SetPortAddr6} {
		for _, el := range br.Set(name).Elements {
			pz, ok := ports[el.Key[0].Name]
			switch {
			case !ok:
				t.Fatalf("%s holds port %q, which port_zone does not", name, el.Key[0].Name)
			case el.Key[1].MAC != pz.Key[1].MAC || el.Data != pz.Data:
				t.Fatalf("%s element %v . %v -> %#x, port_zone has MAC %v -> %#x", name, el.Key[0].Name,
					net.HardwareAddr(el.Key[1].MAC[:]), el.Data, net.HardwareAddr(pz.Key[1].MAC[:]), pz.Data)
			}
		}
	}
}
