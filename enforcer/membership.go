package enforcer

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// fillMembership writes the per-container data: which zone each bridge port
// (with its endpoint's MAC) and each container address belongs to, and
// which addresses each port may use as a source. A port or address claimed
// twice with different zones (or a port with two MACs) gets the conflict id
// (denied) rather than either zone. With a cache that holds the previous
// compile's sets for the same policy, only the endpoints that changed are
// patched in (see memberState); otherwise every set is built by sorting.
func fillMembership(mem *membership, rs *Ruleset, cls classification) {
	var st *memberState
	if mem.c != nil {
		st = &mem.c.member
	}
	eps := cls.endpoints
	if st == nil || !st.patch(eps) {
		cs := sortedClaims(eps)
		els := buildMemberSets(cs)
		if st != nil {
			st.store(eps, cs, els)
		}
		writeMemberSets(rs, els, [numMemberKinds]*SetPatch{})
		return
	}
	mem.c.patched++
	writeMemberSets(rs, st.els, st.patches)
}

// memberKind is one of the five per-container sets.
type memberKind int

const (
	kindPortZone memberKind = iota
	kindPortAddr4
	kindPortAddr6
	kindZoneOf4
	kindZoneOf6
	numMemberKinds
)

var memberSetNames = [numMemberKinds]struct {
	family Family
	name   string
}{
	{FamilyBridge, SetPortZone}, {FamilyBridge, SetPortAddr4}, {FamilyBridge, SetPortAddr6},
	{FamilyInet, SetZoneOf4}, {FamilyInet, SetZoneOf6},
}

// writeMemberSets hands the element lists to rs (they are never modified
// afterwards: a patch clones before it changes anything).
func writeMemberSets(rs *Ruleset, els [numMemberKinds][]Element, patches [numMemberKinds]*SetPatch) {
	for k, n := range memberSetNames {
		s := rs.Table(n.family).Set(n.name)
		s.Elements, s.Patch = els[k], patches[k]
	}
}

// epClaims is one filterable endpoint as classify saw it: all it
// contributes to the membership sets.
type epClaims struct {
	port   string
	mac    [6]byte
	macOK  bool
	id     uint8
	v4, v6 netip.Addr // as the endpoint reports them
}

// claimBuffer is an empty list for n endpoints: the cache's spare one
// (the compile before last's) when there is one, saving an allocation of
// the inventory's size per compile.
func (m *membership) claimBuffer(n int) []epClaims {
	var buf []epClaims
	if m.c != nil {
		buf, m.c.member.spare = m.c.member.spare[:0], nil
	}
	return slices.Grow(buf, n)
}

// claim is one endpoint's claim on one element key of one set. Unused
// fields are zero: port zone claims have no addr, zone_of claims no port,
// so the key of every set is (port, addr).
type claim struct {
	port string
	addr netip.Addr
	mac  [6]byte
	id   uint8
}

// each calls fn for every claim of e.
func (e epClaims) each(fn func(memberKind, claim)) {
	if e.macOK && e.port != "" {
		fn(kindPortZone, claim{port: e.port, mac: e.mac, id: e.id})
	}
	for _, a := range []netip.Addr{e.v4, e.v6} {
		if !a.IsValid() {
			continue
		}
		a = a.Unmap()
		pair, zoneOf := kindPortAddr4, kindZoneOf4
		if a.Is6() {
			pair, zoneOf = kindPortAddr6, kindZoneOf6
		}
		if e.port != "" {
			fn(pair, claim{port: e.port, addr: a})
		}
		fn(zoneOf, claim{addr: a, id: e.id})
	}
}

// compareKeys orders claims by element key.
func compareKeys(a, b claim) int {
	return cmp.Or(strings.Compare(a.port, b.port), a.addr.Compare(b.addr))
}

// compareClaims is a total order (key first), so that a sorted claim list
// does not depend on the order claims arrived in: a patched list equals a
// freshly sorted one.
func compareClaims(a, b claim) int {
	return cmp.Or(compareKeys(a, b), bytes.Compare(a.mac[:], b.mac[:]), cmp.Compare(a.id, b.id))
}

