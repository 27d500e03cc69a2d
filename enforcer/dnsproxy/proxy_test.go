package dnsproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/zonewall/zonewall/zones"
)

const testPolicy = `zones:
  worker: {members: [{name: worker}]}
  api: {members: [{name: api}]}
flows:
  - name: by-name
    from: worker
    to: world
    domains: [api.test.zw, alias.test.zw, many.test.zw, meta.test.zw, long.test.zw, big.test.zw, liar.test.zw]
    ports: [tcp/443]
  - name: wild
    from: worker
    to: world
    domains: ["*.wild.test.zw"]
`

type zonesPolicy = zones.Policy

func loadPolicy(t *testing.T, extra string) *zones.Policy { return loadPolicyTB(t, extra) }

func loadPolicyTB(t testing.TB, extra string) *zones.Policy {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "z.yaml"), []byte(testPolicy+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := zones.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeWriter records grants; fail makes Allow fail.
type fakeWriter struct {
	mu     sync.Mutex
	grants []Grant
	calls  int
	fail   error
}

func (w *fakeWriter) Allow(_ context.Context, g []Grant) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.fail != nil {
		return w.fail
	}
	w.grants = append(w.grants, g...)
	return nil
}

func (w *fakeWriter) addrs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, g := range w.grants {
		out = append(out, g.Zone+" "+g.Addr.String())
	}
	sort.Strings(out)
	return out
}

var (
	workerIP = netip.MustParseAddr("10.88.0.2")
	apiIP    = netip.MustParseAddr("10.88.0.3")
	lonelyIP = netip.MustParseAddr("10.88.0.4")
)

func sources(a netip.Addr) (string, bool) {
	switch a {
	case workerIP:
		return "worker", true
	case apiIP:
		return "api", true
	case lonelyIP:
		return "", true
	}
	return "", false
}

