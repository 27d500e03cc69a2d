package nft

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"
	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/zones"
)

// The DNS lab: the shop plus a DNS server of our own in the world
// namespace (198.51.100.2:5300, the forwarder's upstream) serving test.zw.
// with short TTLs, CNAMEs, AAAA and a name with 100 addresses; all of
// 203.0.113.0/24 and 2001:db8:200::/64 are local to the world namespace.
// Containers send DNS to 198.51.100.2:53 (or [2001:db8:100::2]:53); the
// DNS table redirects it to the forwarder in the router namespace.

const dnsLabPort = 15353

type dnsLab struct {
	*shop
	proxy *dnsproxy.Proxy
	table *DNSTable
	echo  *server
}

func testZWAnswer(q dns.Question) []dns.RR {
	name := strings.ToLower(q.Name)
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	var out []dns.RR
	add := func(format string, args ...any) { out = append(out, rr(fmt.Sprintf(format, args...))) }
	a := func(owner string, ttl int, v4, v6 string) {
		if q.Qtype == dns.TypeA {
			add("%s %d IN A %s", owner, ttl, v4)
		}
		if q.Qtype == dns.TypeAAAA {
			add("%s %d IN AAAA %s", owner, ttl, v6)
		}
	}
	var i int
	switch {
	case name == "api.test.zw.":
		a(name, 30, "203.0.113.2", "2001:db8:200::2")
	case name == "unlisted.test.zw.":
		a(name, 30, "203.0.113.3", "2001:db8:200::3")
	case name == "dbonly.test.zw.":
		a(name, 30, "203.0.113.4", "2001:db8:200::4")
	case name == "alias.test.zw.":
		add("alias.test.zw. 30 IN CNAME mid.test.zw.")
		add("mid.test.zw. 30 IN CNAME c.test.zw.")
		a("c.test.zw.", 30, "203.0.113.5", "2001:db8:200::5")
	case name == "short.test.zw.":
		a(name, 1, "203.0.113.6", "2001:db8:200::6")
	case name == "many.test.zw.":
		for j := 0; j < 100; j++ {
			a(name, 30, fmt.Sprintf("203.0.113.%d", 150+j), fmt.Sprintf("2001:db8:200::1:%x", j))
		}
	default:
		if n, _ := fmt.Sscanf(name, "%d.n.test.zw.", &i); n == 1 && i >= 0 && i < 100 {
			a(name, 30, fmt.Sprintf("203.0.113.%d", 10+i), fmt.Sprintf("2001:db8:200::2:%x", i))
		}
	}
	return out
}