func sortedClaims(eps []epClaims) [numMemberKinds][]claim {
	var cs [numMemberKinds][]claim
	for _, e := range eps {
		e.each(func(k memberKind, c claim) { cs[k] = append(cs[k], c) })
	}
	for k := range cs {
		slices.SortFunc(cs[k], compareClaims)
	}
	return cs
}

// buildMemberSets is the full path: every element from sorted claims. The
// port_zone elements come first: the port address maps take their MAC and
// zone from them.
func buildMemberSets(cs [numMemberKinds][]claim) [numMemberKinds][]Element {
	var els [numMemberKinds][]Element
	for k, claims := range cs {
		if len(claims) == 0 {
			continue
		}
		out := make([]Element, 0, len(claims))
		fields := make([]Field, 0, 3*len(claims)) // one array for all keys: fewer allocations
		for i := 0; i < len(claims); {
			j := i + 1
			for j < len(claims) && compareKeys(claims[j], claims[i]) == 0 {
				j++
			}
			var el Element
			var ok bool
			el, fields, ok = groupElement(memberKind(k), claims[i:j], fields, els[kindPortZone])
			if ok {
				out = append(out, el)
			}
			i = j
		}
		if len(out) > 0 {
			els[k] = out
		}
	}
	return els
}

// groupElement is the element of the claims on one key (a conflict when
// they disagree on zone or MAC); its key fields are appended to fields.
// An address of a port maps to what the port's own element (in portZone,
// the port_zone elements) maps the port and its MAC to, so that the
// bridge's one-lookup fast path (port . MAC . address) marks a frame
// exactly as the port_zone map does: a port without a port_zone element
// (no MAC known) has no address element either (ok false), and a port in
// conflict maps its addresses to the conflict id.
func groupElement(k memberKind, g []claim, fields []Field, portZone []Element) (el Element, _ []Field, ok bool) {
	first, id := g[0], g[0].id
	for _, c := range g[1:] {
		if c.id != first.id || c.mac != first.mac {
			id = ZoneIDConflict
		}
	}
	n := len(fields)
	el = Element{Origin: membershipOrigin}
	switch k {
	case kindPortZone:
		fields = append(fields, IfnameField(first.port), EtherField(first.mac))
		el.Data = ZoneMark(id)
	case kindPortAddr4, kindPortAddr6:
		i, found := slices.BinarySearchFunc(portZone, first.port, func(e Element, port string) int { return strings.Compare(e.Key[0].Name, port) })
		if !found {
			return Element{}, fields, false
		}
		pz := &portZone[i]
		fields = append(fields, IfnameField(first.port), pz.Key[1], AddrField(first.addr))
		el.Data = pz.Data
	default:
		fields = append(fields, AddrField(first.addr))
		el.Data = ZoneMark(id)
	}
	el.Key = fields[n:len(fields):len(fields)]
	return el, fields, true
}

// elementKey is the claim key an element of set k was made from.
func elementKey(k memberKind, el *Element) claim {
	switch k {
	case kindPortZone:
		return claim{port: el.Key[0].Name}
	case kindPortAddr4, kindPortAddr6:
		return claim{port: el.Key[0].Name, addr: el.Key[2].Addr}
	}
	return claim{addr: el.Key[0].Addr}
}

// parseMAC reads an endpoint's MAC ("02:42:ac:11:00:02"). Docker's form is
// decoded by hand: it runs for every endpoint on every compile.
func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	if len(s) == 17 {
		ok := true
		for i := range mac {
			hi, okHi := hexDigit(s[3*i])
			lo, okLo := hexDigit(s[3*i+1])
			ok = ok && okHi && okLo && (i == 5 || s[3*i+2] == ':')
			mac[i] = hi<<4 | lo
		}
		if ok {
			return mac, true
		}
		mac = [6]byte{}
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return mac, false
	}
	copy(mac[:], hw)
	return mac, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
