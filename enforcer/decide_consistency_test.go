package enforcer

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

// contains evaluates a compiled set the way the kernel does (every field
// inside its inclusive range), without a kernel.
func contains(s *Set, vals ...any) (Element, bool) {
	for _, e := range s.Elements {
		ok := true
		for i, v := range vals {
			f := e.Key[i]
			switch v := v.(type) {
			case netip.Addr:
				ok = ok && v.Is4() == f.Addr.Is4() && !v.Less(f.Addr) && !f.AddrHi.Less(v)
			case uint32:
				if s.Key[i] == FieldMark {
					ok = ok && uint32(ZoneIDOfMark(f.Lo)) <= v>>ZoneShift && v>>ZoneShift <= uint32(ZoneIDOfMark(f.Hi))
				} else {
					ok = ok && f.Lo <= v && v <= f.Hi
				}
			}
		}
		if ok {
			return e, true
		}
	}
	return Element{}, false
}

// TestCompiledSetsAgreeWithDecide: for every pair of peers, protocol and
// port of interest, the compiled allow sets give the verdict zones.Decide
// gives (what explain and `zonewall test` show), and name the same flow.
func TestCompiledSetsAgreeWithDecide(t *testing.T) {
	settings := []func(*zones.Settings){
		func(*zones.Settings) {},
		func(s *zones.Settings) { s.DNS, s.HostToContainers = "deny", "deny" },
		func(s *zones.Settings) { s.Unzoned = "allow" },
	}
	zoneNames := []string{"web", "api", "db", ""}
	type pp struct {
		proto zones.Proto
		num   uint32
		port  uint16
	}
	var pps []pp
	for _, port := range []uint16{22, 53, 80, 443, 5353, 5432, 6999, 7000, 7050, 7100, 7101, 8080, 9100} {
		pps = append(pps, pp{zones.ProtoTCP, ProtoTCP, port}, pp{zones.ProtoUDP, ProtoUDP, port})
	}
	pps = append(pps, pp{zones.ProtoICMP, ProtoICMP, 0}, pp{zones.ProtoICMPv6, ProtoICMPv6, 0})
	worlds := []string{"198.51.100.7", "203.0.113.7", "169.254.169.254", "169.254.169.253", "8.8.8.8", "2001:db8:100::7", "2001:db8:200::7", "fd00:ec2::254"}
	for si, set := range settings {
		s := zones.DefaultSettings()
		set(&s)
		p := threeTier(s)
		rs, _ := Compile(p, shopInventory(), Options{})
		in := rs.Table(FamilyInet)
		id := func(z string) uint32 {
			for i, zz := range p.Zones {
				if zz.Name == z {
					return ZoneMark(uint8(i + 1))
				}
			}
			return ZoneMark(ZoneIDUnzoned)
		}
		agree := func(what string, d zones.Decision, e Element, got bool) {
			t.Helper()
			if d.Allow != got {
				t.Errorf("settings %d: %s: Decide=%v (%s), compiled=%v", si, what, d.Allow, d.Reason, got)
				return
			}
			if got && d.Flow != nil && e.Origin.Flow != d.Flow.Index {
				t.Errorf("settings %d: %s: Decide names flow %d, element origin %+v", si, what, d.Flow.Index, e.Origin)
			}
		}
		zonePeer := func(z string) zones.Peer { return zones.Peer{Kind: zones.KindZone, Zone: z} }
		for _, a := range zoneNames {
			for _, x := range pps {
				for _, b := range zoneNames {
					e, got := contains(in.Set(SetAllowCC), id(a), id(b), x.num, uint32(x.port))
					agree(fmt.Sprintf("%q->%q %s/%d", a, b, x.proto, x.port), p.Decide(zonePeer(a), zonePeer(b), x.proto, x.port), e, got)
				}
				e, got := contains(in.Set(SetAllowHost), id(a), x.num, uint32(x.port))
				agree(fmt.Sprintf("%q->host %s/%d", a, x.proto, x.port), p.Decide(zonePeer(a), zones.Peer{Kind: zones.KindHost}, x.proto, x.port), e, got)
				e, got = contains(in.Set(SetAllowOut), id(a), x.num, uint32(x.port))
				agree(fmt.Sprintf("host->%q %s/%d", a, x.proto, x.port), p.Decide(zones.Peer{Kind: zones.KindHost}, zonePeer(a), x.proto, x.port), e, got)
				for _, w := range worlds {
					addr := netip.MustParseAddr(w)
					wset, inset := SetAllowW4, SetAllowIn4
					if addr.Is6() {
						wset, inset = SetAllowW6, SetAllowIn6
					}
					if zones.IsMetadata(addr) { // decided by the metadata rules and sets
						wset, inset = SetAllowMeta4, SetAllowMetaIn4
						if addr.Is6() {
							wset, inset = SetAllowMeta6, SetAllowMetaIn6
						}
					}
					world := zones.Peer{Kind: zones.KindWorld, Addr: addr}
					e, got := contains(in.Set(wset), id(a), addr, x.num, uint32(x.port))
					agree(fmt.Sprintf("%q->world:%s %s/%d", a, w, x.proto, x.port), p.Decide(zonePeer(a), world, x.proto, x.port), e, got)
					e, got = contains(in.Set(inset), addr, id(a), x.num, uint32(x.port))
					agree(fmt.Sprintf("world:%s->%q %s/%d", w, a, x.proto, x.port), p.Decide(world, zonePeer(a), x.proto, x.port), e, got)
				}
			}
		}
	}
}

