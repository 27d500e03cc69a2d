// Package observe keeps what the daemon saw containers do: connections
// opened by or to a container, aggregated by who talked to whom on which
// protocol and port, with a count and the first and last time seen. It is
// the input of `zonewall learn`.
//
// The store is bounded: at most Cap distinct keys; when it is full the
// entries seen least recently are evicted (a batch of them at a time, so an
// insert costs O(1) amortized) and counted. Ephemeral source ports are never
// part of a key: only the destination port is. Endpoints (a container's
// zone, compose service and image) are interned, so 100,000 keys between a
// few dozen services cost a few MB.
package observe

import (
	"net/netip"
	"sort"
	"sync"
	"time"
)

// Kinds of endpoints.
const (
	KindContainer = "container"
	KindWorld     = "world"
	KindHost      = "host"
)

// Endpoint is one side of an observed connection.
type Endpoint struct {
	Kind string `json:"kind"` // container, world or host
	// Container side: the zone it was a member of when seen ("" unzoned),
	// its compose project/service ("" if not from compose), its image, and
	// its name when it is not a compose container (compose replicas share
	// one identity; a plain container is itself).
	Zone    string `json:"zone,omitempty"`
	Compose string `json:"compose,omitempty"`
	Image   string `json:"image,omitempty"`
	Name    string `json:"name,omitempty"`
	// World side: the address, and the DNS name it was resolved from when
	// known.
	Addr   netip.Addr `json:"addr,omitzero"`
	Domain string     `json:"domain,omitempty"`
}

// Conn is one connection as a recorder reports it.
type Conn struct {
	From, To Endpoint
	Proto    string // tcp, udp, icmp, icmpv6, sctp, proto-N
	Port     uint16 // destination port (tcp, udp, sctp); 0 otherwise
	Time     time.Time
}

