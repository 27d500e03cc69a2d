package enforcer

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/zonewall/zonewall/zones"
)

// Cache memoizes zone membership (zones.Policy.ZoneOf) across compiles:
// glob matching every container against every zone is most of a compile,
// and a container start changes the membership of one container only.
// An entry is reused only when everything ZoneOf looks at (name, image,
// labels, network names) and the policy (by pointer) are unchanged, so a
// cache never changes what Compile returns; a nonzero Container.Rev equal
// to the entry's proves that without comparing. Entries of containers
// missing from a compile's inventory are dropped at the end of that
// compile. The zero value is ready; a Cache is safe for concurrent
// compiles.
type Cache struct {
	mu      sync.Mutex
	policy  *zones.Policy
	entries map[string]*cacheEntry // container ID ->
	gen     uint64                 // bumped per compile; entries not placed in it are dropped
	// order lists the entries in the order the last compile placed them
	// (its inventory order): a stable order costs one comparison per
	// container, and the entries after cursor at the end are exactly the
	// ones to drop, found without walking the others.
	order   cacheEntry // sentinel of a ring
	cursor  *cacheEntry
	hits    int
	misses  int
	patched int // compiles whose membership sets were patched, not built
	// Allow-set elements of policy (they depend on nothing else but
	// Options.Resolvers), shared read-only by every ruleset compiled
	// from it, as Applier requires of applied elements anyway.
	allowSets      map[string][]Element
	allowResolvers []netip.Addr
	member         memberState  // membership sets of the last compile of policy
	reach          zoneNetworks // networks of every zone, summed over the entries
}

type cacheEntry struct {
	id, name, image string
	rev             uint64            // Container.Rev the entry is known to match; 0: none
	labels          map[string]string // a copy: callers may reuse their maps
	networks        []string          // sorted, as ZoneOf saw them
	m               zones.Membership
	seen            uint64 // gen of the last compile that placed it
	class           string // zone or class classify gave it; counted in Cache.reach when counted
	counted         bool
	macs            []parsedMAC // per endpoint, the last MAC string parsed
	zoneID          uint8       // containerZone of m, when zoneKnown
	zoneName        string
	zoneKnown       bool
	prev, next      *cacheEntry
}

// CacheStats counts lookups since the cache was made; Patched counts the
// compiles that patched the previous membership sets instead of building.
type CacheStats struct{ Entries, Hits, Misses, Patched int }

// Stats reports the cache's size and hit counts.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.entries), Hits: c.hits, Misses: c.misses, Patched: c.patched}
}

// membership answers ZoneOf for one compile; nil *membership (no cache)
// calls ZoneOf directly.
type membership struct {
	p *zones.Policy
	c *Cache
	// dup is set when two running containers share an ID: they share an
	// entry, so the summed networks cannot tell them apart.
	dup   bool
	local zoneNetworks // without a cache: this compile's count
}

// begin locks the cache for one compile of p; end must follow.
func (c *Cache) begin(p *zones.Policy) *membership {
	if c == nil {
		return &membership{p: p}
	}
	c.mu.Lock()
	if c.policy != p || c.entries == nil {
		// a new policy invalidates everything
		c.policy, c.entries, c.allowSets, c.member, c.reach = p, map[string]*cacheEntry{}, nil, memberState{}, zoneNetworks{}
		c.order.prev, c.order.next = &c.order, &c.order
	}
	c.gen++
	c.cursor = &c.order
	return &membership{p: p, c: c}
}

// drop removes the entries of containers this compile did not place: the
// ones after the cursor.
func (m *membership) drop() {
	c := m.c
	if c == nil {
		return
	}
	for e := c.cursor.next; e != &c.order; {
		next := e.next
		c.uncount(e)
		e.unlink()
		delete(c.entries, e.id)
		e = next
	}
}

// end unlocks the cache.
func (m *membership) end() {
	if m.c != nil {
		m.c.mu.Unlock()
	}
}

// entry is the cache entry of a running container, placed in this
// compile's order (nil without a cache).
func (m *membership) entry(ct *Container) *cacheEntry {
	c := m.c
	e := c.cursor.next // in a stable inventory order, the entry of ct
	if e == &c.order || e.id != ct.ID {
		e = c.entries[ct.ID]
	}
	switch {
	case e == nil:
		e = &cacheEntry{id: ct.ID}
		c.entries[ct.ID] = e
		m.fill(e, ct)
	case e.seen == c.gen: // a second container with this ID
		m.dup = true
		if !m.hit(e, ct) {
			c.uncount(e)
			m.fill(e, ct)
		}
		return e
	case !m.hit(e, ct):
		c.uncount(e)
		m.fill(e, ct)
	}
	e.seen = c.gen
	c.place(e)
	return e
}

// hit reports whether e holds ct's membership, counting the lookup.
func (m *membership) hit(e *cacheEntry, ct *Container) bool {
	if (ct.Rev != 0 && ct.Rev == e.rev) || e.matches(ct) {
		e.rev = ct.Rev // what ZoneOf looks at is unchanged in this revision too
		m.c.hits++
		return true
	}
	return false
}