func newTestProxy(t *testing.T, cfg Config) (*Proxy, *fakeWriter, *testUpstream) {
	up := startUpstream(t)
	w := &fakeWriter{}
	if cfg.Upstreams == nil {
		cfg.Upstreams = []string{up.addr}
	}
	cfg.Source = sources
	cfg.Writer = w
	p := New(cfg)
	p.SetPolicy(loadPolicy(t, ""))
	return p, w, up
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func answerAddrs(m *dns.Msg) []string {
	var out []string
	for _, r := range m.Answer {
		switch v := r.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	sort.Strings(out)
	return out
}

func TestAllowBeforeAnswer(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	p, w, _ := newTestProxy(t, Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	resp, out := p.Handle(ctx, workerIP, query("API.test.zw.", dns.TypeA), "udp")
	if out != OutcomeAllowed || resp.Rcode != dns.RcodeSuccess {
		t.Fatalf("outcome %s rcode %d", out, resp.Rcode)
	}
	if got := w.addrs(); strings.Join(got, ",") != "worker 198.51.100.10" {
		t.Errorf("grants %v", got)
	}
	g := w.grants[0]
	if g.Name != "api.test.zw" || g.Flow != "by-name" || len(g.Ports) != 1 || g.Ports[0].From != 443 || !g.Expires.Equal(now.Add(12*time.Second)) {
		t.Errorf("grant %+v; want name api.test.zw, flow by-name, tcp/443, expiry TTL 2 s + grace 10 s", g)
	}
	// AAAA over TCP alike.
	w.grants = nil
	if _, out := p.Handle(ctx, workerIP, query("api.test.zw.", dns.TypeAAAA), "tcp"); out != OutcomeAllowed {
		t.Fatalf("AAAA over tcp: %s", out)
	}
	if got := w.addrs(); strings.Join(got, ",") != "worker 2001:db8::10" {
		t.Errorf("AAAA grants %v", got)
	}
	if ns := p.Names(); len(ns) != 1 || ns[0].Zone != "worker" || ns[0].Name != "api.test.zw" || ns[0].LiveAddrs != 2 {
		t.Errorf("Names() = %+v", ns)
	}
	if p.NameOf(netip.MustParseAddr("2001:db8::10")) != "api.test.zw" {
		t.Error("NameOf does not name the address's lookup")
	}
}

func TestCNAMEChainCountsForNameAsked(t *testing.T) {
	p, w, _ := newTestProxy(t, Config{})
	resp, out := p.Handle(context.Background(), workerIP, query("alias.test.zw.", dns.TypeA), "udp")
	if out != OutcomeAllowed {
		t.Fatalf("outcome %s", out)
	}
	// The chain's address is opened; a record for a name off the chain is not.
	if got := w.addrs(); strings.Join(got, ",") != "worker 198.51.100.10" {
		t.Errorf("grants %v", got)
	}
	if w.grants[0].Name != "alias.test.zw" {
		t.Errorf("grant names %q, want the name asked", w.grants[0].Name)
	}
	if got := answerAddrs(resp); len(got) != 2 {
		t.Errorf("answer addresses %v: the off-chain record is passed on, only not opened", got)
	}
}

func TestOtherZoneAndUnlistedNamesOpenNothing(t *testing.T) {
	p, w, _ := newTestProxy(t, Config{})
	ctx := context.Background()
	for _, c := range []struct {
		src  netip.Addr
		name string
	}{
		{apiIP, "api.test.zw."},      // another zone asks the same name
		{lonelyIP, "api.test.zw."},   // an unzoned container
		{workerIP, "other.test.zw."}, // a name no flow lists
		{workerIP, "wild.test.zw."},  // the wildcard's own domain is not below it
		{workerIP, "nope.test.zw."},  // NXDOMAIN
	} {
		resp, out := p.Handle(ctx, c.src, query(c.name, dns.TypeA), "udp")
		if out != OutcomeForwarded {
			t.Errorf("%s from %s: outcome %s, want forwarded (answered, nothing opened)", c.name, c.src, out)
		}
		if resp.Id == 0 {
			t.Errorf("%s: no answer", c.name)
		}
	}
	if len(w.grants) != 0 || w.calls != 0 {
		t.Errorf("grants %v", w.addrs())
	}
}

func TestCapAndUnopenableAddresses(t *testing.T) {
	p, w, _ := newTestProxy(t, Config{MaxAddrsPerName: 10})
	resp, out := p.Handle(context.Background(), workerIP, query("many.test.zw.", dns.TypeA), "udp")
	if out != OutcomeAllowed || len(w.grants) != 10 || len(resp.Answer) != 10 {
		t.Fatalf("outcome %s, %d grants, %d answers; want 10 and 10 (the cap)", out, len(w.grants), len(resp.Answer))
	}
	if c := p.Stats()[Key{"worker", "many.test.zw"}]; c.CapHits != 1 || c.AddrsAdded != 10 {
		t.Errorf("stats %+v, want one cap hit and 10 addresses", c)
	}
	w.grants = nil
	resp, _ = p.Handle(context.Background(), workerIP, query("meta.test.zw.", dns.TypeA), "udp")
	if got := w.addrs(); strings.Join(got, ",") != "worker 198.51.100.11" {
		t.Errorf("grants %v: the metadata address must never be opened by a name", got)
	}
	if got := answerAddrs(resp); strings.Join(got, ",") != "198.51.100.11" {
		t.Errorf("answer %v: the metadata address is removed from the answer", got)
	}
}

func TestLongTTLIsCut(t *testing.T) {
	now := time.Now()
	p, w, _ := newTestProxy(t, Config{MaxTTL: time.Minute, Now: func() time.Time { return now }})
	resp, _ := p.Handle(context.Background(), workerIP, query("long.test.zw.", dns.TypeA), "udp")
	if resp.Answer[0].Header().Ttl != 60 || !w.grants[0].Expires.Equal(now.Add(70*time.Second)) {
		t.Errorf("TTL %d, expiry %v; want 60 s in the answer and the kernel 70 s", resp.Answer[0].Header().Ttl, w.grants[0].Expires.Sub(now))
	}
}

func TestFailClosed(t *testing.T) {
	ctx := context.Background()
	p, w, _ := newTestProxy(t, Config{})
	w.fail = errors.New("netlink: no buffer space")
	resp, out := p.Handle(ctx, workerIP, query("api.test.zw.", dns.TypeA), "udp")
	if out != OutcomeWriteFailed || resp.Rcode != dns.RcodeServerFailure || len(resp.Answer) != 0 {
		t.Errorf("kernel write failed: outcome %s rcode %d answers %d; want SERVFAIL without addresses", out, resp.Rcode, len(resp.Answer))
	}
	resp, out = p.Handle(ctx, workerIP, query("liar.test.zw.", dns.TypeA), "udp")
	if out != OutcomeMismatch || resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("mismatched answer: outcome %s rcode %d", out, resp.Rcode)
	}
	resp, out = p.Handle(ctx, netip.MustParseAddr("10.88.0.99"), query("api.test.zw.", dns.TypeA), "udp")
	if out != OutcomeUnknown || resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("unknown source: outcome %s rcode %d", out, resp.Rcode)
	}
	// A dead upstream.
	dead, _ := net.ListenPacket("udp", "127.0.0.1:0")
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	p2, w2, _ := newTestProxy(t, Config{Upstreams: []string{deadAddr}, UpstreamTimeout: 200 * time.Millisecond})
	resp, out = p2.Handle(ctx, workerIP, query("api.test.zw.", dns.TypeA), "udp")
	if out != OutcomeUpstream || resp.Rcode != dns.RcodeServerFailure || w2.calls != 0 {
		t.Errorf("dead upstream: outcome %s rcode %d", out, resp.Rcode)
	}
}

func TestMalformedQueries(t *testing.T) {
	p, w, _ := newTestProxy(t, Config{})
	ctx := context.Background()
	two := query("api.test.zw.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	long := query(strings.Repeat("a.", 127)+"zw.", dns.TypeA) // 257 characters
	chaos := query("api.test.zw.", dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	resp := query("api.test.zw.", dns.TypeA)
	resp.Response = true
	for name, m := range map[string]*dns.Msg{"two questions": two, "name over 253": long, "class CH": chaos,
		"a response": resp, "no question": {}, "nil": nil} {
		r, out := p.Handle(ctx, workerIP, m, "udp")
		if out != OutcomeMalformed || r == nil || r.Rcode != dns.RcodeFormatError {
			t.Errorf("%s: outcome %s", name, out)
		}
	}
	if w.calls != 0 {
		t.Error("a malformed query reached the kernel writer")
	}
}

func TestRateLimitPerContainer(t *testing.T) {
	now := time.Now()
	p, _, up := newTestProxy(t, Config{RatePerSec: 1, Burst: 5, Now: func() time.Time { return now }})
	ctx := context.Background()
	limited := 0
	for range 20 {
		if _, out := p.Handle(ctx, workerIP, query("nope.test.zw.", dns.TypeA), "udp"); out == OutcomeRateLimited {
			limited++
		}
	}
	if limited != 15 {
		t.Errorf("%d of 20 limited, want 15 (burst 5)", limited)
	}
	if _, out := p.Handle(ctx, apiIP, query("nope.test.zw.", dns.TypeA), "udp"); out != OutcomeForwarded {
		t.Errorf("another container is limited too: %s", out)
	}
	if n := up.count(); n != 6 {
		t.Errorf("upstream saw %d queries, want 6", n)
	}
	if c := p.Stats()[Key{"", ""}]; c.Outcomes[OutcomeRateLimited] != 15 {
		t.Errorf("rate-limited count %+v", c)
	}
}

func TestDNSDenyRefusesUnlistedNames(t *testing.T) {
	p, w, _ := newTestProxy(t, Config{})
	p.SetPolicy(loadPolicy(t, "settings: {dns: deny}\n"))
	ctx := context.Background()
	if r, out := p.Handle(ctx, workerIP, query("other.test.zw.", dns.TypeA), "udp"); out != OutcomeRefused || r.Rcode != dns.RcodeRefused {
		t.Errorf("unlisted name with dns: deny: %s", out)
	}
	if _, out := p.Handle(ctx, workerIP, query("x.wild.test.zw.", dns.TypeA), "udp"); out != OutcomeForwarded {
		t.Errorf("a listed name with dns: deny: %s (NXDOMAIN, forwarded)", out)
	}
	if w.calls != 0 {
		t.Error("nothing to open")
	}
}

// TestServeUDPAndTCP goes through real sockets: the answer arrives only
// after the writer returned, over UDP and TCP, and a truncated UDP answer
// is completed over TCP.
func TestServeUDPAndTCP(t *testing.T) {
	up := startUpstream(t)
	var order []string
	var mu sync.Mutex
	w := writerFunc(func(g []Grant) error {
		mu.Lock()
		defer mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a slow kernel must still come first
		order = append(order, "kernel "+g[0].Addr.String())
		return nil
	})
	p := New(Config{Upstreams: []string{up.addr}, Writer: w, Source: func(netip.Addr) (string, bool) { return "worker", true }})
	p.SetPolicy(loadPolicy(t, ""))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Serve(ctx, pc, ln) }()
	defer func() { cancel(); <-done }()
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 3 * time.Second}
		r, _, err := c.Exchange(query("api.test.zw.", dns.TypeA), pc.LocalAddr().String())
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		mu.Lock()
		order = append(order, network+" answer "+strings.Join(answerAddrs(r), ","))
		mu.Unlock()
	}
	want := "kernel 198.51.100.10|udp answer 198.51.100.10|kernel 198.51.100.10|tcp answer 198.51.100.10"
	if got := strings.Join(order, "|"); got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
	r, _, err := c.Exchange(query("big.test.zw.", dns.TypeTXT), pc.LocalAddr().String())
	if err != nil || !r.Truncated {
		t.Fatalf("big answer over udp: err %v, truncated %v; want TC set", err, r != nil && r.Truncated)
	}
	c.Net = "tcp"
	if r, _, err = c.Exchange(query("big.test.zw.", dns.TypeTXT), pc.LocalAddr().String()); err != nil || len(r.Answer) != 20 {
		t.Fatalf("big answer over tcp: %v, %d records", err, len(r.Answer))
	}
	// Garbage on the socket neither crashes nor opens anything.
	conn, _ := net.Dial("udp", pc.LocalAddr().String())
	for _, junk := range [][]byte{{0}, []byte("hello, world"), make([]byte, 600), {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63}} {
		conn.Write(junk)
	}
	conn.Close()
	if _, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(query("nope.test.zw.", dns.TypeA), pc.LocalAddr().String()); err != nil {
		t.Errorf("after garbage: %v", err)
	}
}

type writerFunc func([]Grant) error

func (f writerFunc) Allow(_ context.Context, g []Grant) error { return f(g) }