// Observation is one aggregated key with its figures.
type Observation struct {
	From  Endpoint  `json:"from"`
	To    Endpoint  `json:"to"`
	Proto string    `json:"proto"`
	Port  uint16    `json:"port,omitempty"`
	Count uint64    `json:"count"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Stats describes the store for status and learn.
type Stats struct {
	Keys      int    `json:"keys"`
	Cap       int    `json:"cap"`
	Evictions uint64 `json:"evictions"` // keys evicted because the store was full
	Recorded  uint64 `json:"recorded"`  // connections recorded since the daemon started
	// SetAside names an observation file that could not be read at start
	// and was moved aside (empty when none).
	SetAside string `json:"set_aside,omitempty"`
}

// DefaultCap is the number of distinct keys kept unless told otherwise.
const DefaultCap = 100_000

// key is the aggregation key. Endpoints are interned without their world
// address, which lives in the key itself as 16 bytes: a key holds no
// pointer, and 100,000 world addresses cost no interned endpoint each.
type key struct {
	from, to uint32   // indexes into Store.eps
	addr     [16]byte // the world side's address (IPv4 mapped), if any
	proto    uint16   // index into Store.protos
	port     uint16
	addrSide uint8 // 0: none, 1: from, 2: to; IPv4 adds 4
}

type entry struct {
	k           key
	count       uint64
	first, last int64 // unix nanoseconds
}

// Store is a bounded set of observations, safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	cap       int
	eps       []Endpoint
	epIdx     map[Endpoint]uint32
	protos    []string
	protoIdx  map[string]uint16
	entries   []entry
	idx       map[key]int32
	evictions uint64
	recorded  uint64
	setAside  string
	dirty     bool
}

// New returns an empty store holding at most capacity keys (<= 0: DefaultCap).
func New(capacity int) *Store {
	if capacity <= 0 {
		capacity = DefaultCap
	}
	return &Store{
		cap:      capacity,
		epIdx:    map[Endpoint]uint32{},
		protoIdx: map[string]uint16{},
		idx:      map[key]int32{},
	}
}

// Record counts one connection.
func (s *Store) Record(c Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded++
	s.add(c.From, c.To, c.Proto, c.Port, 1, c.Time.UnixNano(), c.Time.UnixNano())
}

func (s *Store) add(from, to Endpoint, proto string, port uint16, count uint64, first, last int64) {
	k := key{proto: s.proto(proto), port: port}
	var side uint8
	var addr netip.Addr
	switch {
	case to.Addr.IsValid():
		side, addr, to.Addr = 2, to.Addr.Unmap(), netip.Addr{}
	case from.Addr.IsValid():
		side, addr, from.Addr = 1, from.Addr.Unmap(), netip.Addr{}
	}
	if side != 0 {
		if addr.Is4() {
			side += 4
		}
		k.addrSide, k.addr = side, addr.As16()
	}
	k.from, k.to = s.endpoint(from), s.endpoint(to)
	s.dirty = true
	if i, ok := s.idx[k]; ok {
		e := &s.entries[i]
		e.count += count
		if first < e.first {
			e.first = first
		}
		if last > e.last {
			e.last = last
		}
		return
	}
	if len(s.entries) >= s.cap {
		s.evictOldest()
		// Eviction renumbers the interned endpoints.
		k.from, k.to = s.endpoint(from), s.endpoint(to)
	}
	s.idx[k] = int32(len(s.entries))
	s.entries = append(s.entries, entry{k: k, count: count, first: first, last: last})
}

// evictOldest drops the least recently seen 1/16 of the keys (at least
// one): sorting once per batch keeps inserts O(1) amortized.
func (s *Store) evictOldest() {
	n := len(s.entries) / 16
	if n < 1 {
		n = 1
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].last > s.entries[j].last })
	s.entries = s.entries[:len(s.entries)-n]
	s.evictions += uint64(n)
	s.compactEndpoints() // also rebuilds the index
}

// compactEndpoints forgets interned endpoints no entry refers to any more
// (world addresses of evicted keys), so memory stays bounded too.
func (s *Store) compactEndpoints() {
	used := make([]bool, len(s.eps))
	for _, e := range s.entries {
		used[e.k.from], used[e.k.to] = true, true
	}
	remap := make([]uint32, len(s.eps))
	var eps []Endpoint
	clear(s.epIdx)
	for i, ep := range s.eps {
		if used[i] {
			remap[i] = uint32(len(eps))
			s.epIdx[ep] = uint32(len(eps))
			eps = append(eps, ep)
		}
	}
	s.eps = eps
	clear(s.idx)
	for i := range s.entries {
		e := &s.entries[i]
		e.k.from, e.k.to = remap[e.k.from], remap[e.k.to]
		s.idx[e.k] = int32(i)
	}
}

func (s *Store) endpoint(ep Endpoint) uint32 {
	if i, ok := s.epIdx[ep]; ok {
		return i
	}
	i := uint32(len(s.eps))
	s.eps = append(s.eps, ep)
	s.epIdx[ep] = i
	return i
}

func (s *Store) proto(p string) uint16 {
	if i, ok := s.protoIdx[p]; ok {
		return i
	}
	i := uint16(len(s.protos))
	s.protos = append(s.protos, p)
	s.protoIdx[p] = i
	return i
}

// Observations returns the keys last seen at or after since (zero: all),
// in a stable order (see Sort).
func (s *Store) Observations(since time.Time) []Observation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var min int64
	if !since.IsZero() {
		min = since.UnixNano()
	}
	out := make([]Observation, 0, len(s.entries))
	for _, e := range s.entries {
		if e.last < min {
			continue
		}
		out = append(out, s.observation(e))
	}
	Sort(out)
	return out
}

func (s *Store) observation(e entry) Observation {
	o := Observation{
		From: s.eps[e.k.from], To: s.eps[e.k.to], Proto: s.protos[e.k.proto], Port: e.k.port,
		Count: e.count, First: time.Unix(0, e.first).UTC(), Last: time.Unix(0, e.last).UTC(),
	}
	if e.k.addrSide != 0 {
		addr := netip.AddrFrom16(e.k.addr)
		if e.k.addrSide&4 != 0 {
			addr = addr.Unmap()
		}
		if e.k.addrSide&3 == 1 {
			o.From.Addr = addr
		} else {
			o.To.Addr = addr
		}
	}
	return o
}

// Stats returns the store's figures.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Keys: len(s.entries), Cap: s.cap, Evictions: s.evictions, Recorded: s.recorded, SetAside: s.setAside}
}

// Sort orders observations by from, to, proto and port: the order learn
// and the control socket use, so equal stores give equal bytes.
func Sort(obs []Observation) {
	sort.Slice(obs, func(i, j int) bool { return Less(obs[i], obs[j]) })
}

// Less is Sort's order.
func Less(a, b Observation) bool {
	if c := compareEndpoint(a.From, b.From); c != 0 {
		return c < 0
	}
	if c := compareEndpoint(a.To, b.To); c != 0 {
		return c < 0
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Port < b.Port
}

func compareEndpoint(a, b Endpoint) int {
	for _, p := range [][2]string{{a.Kind, b.Kind}, {a.Zone, b.Zone}, {a.Compose, b.Compose}, {a.Image, b.Image}, {a.Name, b.Name}, {a.Domain, b.Domain}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return a.Addr.Compare(b.Addr)
}