// fill computes e's membership for ct.
func (m *membership) fill(e *cacheEntry, ct *Container) {
	m.c.misses++
	zc := zonesContainer(ct)
	e.name, e.image, e.labels, e.networks, e.rev = zc.Name, zc.Image, maps.Clone(zc.Labels), zc.Networks, ct.Rev
	e.m, e.zoneKnown = m.p.ZoneOf(zc), false
}

// zone is containerZone(e.m, ...), remembered for a zone (the policy,
// hence ids, is the same for the cache's life); unzoned and conflicting
// containers are reported in every compile.
func (e *cacheEntry) zone(ct *Container, ids map[string]uint8, r *Report) (uint8, string) {
	if e.zoneKnown {
		return e.zoneID, e.zoneName
	}
	id, name := containerZone(e.m, ct, ids, r)
	if name != ClassUnzoned && name != ClassConflict {
		e.zoneID, e.zoneName, e.zoneKnown = id, name, true
	}
	return id, name
}

// parsedMAC is parseMAC(s).
type parsedMAC struct {
	s   string
	mac [6]byte
	ok  bool
}

// mac is parseMAC(ct.Endpoints[i].MAC), remembered in e (if any) while
// the string stays the same.
func (e *cacheEntry) mac(ct *Container, i int) ([6]byte, bool) {
	s := ct.Endpoints[i].MAC
	if e == nil {
		return parseMAC(s)
	}
	if len(e.macs) != len(ct.Endpoints) {
		e.macs = make([]parsedMAC, len(ct.Endpoints))
	}
	if pm := &e.macs[i]; pm.s != s { // a zero memo is right for "": parseMAC("") fails
		pm.s = s
		pm.mac, pm.ok = parseMAC(s)
	}
	return e.macs[i].mac, e.macs[i].ok
}

// place moves e right after the cursor (usually it is there already).
func (c *Cache) place(e *cacheEntry) {
	if c.cursor.next != e {
		if e.next != nil {
			e.unlink()
		}
		e.prev, e.next = c.cursor, c.cursor.next
		e.prev.next, e.next.prev = e, e
	}
	c.cursor = e
}

func (e *cacheEntry) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// zoneOf is p.ZoneOf(zonesContainer(ct)), memoized by container ID; it
// neither adds nor keeps entries (a container's own lookup does).
func (m *membership) zoneOf(ct *Container) zones.Membership {
	if m.c == nil {
		return m.p.ZoneOf(zonesContainer(ct))
	}
	if e := m.c.entries[ct.ID]; e != nil && m.hit(e, ct) {
		return e.m
	}
	m.c.misses++
	return m.p.ZoneOf(zonesContainer(ct))
}

// matches reports whether ct shows ZoneOf exactly what the entry was
// computed from.
func (e *cacheEntry) matches(ct *Container) bool {
	if e.name != ct.Name || e.image != ct.Image || len(e.networks) != len(ct.Endpoints) ||
		len(e.labels) != len(ct.Labels) || (e.labels == nil) != (ct.Labels == nil) || !maps.Equal(e.labels, ct.Labels) {
		return false
	}
	switch len(ct.Endpoints) {
	case 0:
		return true
	case 1: // the common case needs no sorted copy
		return e.networks[0] == ct.Endpoints[0].NetworkName
	}
	return slices.Equal(e.networks, zonesContainer(ct).Networks)
}

// allow fills the inet table's allow sets of rs: by fill on a miss, from
// the elements recorded for this policy and resolvers on a hit.
func (m *membership) allow(rs *Ruleset, resolvers []netip.Addr, fill func()) {
	c := m.c
	in := rs.Table(FamilyInet)
	if c != nil && c.allowSets != nil && slices.Equal(c.allowResolvers, resolvers) {
		for _, s := range in.Sets {
			s.Elements = c.allowSets[s.Name]
		}
		return
	}
	fill()
	if c == nil {
		return
	}
	c.allowSets, c.allowResolvers = map[string][]Element{}, slices.Clone(resolvers)
	for _, s := range in.Sets {
		if len(s.Elements) > 0 {
			s.Elements = slices.Clip(s.Elements) // appends by a caller never reach the shared array
			c.allowSets[s.Name] = s.Elements
		}
	}
}

// memberState is the previous compile's membership sets for the cache's
// policy: the endpoints' inputs in inventory order, the claims per set in
// sorted order, and the element lists handed out. Element lists are shared
// read-only with the rulesets that hold them (an Applier diffs against the
// applied one): a patch works on a copy.
type memberState struct {
	valid   bool
	eps     []epClaims
	spare   []epClaims // the buffer before eps, reused by the next compile
	claims  [numMemberKinds][]claim
	els     [numMemberKinds][]Element
	patches [numMemberKinds]*SetPatch // how the last patch changed els; nil: built, or unchanged
}