func newDNSLab(t *testing.T, cfg dnsproxy.Config) *dnsLab {
	s := newShopPrefixed(t, "zwtest-n-")
	run(t, "ip", "-n", s.world, "route", "add", "local", "203.0.113.0/24", "dev", "lo")
	run(t, "ip", "-n", s.world, "-6", "route", "add", "local", "2001:db8:200::/64", "dev", "lo")
	l := &dnsLab{shop: s}
	// The upstream resolver, in the world namespace.
	inNS(t, s.world, func() {
		h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Answer = testZWAnswer(req.Question[0])
			if len(m.Answer) == 0 {
				m.Rcode = dns.RcodeNameError
			}
			_ = w.WriteMsg(m)
		})
		pc, err := net.ListenPacket("udp", "198.51.100.2:5300")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "198.51.100.2:5300")
		if err != nil {
			t.Fatal(err)
		}
		u, tc := &dns.Server{PacketConn: pc, Handler: h}, &dns.Server{Listener: ln, Handler: h}
		go u.ActivateAndServe()
		go tc.ActivateAndServe()
		t.Cleanup(func() { u.Shutdown(); tc.Shutdown() })
	})
	// A TCP echo server on 8443 that keeps connections open.
	inNS(t, s.world, func() {
		ln, err := net.Listen("tcp", ":8443")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if _, err := c.Write([]byte(line)); err != nil {
							return
						}
					}
				}()
			}
		}()
	})

	pol := labPolicy(settingsWith(nil))
	web, db := zones.Endpoint{Kind: zones.KindZone, Zones: []string{"web"}}, zones.Endpoint{Kind: zones.KindZone, Zones: []string{"db"}}
	world := zones.Endpoint{Kind: zones.KindWorld}
	dom := func(names ...string) []zones.Domain {
		var out []zones.Domain
		for _, n := range names {
			d, err := zones.ParseDomain(n)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	tcp := func(p uint16) zones.PortRange { return zones.PortRange{Proto: zones.ProtoTCP, From: p, To: p} }
	pol.Flows = append(pol.Flows,
		&zones.Flow{Name: "web-names", From: web, To: world, Domains: dom("api.test.zw", "alias.test.zw", "short.test.zw", "many.test.zw", "*.n.test.zw"),
			Ports: []zones.PortRange{tcp(443), tcp(8443)}},
		&zones.Flow{Name: "db-names", From: db, To: world, Domains: dom("dbonly.test.zw"),
			Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 440, To: 450}}}) // a range: the interval sets
	for i, f := range pol.Flows {
		f.Index = i
	}
	rs, _ := enforcer.Compile(pol, s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
	mustApply(t, s.a, rs)

	table, err := NewDNSTable(enforcer.DefaultTable, dnsLabPort, WithNetNS(s.fd))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { table.Close() })
	table.WithBridgeNames(append([]string{"br0"}, DefaultBridgeNames...)...)
	if err := table.Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := table.Ensure(); err != nil {
		t.Fatalf("Ensure on an existing table: %v", err)
	}
	ids := map[string]uint8{}
	for id, z := range rs.Zones {
		ids[z] = id
	}
	if err := table.SetZones(ids); err != nil {
		t.Fatal(err)
	}
	l.table = table

	zoneOf := map[netip.Addr]string{}
	for name, c := range s.ctrs {
		zoneOf[c.ip4], zoneOf[c.ip6] = s.tiers[name], s.tiers[name]
	}
	cfg.Upstreams = []string{"198.51.100.2:5300"}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Writer = table
	cfg.Exchange = nsExchanger(t, s.router)
	cfg.Source = func(a netip.Addr) (string, bool) { z, ok := zoneOf[a]; return z, ok }
	l.proxy = dnsproxy.New(cfg)
	l.proxy.SetPolicy(pol)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	inNS(t, s.router, func() {
		pc, err := net.ListenPacket("udp", fmt.Sprintf("[::]:%d", dnsLabPort))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("[::]:%d", dnsLabPort))
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- l.proxy.Serve(ctx, pc, ln) }()
	})
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// nsExchanger queries upstreams from inside namespace ns: a few worker
// goroutines whose threads stay in ns (a socket belongs to the namespace of
// the thread that made it; the forwarder's handlers run on any thread).
func nsExchanger(t *testing.T, ns string) func(context.Context, *dns.Msg, string, string) (*dns.Msg, error) {
	type job struct {
		ctx               context.Context
		m                 *dns.Msg
		network, upstream string
		done              chan struct{}
		r                 *dns.Msg
		err               error
	}
	jobs := make(chan *job)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	for range 8 {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if err := netns.Set(h); err != nil {
				panic(err)
			}
			for {
				select {
				case <-stop:
					return
				case j := <-jobs:
					cl := &dns.Client{Net: j.network, Timeout: 2 * time.Second, UDPSize: dns.MaxMsgSize}
					j.r, _, j.err = cl.ExchangeContext(j.ctx, j.m, j.upstream)
					close(j.done)
				}
			}
		}()
	}
	return func(ctx context.Context, m *dns.Msg, network, upstream string) (*dns.Msg, error) {
		j := &job{ctx: ctx, m: m, network: network, upstream: upstream, done: make(chan struct{})}
		select {
		case jobs <- j:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		<-j.done
		return j.r, j.err
	}
}

// lookup asks the container's resolver (the world's DNS address; the DNS
// table redirects it) and returns the addresses in the answer.
func (l *dnsLab) lookup(t *testing.T, c *fakeContainer, name string, qtype uint16, network string, v6 bool) ([]netip.Addr, int) {
	server := "198.51.100.2:53"
	if v6 {
		server = "[2001:db8:100::2]:53"
	}
	return l.lookupVia(t, c, name, qtype, network, server)
}

