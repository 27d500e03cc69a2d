package enforcer

import (
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/zonewall/zonewall/zones"
)

// Cache memoizes zone membership (zones.Policy.ZoneOf) across compiles:
// glob matching every container against every zone is most of a compile,
// and a container start changes the membership of one container only.
// An entry is reused only when everything ZoneOf looks at (name, image,
// labels, network names) and the policy (by pointer) are unchanged, so a
// cache never changes what Compile returns. Entries of containers missing
// from a compile's inventory are dropped at the end of that compile.
// The zero value is ready; a Cache is safe for concurrent compiles.
type Cache struct {
	mu      sync.Mutex
	policy  *zones.Policy
	entries map[string]*cacheEntry // container ID ->
	gen     uint64                 // bumped per compile; entries not seen in it are dropped
	hits    int
	misses  int
	// Allow-set elements of policy (they depend on nothing else but
	// Options.Resolvers), shared read-only by every ruleset compiled
	// from it, as Applier requires of applied elements anyway.
	allowSets      map[string][]Element
	allowResolvers []netip.Addr
}

type cacheEntry struct {
	name, image string
	labels      map[string]string // a copy: callers may reuse their maps
	networks    []string          // sorted, as ZoneOf saw them
	m           zones.Membership
	seen        uint64
}

// CacheStats counts lookups since the cache was made.
type CacheStats struct{ Entries, Hits, Misses int }

// Stats reports the cache's size and hit counts.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.entries), Hits: c.hits, Misses: c.misses}
}

// membership answers ZoneOf for one compile; nil *membership (no cache)
// calls ZoneOf directly.
type membership struct {
	p *zones.Policy
	c *Cache
}

// begin locks the cache for one compile of p; end must follow.
func (c *Cache) begin(p *zones.Policy) *membership {
	if c == nil {
		return &membership{p: p}
	}
	c.mu.Lock()
	if c.policy != p || c.entries == nil {
		c.policy, c.entries, c.allowSets = p, map[string]*cacheEntry{}, nil // a new policy invalidates everything
	}
	c.gen++
	return &membership{p: p, c: c}
}

// end drops the entries of containers this compile did not look up and
// unlocks the cache.
func (m *membership) end() {
	c := m.c
	if c == nil {
		return
	}
	maps.DeleteFunc(c.entries, func(_ string, e *cacheEntry) bool { return e.seen != c.gen })
	c.mu.Unlock()
}

// zoneOf is p.ZoneOf(zonesContainer(ct)), memoized by container ID.
func (m *membership) zoneOf(ct *Container) zones.Membership {
	if m.c == nil {
		return m.p.ZoneOf(zonesContainer(ct))
	}
	e := m.c.entries[ct.ID]
	if e != nil && e.matches(ct) {
		m.c.hits++
		e.seen = m.c.gen
		return e.m
	}
	m.c.misses++
	zc := zonesContainer(ct)
	e = &cacheEntry{name: zc.Name, image: zc.Image, labels: maps.Clone(zc.Labels), networks: zc.Networks,
		m: m.p.ZoneOf(zc), seen: m.c.gen}
	m.c.entries[ct.ID] = e
	return e.m
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