// store records the sets a full build made.
func (st *memberState) store(eps []epClaims, cs [numMemberKinds][]claim, els [numMemberKinds][]Element) {
	st.valid, st.spare, st.eps, st.els, st.claims, st.patches = true, st.eps, eps, els, cs, [numMemberKinds]*SetPatch{}
}

// patch turns the recorded sets into those of eps when few endpoints
// differ (daemons list containers in a stable order, so a start or stop is
// a short run in the middle): the changed endpoints' claims are removed
// and inserted in sorted position, and only the elements of their keys are
// recomputed. It reports false (the caller builds everything) when there
// is nothing to patch or too much.
func (st *memberState) patch(eps []epClaims) bool {
	if !st.valid {
		return false
	}
	old := st.eps
	p := 0
	for p < len(old) && p < len(eps) && old[p] == eps[p] {
		p++
	}
	s := 0
	for s < len(old)-p && s < len(eps)-p && old[len(old)-1-s] == eps[len(eps)-1-s] {
		s++
	}
	gone, come := old[p:len(old)-s], eps[p:len(eps)-s]
	if len(gone)+len(come) > 16+len(eps)/32 { // each change moves O(N) memory: past this a build is cheaper
		return false
	}
	var touched [numMemberKinds][]claim
	ok := true
	for _, e := range gone {
		e.each(func(k memberKind, c claim) {
			i, found := slices.BinarySearchFunc(st.claims[k], c, compareClaims)
			if !found { // cannot happen if claims match eps; rebuild rather than trust them
				ok = false
				return
			}
			st.claims[k] = slices.Delete(st.claims[k], i, i+1)
			touched[k] = append(touched[k], c)
		})
	}
	if !ok {
		st.valid = false
		return false
	}
	for _, e := range come {
		e.each(func(k memberKind, c claim) {
			i, _ := slices.BinarySearchFunc(st.claims[k], c, compareClaims)
			st.claims[k] = slices.Insert(st.claims[k], i, c)
			touched[k] = append(touched[k], c)
		})
	}
	st.patches = [numMemberKinds]*SetPatch{}
	for k := range touched {
		if k == int(kindPortAddr4) || k == int(kindPortAddr6) {
			// the addresses of a port whose port_zone element changed
			// take its new MAC and zone
			touched[k] = st.portAddrClaims(memberKind(k), touched[k])
		}
		if keys := touched[k]; len(keys) > 0 {
			st.els[k], st.patches[k] = patchElements(memberKind(k), st.claims[k], st.els[k], keys, st.els[kindPortZone])
		}
	}
	st.spare, st.eps = old, eps
	return true
}

// portAddrClaims adds to keys the claims of set k (a port address set) on
// every port whose port_zone element the last patch changed.
func (st *memberState) portAddrClaims(k memberKind, keys []claim) []claim {
	pz := st.patches[kindPortZone]
	if pz == nil {
		return keys
	}
	for _, list := range [][]Element{pz.Removed, pz.Added} {
		for _, el := range list {
			port := el.Key[0].Name
			claims := st.claims[k]
			i, _ := slices.BinarySearchFunc(claims, port, func(c claim, port string) int { return strings.Compare(c.port, port) })
			for ; i < len(claims) && claims[i].port == port; i++ {
				keys = append(keys, claims[i])
			}
		}
	}
	return keys
}

// patchElements returns a copy of prev with the elements of keys
// recomputed from claims (added, replaced or removed), and the delta that
// turns prev into it. The copy is made in one pass, segment by segment.
func patchElements(k memberKind, claims []claim, prev []Element, keys []claim, portZone []Element) ([]Element, *SetPatch) {
	slices.SortFunc(keys, compareKeys)
	keys = slices.CompactFunc(keys, func(a, b claim) bool { return compareKeys(a, b) == 0 })
	els := make([]Element, 0, len(prev)+len(keys))
	delta := &SetPatch{Base: prev}
	pos := 0 // prev[:pos] is in els or removed
	for _, key := range keys {
		lo, _ := slices.BinarySearchFunc(claims, key, compareKeys)
		hi := lo
		for hi < len(claims) && compareKeys(claims[hi], key) == 0 {
			hi++
		}
		at, found := slices.BinarySearchFunc(prev[pos:], key, func(el Element, key claim) int { return compareKeys(elementKey(k, &el), key) })
		at += pos
		els = append(els, prev[pos:at]...)
		pos = at
		var el Element
		has := false
		if lo < hi {
			el, _, has = groupElement(k, claims[lo:hi], nil, portZone)
		}
		switch {
		case found && has && sameElement(prev[at], el):
			els = append(els, prev[at])
		case found:
			delta.Removed = append(delta.Removed, prev[at])
			if has {
				els = append(els, el)
				delta.Added = append(delta.Added, el)
			}
		case has:
			els = append(els, el)
			delta.Added = append(delta.Added, el)
		}
		if found {
			pos++
		}
	}
	els = append(els, prev[pos:]...)
	if len(els) == 0 {
		return nil, delta // as a build leaves an empty set
	}
	return els, delta
}