// TestMakeDisjoint: random overlapping boxes become disjoint boxes with
// the same union, each point keeping the first input box's origin.
func TestMakeDisjoint(t *testing.T) {
	s := &Set{Key: []FieldType{FieldMark, FieldIPv4, FieldProto, FieldPort}, Interval: true}
	rng := rand.New(rand.NewSource(1))
	rnd := func(max uint32) (uint32, uint32) {
		a, b := rng.Uint32()%max, rng.Uint32()%max
		return min(a, b), max32(a, b)
	}
	for round := 0; round < 50; round++ {
		var in []Element
		for i := 0; i < 12; i++ {
			z1, z2 := rnd(8)
			a1, a2 := rnd(64)
			p1, p2 := rnd(4)
			q1, q2 := rnd(100)
			in = append(in, Element{Key: []Field{NumRange(ZoneMark(uint8(z1)), ZoneMark(uint8(z2))),
				AddrRange(netip.AddrFrom4([4]byte{10, 0, 0, byte(a1)}), netip.AddrFrom4([4]byte{10, 0, 0, byte(a2)})),
				NumRange(p1, p2), NumRange(q1, q2)}, Origin: Origin{Flow: i}})
		}
		out := makeDisjoint(s, in)
		outSet := &Set{Key: s.Key, Elements: out}
		inSet := &Set{Key: s.Key, Elements: in}
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if overlapsEl(s, out[i], out[j]) {
					t.Fatalf("round %d: %s overlaps %s", round, s.ElementString(out[i]), s.ElementString(out[j]))
				}
			}
		}
		for k := 0; k < 2000; k++ {
			pt := []any{ZoneMark(uint8(rng.Intn(8))), netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.Intn(64))}), uint32(rng.Intn(4)), uint32(rng.Intn(100))}
			ei, inOK := contains(inSet, pt...)
			eo, outOK := contains(outSet, pt...)
			if inOK != outOK || ei.Origin.Flow != eo.Origin.Flow {
				t.Fatalf("round %d: point %v: input %v (flow %d), output %v (flow %d)", round, pt, inOK, ei.Origin.Flow, outOK, eo.Origin.Flow)
			}
		}
	}
}

func overlapsEl(s *Set, a, b Element) bool {
	x, y := box{}, box{}
	for i, f := range a.Key {
		x.dims = append(x.dims, toU128(f, s.Key[i]))
		y.dims = append(y.dims, toU128(b.Key[i], s.Key[i]))
	}
	return overlaps(x, y)
}

func max32(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}
