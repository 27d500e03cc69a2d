package dnsproxy

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/zonewall/zonewall/zones"
)

// Config holds what the forwarder needs; zero values take the defaults.
type Config struct {
	Upstreams []string // resolver addresses, "host:port"; tried in order
	Source    Resolver
	Writer    Writer
	Log       *slog.Logger

	Grace           time.Duration // added to every TTL; default 10 s
	MaxTTL          time.Duration // longer TTLs are cut to this (in the answer too); default 1 h
	MaxAddrsPerName int           // addresses opened per answer; more are removed from it; default 32
	RatePerSec      float64       // queries per second per container; default 50
	Burst           float64       // default 100
	UpstreamTimeout time.Duration // per upstream try; default 2 s
	MaxInFlight     int           // queries being answered at once; default 512
	Now             func() time.Time
	// Exchange sends one query to one upstream ("udp" or "tcp"); default
	// a miekg/dns client. Tests replace it to query from another network
	// namespace.
	Exchange func(ctx context.Context, m *dns.Msg, network, upstream string) (*dns.Msg, error)
}

func (c *Config) defaults() {
	if c.Grace == 0 {
		c.Grace = 10 * time.Second
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = time.Hour
	}
	if c.MaxAddrsPerName == 0 {
		c.MaxAddrsPerName = 32
	}
	if c.RatePerSec == 0 {
		c.RatePerSec = 50
	}
	if c.Burst == 0 {
		c.Burst = 100
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = 2 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 512
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Exchange == nil {
		timeout := c.UpstreamTimeout
		c.Exchange = func(ctx context.Context, m *dns.Msg, network, upstream string) (*dns.Msg, error) {
			cl := &dns.Client{Net: network, Timeout: timeout, UDPSize: dns.MaxMsgSize}
			r, _, err := cl.ExchangeContext(ctx, m, upstream)
			return r, err
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Proxy answers containers' DNS queries (see the package comment).
type Proxy struct {
	cfg      Config
	policy   atomic.Pointer[zones.Policy]
	limiter  *limiter
	inFlight chan struct{}
	stats    *stats
	names    *nameTable

	warnMu     sync.Mutex
	lastWarned map[netip.Addr]time.Time // rate-limited sources, warned at most once a minute each
}

// New makes a Proxy; SetPolicy must be called before it answers anything.
func New(cfg Config) *Proxy {
	cfg.defaults()
	return &Proxy{
		cfg:      cfg,
		limiter:  newLimiter(cfg.RatePerSec, cfg.Burst, 65536, cfg.Now),
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		stats:    newStats(),
		names:    newNameTable(100000),
	}
}

// SetPolicy switches to a new policy (after a reload); queries in flight
// finish with the one they started with.
func (p *Proxy) SetPolicy(pol *zones.Policy) { p.policy.Store(pol) }

// Outcome says how a query was answered, for metrics and tests.
type Outcome string

const (
	OutcomeForwarded   Outcome = "forwarded"    // answered, nothing to open
	OutcomeAllowed     Outcome = "allowed"      // answered after the kernel took its addresses
	OutcomeRateLimited Outcome = "rate_limited" // REFUSED: the container asked too fast
	OutcomeUnknown     Outcome = "unknown_source"
	OutcomeRefused     Outcome = "refused"   // settings.dns: deny and no domain flow names it
	OutcomeMalformed   Outcome = "malformed" // FORMERR
	OutcomeUpstream    Outcome = "upstream_failed"
	OutcomeMismatch    Outcome = "mismatched_answer"
	OutcomeWriteFailed Outcome = "kernel_update_failed"
	OutcomeBusy        Outcome = "busy"
)

// Handle answers one query from src. It never returns nil: failures are
// SERVFAIL (nothing opened), abuse is REFUSED, nonsense FORMERR.
func (p *Proxy) Handle(ctx context.Context, src netip.Addr, req *dns.Msg, network string) (*dns.Msg, Outcome) {
	resp, out, zone, name := p.handle(ctx, src.Unmap(), req, network)
	p.stats.count(zone, name, out)
	if out != OutcomeForwarded && out != OutcomeAllowed {
		p.cfg.Log.Debug("dns query not forwarded", "src", src, "zone", zone, "name", name, "outcome", string(out))
	}
	return resp, out
}

func (p *Proxy) handle(ctx context.Context, src netip.Addr, req *dns.Msg, network string) (*dns.Msg, Outcome, string, string) {
	if req == nil {
		return failure(&dns.Msg{}, dns.RcodeFormatError), OutcomeMalformed, "", ""
	}
	if !p.limiter.allow(src) {
		p.warnRateLimited(src)
		return failure(req, dns.RcodeRefused), OutcomeRateLimited, "", ""
	}
	select {
	case p.inFlight <- struct{}{}:
		defer func() { <-p.inFlight }()
	default:
		return failure(req, dns.RcodeServerFailure), OutcomeBusy, "", ""
	}
	if req.Response || req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 || req.Question[0].Qclass != dns.ClassINET {
		return failure(req, dns.RcodeFormatError), OutcomeMalformed, "", ""
	}
	q := req.Question[0]
	name := zones.CanonicalName(q.Name)
	if len(name) > zones.MaxNameLength || !dns.IsFqdn(q.Name) {
		return failure(req, dns.RcodeFormatError), OutcomeMalformed, "", ""
	}
	zone, known := p.cfg.Source(src)
	if !known {
		return failure(req, dns.RcodeServerFailure), OutcomeUnknown, "", name
	}
	pol := p.policy.Load()
	if pol == nil {
		return failure(req, dns.RcodeServerFailure), OutcomeUpstream, zone, name
	}
	var flows []*zones.Flow
	if zone != "" {
		flows = pol.DomainFlowsFor(zone, name)
	}
	if len(flows) == 0 && pol.Settings.DNS == "deny" {
		return failure(req, dns.RcodeRefused), OutcomeRefused, zone, name
	}
	resp, err := p.forward(ctx, req, network)
	if err != nil {
		p.cfg.Log.Warn("dns upstream failed", "zone", zone, "name", name, "err", err)
		return failure(req, dns.RcodeServerFailure), OutcomeUpstream, zone, name
	}
	if !matches(req, resp) {
		return failure(req, dns.RcodeServerFailure), OutcomeMismatch, zone, name
	}
	resp.Id = req.Id
	p.clampTTLs(resp)
	if len(flows) == 0 || resp.Rcode != dns.RcodeSuccess || (q.Qtype != dns.TypeA && q.Qtype != dns.TypeAAAA) {
		return resp, OutcomeForwarded, zone, name
	}
	addrs, ttl, capped := p.addresses(resp, q.Name)
	if capped {
		p.stats.capHit(zone, name)
		p.cfg.Log.Warn("dns answer has more addresses than the cap; the rest were removed from the answer",
			"zone", zone, "name", name, "cap", p.cfg.MaxAddrsPerName)
	}
	if len(addrs) == 0 {
		return resp, OutcomeForwarded, zone, name
	}
	expires := p.cfg.Now().Add(ttl + p.cfg.Grace)
	grants := make([]Grant, 0, len(addrs)*len(flows))
	for _, f := range flows {
		for _, a := range addrs {
			grants = append(grants, Grant{Zone: zone, Addr: a, Ports: f.Ports, Flow: f.Label(), Name: name, Expires: expires})
		}
	}
	if err := p.cfg.Writer.Allow(ctx, grants); err != nil {
		p.cfg.Log.Error("dns answer not released: the kernel did not take its addresses", "zone", zone, "name", name, "err", err)
		return failure(req, dns.RcodeServerFailure), OutcomeWriteFailed, zone, name
	}
	p.names.record(zone, name, addrs, expires)
	p.stats.added(zone, name, len(addrs))
	return resp, OutcomeAllowed, zone, name
}

// warnRateLimited reports a container over its query rate, once a minute.
func (p *Proxy) warnRateLimited(src netip.Addr) {
	now := p.cfg.Now()
	p.warnMu.Lock()
	if p.lastWarned == nil || len(p.lastWarned) > 10000 {
		p.lastWarned = map[netip.Addr]time.Time{}
	}
	last, seen := p.lastWarned[src]
	if seen && now.Sub(last) < time.Minute {
		p.warnMu.Unlock()
		return
	}
	p.lastWarned[src] = now
	p.warnMu.Unlock()
	zone, _ := p.cfg.Source(src)
	p.cfg.Log.Warn("DNS queries over the rate limit are refused", "src", src, "zone", zone,
		"rate_per_sec", p.cfg.RatePerSec, "burst", p.cfg.Burst)
}

// failure is an empty answer to req with rcode.
func failure(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.RecursionAvailable = true
	return m
}

var errNoUpstream = errors.New("no upstream resolver configured")

// forward tries the upstreams in order with the transport the query came
// by; a truncated UDP answer goes back as is (the client retries by TCP).
func (p *Proxy) forward(ctx context.Context, req *dns.Msg, network string) (*dns.Msg, error) {
	if network != "tcp" {
		network = "udp"
	}
	err := errNoUpstream
	for _, up := range p.cfg.Upstreams {
		var resp *dns.Msg
		resp, err = p.cfg.Exchange(ctx, req.Copy(), network, up)
		if err == nil && resp != nil {
			return resp, nil
		}
	}
	return nil, err
}

// matches: the answer is for the question asked (the client checked the ID).
func matches(req, resp *dns.Msg) bool {
	if !resp.Response || len(resp.Question) != 1 {
		return false
	}
	a, b := req.Question[0], resp.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// clampTTLs cuts every TTL to MaxTTL, so the container asks again before
// the kernel forgets the addresses.
func (p *Proxy) clampTTLs(m *dns.Msg) {
	max := uint32(p.cfg.MaxTTL / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if h := rr.Header(); h.Rrtype != dns.TypeOPT && h.Ttl > max {
				h.Ttl = max
			}
		}
	}
}

// maxChain bounds CNAME chains (resolvers give up at 8-16 too).
const maxChain = 16

// addresses walks the answer from qname through its CNAME chain and returns
// the A/AAAA addresses of the names on it, the smallest TTL along the way,
// and whether the cap cut the list. Records of names off the chain are
// ignored (a resolver may not vouch for them); records past the cap, and
// addresses never to open (metadata, loopback, unspecified, multicast),
// are removed from the answer, so the container does not try them.
func (p *Proxy) addresses(m *dns.Msg, qname string) ([]netip.Addr, time.Duration, bool) {
	chain := map[string]bool{zones.CanonicalName(qname): true}
	minTTL := uint32(p.cfg.MaxTTL / time.Second)
	for range maxChain {
		grew := false
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok && chain[zones.CanonicalName(c.Hdr.Name)] && !chain[zones.CanonicalName(c.Target)] {
				chain[zones.CanonicalName(c.Target)] = true
				minTTL = min(minTTL, c.Hdr.Ttl)
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	capped := false
	kept := m.Answer[:0]
	for _, rr := range m.Answer {
		var a netip.Addr
		switch r := rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(r.A.To4())
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(r.AAAA.To16())
		default:
			kept = append(kept, rr)
			continue
		}
		if !chain[zones.CanonicalName(rr.Header().Name)] {
			kept = append(kept, rr)
			continue
		}
		a = a.Unmap()
		if !openable(a) {
			continue
		}
		if !seen[a] {
			if len(out) >= p.cfg.MaxAddrsPerName {
				capped = true
				continue
			}
			seen[a] = true
			out = append(out, a)
		}
		minTTL = min(minTTL, rr.Header().Ttl)
		kept = append(kept, rr)
	}
	m.Answer = kept
	return out, time.Duration(minTTL) * time.Second, capped
}

// openable: a world address a name may open. Metadata addresses are never
// world unless a cidrs flow names them; the others are not world at all.
func openable(a netip.Addr) bool {
	return a.IsValid() && !zones.IsMetadata(a) && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast() &&
		!a.IsLinkLocalUnicast() && !a.IsInterfaceLocalMulticast()
}

// nameTable remembers, per zone and name, the addresses opened and until
// when, for status and for naming drops. Bounded: when full, expired
// entries go first, then everything (it is a view, not the enforcement).
type nameTable struct {
	mu     sync.Mutex
	max    int
	size   int
	byZone map[string]map[string]map[netip.Addr]time.Time
	addrTo map[netip.Addr]string // the name an address was last resolved from
}

func newNameTable(max int) *nameTable {
	return &nameTable{max: max, byZone: map[string]map[string]map[netip.Addr]time.Time{}, addrTo: map[netip.Addr]string{}}
}

func (t *nameTable) record(zone, name string, addrs []netip.Addr, expires time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.size+len(addrs) > t.max {
		t.prune(expires.Add(-24 * time.Hour))
	}
	if t.byZone[zone] == nil {
		t.byZone[zone] = map[string]map[netip.Addr]time.Time{}
	}
	n := t.byZone[zone][name]
	if n == nil {
		n = map[netip.Addr]time.Time{}
		t.byZone[zone][name] = n
	}
	for _, a := range addrs {
		if _, ok := n[a]; !ok {
			t.size++
		}
		if expires.After(n[a]) {
			n[a] = expires
		}
		t.addrTo[a] = name
	}
}

func (t *nameTable) prune(now time.Time) {
	for z, names := range t.byZone {
		for name, addrs := range names {
			for a, exp := range addrs {
				if !exp.After(now) {
					delete(addrs, a)
					t.size--
				}
			}
			if len(addrs) == 0 {
				delete(names, name)
			}
		}
		if len(names) == 0 {
			delete(t.byZone, z)
		}
	}
	if t.size+1 > t.max {
		clear(t.byZone)
		clear(t.addrTo)
		t.size = 0
	}
}

// NameStatus is one resolved name of a zone and how many of its addresses
// are open now.
type NameStatus struct {
	Zone      string    `json:"zone"`
	Name      string    `json:"name"`
	LiveAddrs int       `json:"live_addrs"`
	Expires   time.Time `json:"expires"` // the last of its addresses to expire
}

// Names lists, per zone and name, the live addresses (sorted by zone, name).
func (p *Proxy) Names() []NameStatus {
	now := p.cfg.Now()
	t := p.names
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []NameStatus
	for z, names := range t.byZone {
		for name, addrs := range names {
			ns := NameStatus{Zone: z, Name: name}
			for _, exp := range addrs {
				if exp.After(now) {
					ns.LiveAddrs++
					if exp.After(ns.Expires) {
						ns.Expires = exp
					}
				}
			}
			if ns.LiveAddrs > 0 {
				out = append(out, ns)
			}
		}
	}
	sortNames(out)
	return out
}

// NameOf is the name addr was last resolved from, if any (for drops).
func (p *Proxy) NameOf(addr netip.Addr) string {
	p.names.mu.Lock()
	defer p.names.mu.Unlock()
	return p.names.addrTo[addr.Unmap()]
}

// Restore puts addresses the kernel still holds (after a daemon restart)
// back into the name table, so status and drops name them again.
func (p *Proxy) Restore(zone, name string, addr netip.Addr, expires time.Time) {
	if zone == "" || name == "" || !expires.After(p.cfg.Now()) {
		return
	}
	p.names.record(zone, name, []netip.Addr{addr.Unmap()}, expires)
}