func (l *dnsLab) lookupAt(t *testing.T, c *fakeContainer, name string, qtype uint16, server string) ([]netip.Addr, int) {
	return l.lookupVia(t, c, name, qtype, "udp", server)
}

func (l *dnsLab) lookupVia(t *testing.T, c *fakeContainer, name string, qtype uint16, network, server string) ([]netip.Addr, int) {
	var addrs []netip.Addr
	rcode := -1
	inNS(t, c.ns, func() {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		cl := &dns.Client{Net: network, Timeout: 3 * time.Second}
		r, _, err := cl.Exchange(m, server)
		if err != nil {
			t.Errorf("lookup %s from %s over %s: %v", name, c.name, network, err)
			return
		}
		rcode = r.Rcode
		for _, rr := range r.Answer {
			switch v := rr.(type) {
			case *dns.A:
				a, _ := netip.AddrFromSlice(v.A.To4())
				addrs = append(addrs, a)
			case *dns.AAAA:
				a, _ := netip.AddrFromSlice(v.AAAA)
				addrs = append(addrs, a)
			}
		}
	})
	return addrs, rcode
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

// connectOnce: one TCP connection, no retry (a first SYN that is dropped
// would make the dial time out).
func connectOnce(t *testing.T, ns string, dst netip.Addr, port uint16) bool {
	return probeWait(t, ns, "tcp", netip.AddrPortFrom(dst, port), netip.Addr{}, 2*time.Second)
}

func TestKernelDNSFirstConnection(t *testing.T) {
	t.Parallel()
	l := newDNSLab(t, dnsproxy.Config{})
	// Nothing is open before a lookup.
	if connectOnce(t, l.web.ns, netip.MustParseAddr("203.0.113.10"), 443) {
		t.Fatal("web reached 203.0.113.10 before any lookup")
	}
	fails := 0
	for i := 0; i < 100; i++ {
		qtype, v6 := uint16(dns.TypeA), false
		if i%4 == 3 {
			qtype, v6 = dns.TypeAAAA, true
		}
		network := "udp"
		if i%5 == 4 {
			network = "tcp"
		}
		addrs, _ := l.lookup(t, l.web, fmt.Sprintf("%d.n.test.zw", i), qtype, network, v6)
		if len(addrs) != 1 {
			t.Fatalf("lookup %d: %v", i, addrs)
		}
		if !probeWait(t, l.web.ns, "tcp", netip.AddrPortFrom(addrs[0], 443), netip.Addr{}, 300*time.Millisecond) {
			fails++
			t.Errorf("first connection to %s right after the lookup (%s over %s) failed", addrs[0], dns.TypeToString[qtype], network)
		}
	}
	t.Logf("first connection after lookup: %d/100 passed", 100-fails)
}

func TestKernelDNSIsolation(t *testing.T) {
	t.Parallel()
	l := newDNSLab(t, dnsproxy.Config{MaxAddrsPerName: 32})
	ctx := []check{}
	// Another zone's lookup opens nothing for this zone, and the reverse.
	if addrs, _ := l.lookup(t, l.db, "dbonly.test.zw", dns.TypeA, "udp", false); len(addrs) != 1 {
		t.Fatalf("dbonly: %v", addrs)
	}
	l.lookup(t, l.db, "api.test.zw", dns.TypeA, "udp", false) // db has no flow for it
	l.lookup(t, l.db, "api.test.zw", dns.TypeAAAA, "udp", true)
	// An unlisted name is answered (dns: allow) but opens nothing.
	if addrs, rcode := l.lookup(t, l.web, "unlisted.test.zw", dns.TypeA, "udp", false); len(addrs) != 1 || rcode != dns.RcodeSuccess {
		t.Fatalf("unlisted: %v rcode %d", addrs, rcode)
	}
	// CNAME chain, over TCP, both families.
	for _, q := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if addrs, _ := l.lookup(t, l.web, "alias.test.zw", q, "tcp", q == dns.TypeAAAA); len(addrs) != 1 {
			t.Fatalf("alias: %v", addrs)
		}
	}
	// 100 addresses: the cap.
	many, _ := l.lookup(t, l.web, "many.test.zw", dns.TypeA, "tcp", false)
	if len(many) != 32 {
		t.Errorf("many.test.zw answered with %d addresses, want the cap of 32", len(many))
	}
	ctx = append(ctx,
		check{l.db.ns, "tcp", netip.MustParseAddr("203.0.113.4"), 443, true, "db's own name (port range)"},
		check{l.db.ns, "tcp", netip.MustParseAddr("203.0.113.4"), 80, false, "db's own name, outside the port range"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.4"), 443, false, "db's name from web"},
		check{l.db.ns, "tcp", netip.MustParseAddr("203.0.113.2"), 443, false, "web's name asked by db"},
		check{l.db.ns, "tcp", netip.MustParseAddr("2001:db8:200::2"), 443, false, "web's name asked by db (IPv6)"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.2"), 443, false, "web's name asked only by db"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.3"), 443, false, "unlisted name"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.5"), 443, true, "CNAME target"},
		check{l.web.ns, "tcp", netip.MustParseAddr("2001:db8:200::5"), 443, true, "CNAME target (IPv6)"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.5"), 80, false, "CNAME target, port not in the flow"},
		check{l.api.ns, "tcp", netip.MustParseAddr("203.0.113.5"), 443, false, "another zone"},
		check{l.web.ns, "tcp", many[0], 443, true, "first of the capped addresses"},
		check{l.web.ns, "tcp", many[31], 443, true, "last of the capped addresses"},
		check{l.web.ns, "tcp", netip.MustParseAddr("203.0.113.249"), 443, false, "an address past the cap"},
	)
	l.run(t, ctx)
	if c := l.proxy.Stats()[dnsproxy.Key{Zone: "web", Name: "many.test.zw"}]; c.CapHits != 1 {
		t.Errorf("cap hits %+v", c)
	}
	// DNS to another container on the bridge is not redirected to the
	// forwarder (no flow allows it here: nothing may answer).
	inNS(t, l.web.ns, func() {
		cl := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
		for _, dst := range []netip.Addr{l.api.ip4, l.api.ip6} {
			if r, _, err := cl.Exchange(query("api.test.zw", dns.TypeA), netip.AddrPortFrom(dst, 53).String()); err == nil {
				t.Errorf("DNS to container %s was answered (rcode %d, response %v, %d answers): redirected to the forwarder", dst, r.Rcode, r.Response, len(r.Answer))
			}
		}
	})
	// DNS to the host's own bridge address is the forwarder's.
	if addrs, _ := l.lookupAt(t, l.web, "api.test.zw", dns.TypeA, "10.88.0.1:53"); len(addrs) != 1 {
		t.Errorf("DNS to the host's bridge address was not answered by the forwarder: %v", addrs)
	}
	// Rules stay constant in the number of names: the names live in sets.
	out, err := l.nft("list", "table", "inet", DNSTableName(enforcer.DefaultTable))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "redirect to"); n != 4 {
		t.Errorf("%d redirect rules, want 4:\n%s", n, out)
	}
	live, err := l.table.Live()
	if err != nil {
		t.Fatal(err)
	}
	var webNames int
	for _, e := range live {
		if e.Zone == "web" && e.Name == "many.test.zw" {
			webNames++
		}
	}
	if webNames != 64 { // 32 addresses x 2 ports
		t.Errorf("live elements of web's many.test.zw: %d, want 64", webNames)
	}
}

func TestKernelDNSExpiry(t *testing.T) {
	t.Parallel()
	l := newDNSLab(t, dnsproxy.Config{Grace: time.Second})
	addrs, _ := l.lookup(t, l.web, "short.test.zw", dns.TypeA, "udp", false)
	if len(addrs) != 1 {
		t.Fatalf("short: %v", addrs)
	}
	var conn net.Conn
	inNS(t, l.web.ns, func() {
		var err error
		conn, err = net.DialTimeout("tcp", netip.AddrPortFrom(addrs[0], 8443).String(), 2*time.Second)
		if err != nil {
			t.Fatalf("connection right after the lookup: %v", err)
		}
	})
	defer conn.Close()
	r := bufio.NewReader(conn)
	echo := func() error {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write([]byte("ping\n")); err != nil {
			return err
		}
		_, err := r.ReadString('\n')
		return err
	}
	if err := echo(); err != nil {
		t.Fatal(err)
	}
	if !connectOnce(t, l.web.ns, addrs[0], 443) {
		t.Fatal("no second connection within the TTL")
	}
	time.Sleep(3 * time.Second) // TTL 1 s + grace 1 s
	if connectOnce(t, l.web.ns, addrs[0], 443) {
		t.Error("a new connection passed after TTL + grace")
	}
	if err := echo(); err != nil {
		t.Errorf("the open connection died with the element: %v", err)
	}
	// A new lookup opens it again.
	again, rcode := l.lookup(t, l.web, "short.test.zw", dns.TypeA, "udp", false)
	if testing.Verbose() {
		out, _ := l.nft("list", "set", "inet", DNSTableName(enforcer.DefaultTable), SetNames4)
		t.Logf("after the new lookup (%v, rcode %d):\n%s", again, rcode, out)
	}
	if !connectOnce(t, l.web.ns, addrs[0], 443) {
		out, _ := l.nft("list", "set", "inet", DNSTableName(enforcer.DefaultTable), SetNames4)
		t.Errorf("no connection after a new lookup; the set:\n%s", out)
	}
}

// TestKernelDNSRestart: a new DNSTable (a restarted daemon) keeps what the
// kernel holds when the zone numbering is the same, lists it with zone and
// name, and drops the elements of a zone whose id now means another zone.
func TestKernelDNSRestart(t *testing.T) {
	t.Parallel()
	l := newLabPrefixed(t, "zwtest-n-")
	open := func() *DNSTable {
		d, err := NewDNSTable("zwrestart", dnsLabPort, WithNetNS(l.fd))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if err := d.Ensure(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := open()
	if err := first.SetZones(map[string]uint8{"web": 1, "db": 2}); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute)
	tcp443 := []zones.PortRange{{Proto: zones.ProtoTCP, From: 443, To: 443}}
	anyPort := []zones.PortRange(nil)
	if err := first.Allow(context.Background(), []dnsproxy.Grant{
		{Zone: "web", Addr: netip.MustParseAddr("203.0.113.7"), Ports: tcp443, Name: "api.test.zw", Expires: exp},
		{Zone: "db", Addr: netip.MustParseAddr("2001:db8::7"), Ports: anyPort, Name: "db.test.zw", Expires: exp},
	}); err != nil {
		t.Fatal(err)
	}
	// Same numbering: everything stays.
	second := open()
	if err := second.SetZones(map[string]uint8{"web": 1, "db": 2}); err != nil {
		t.Fatal(err)
	}
	live, err := second.Live()
	if err != nil || len(live) != 2 {
		t.Fatalf("after a restart: %+v, %v; want both elements", live, err)
	}
	for _, e := range live {
		if e.Expires < 50*time.Second || (e.Zone != "web" && e.Zone != "db") || e.Name == "" {
			t.Errorf("element %+v: want its zone, name and most of its minute", e)
		}
	}
	// A policy change while stopped: web is now zone 2, db gone.
	third := open()
	if err := third.SetZones(map[string]uint8{"api": 1, "web": 2}); err != nil {
		t.Fatal(err)
	}
	if live, _ := third.Live(); len(live) != 0 {
		t.Errorf("elements of renumbered zones survived: %+v", live)
	}
	// Renumbering while running flushes.
	if err := third.Allow(context.Background(), []dnsproxy.Grant{{Zone: "web", Addr: netip.MustParseAddr("203.0.113.8"), Ports: tcp443, Name: "x.test.zw", Expires: exp}}); err != nil {
		t.Fatal(err)
	}
	if err := third.SetZones(map[string]uint8{"web": 1}); err != nil {
		t.Fatal(err)
	}
	if live, _ := third.Live(); len(live) != 0 {
		t.Errorf("renumbering during a run kept %+v", live)
	}
	if err := third.Allow(context.Background(), []dnsproxy.Grant{{Zone: "nope", Addr: netip.MustParseAddr("203.0.113.9"), Ports: tcp443, Expires: exp}}); err == nil {
		t.Error("a grant for a zone the ruleset does not know was written")
	}
	if err := third.Delete(); err != nil {
		t.Fatal(err)
	}
}
