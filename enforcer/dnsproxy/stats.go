package dnsproxy

import (
	"sort"
	"sync"
)

// Key names a counter's zone and name ("" when not known).
type Key struct {
	Zone, Name string
}

// Counts are the counters of one zone and name.
type Counts struct {
	Lookups    uint64             // queries answered, whatever the outcome
	Outcomes   map[Outcome]uint64 // per outcome
	AddrsAdded uint64             // addresses handed to the kernel
	CapHits    uint64             // answers cut to MaxAddrsPerName
}

// stats counts per zone and name; names of queries that opened nothing are
// folded into "" so a container asking random names cannot grow the table.
type stats struct {
	mu sync.Mutex
	m  map[Key]*Counts
}

func newStats() *stats { return &stats{m: map[Key]*Counts{}} }

// maxStatKeys bounds the counters (a wildcard flow lets a container ask
// endless distinct names); later names are counted under "(other)".
const maxStatKeys = 10000

func (s *stats) get(zone, name string) *Counts {
	k := Key{zone, name}
	if _, ok := s.m[k]; !ok && len(s.m) >= maxStatKeys {
		k.Name = "(other)"
	}
	c := s.m[k]
	if c == nil {
		c = &Counts{Outcomes: map[Outcome]uint64{}}
		s.m[k] = c
	}
	return c
}

func (s *stats) count(zone, name string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o != OutcomeAllowed {
		if _, kept := s.m[Key{zone, name}]; !kept {
			name = ""
		}
	}
	c := s.get(zone, name)
	c.Lookups++
	c.Outcomes[o]++
}

func (s *stats) added(zone, name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(zone, name).AddrsAdded += uint64(n)
}

func (s *stats) capHit(zone, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(zone, name).CapHits++
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() map[Key]Counts {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	out := make(map[Key]Counts, len(p.stats.m))
	for k, c := range p.stats.m {
		cc := *c
		cc.Outcomes = make(map[Outcome]uint64, len(c.Outcomes))
		for o, n := range c.Outcomes {
			cc.Outcomes[o] = n
		}
		out[k] = cc
	}
	return out
}

func sortNames(ns []NameStatus) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].Zone != ns[j].Zone {
			return ns[i].Zone < ns[j].Zone
		}
		return ns[i].Name < ns[j].Name
	})
}
