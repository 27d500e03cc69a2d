package dnsproxy

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// testUpstream is an authoritative server for test.zw. run in-process:
//
//	api.test.zw.      A 198.51.100.10, AAAA 2001:db8::10 (TTL 2)
//	alias.test.zw.    CNAME mid.test.zw. -> CNAME api.test.zw.
//	many.test.zw.     100 A records
//	meta.test.zw.     A 169.254.169.254 and 198.51.100.11
//	other.test.zw.    A 198.51.100.20
//	liar.test.zw.     answers for a different question
//	big.test.zw.      TXT records too large for 512 bytes
type testUpstream struct {
	addr    string
	mu      sync.Mutex
	queries int
}

func startUpstream(t testing.TB) *testUpstream {
	t.Helper()
	u := &testUpstream{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(u.serve)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return u
}

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (u *testUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.queries
}

func (u *testUpstream) serve(w dns.ResponseWriter, req *dns.Msg) {
	u.mu.Lock()
	u.queries++
	u.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	add := func(s string) {
		r := rr(s)
		if r.Header().Rrtype == q.Qtype || r.Header().Rrtype == dns.TypeCNAME {
			m.Answer = append(m.Answer, r)
		}
	}
	switch name {
	case "api.test.zw.":
		add("api.test.zw. 2 IN A 198.51.100.10")
		add("api.test.zw. 2 IN AAAA 2001:db8::10")
	case "alias.test.zw.":
		add("alias.test.zw. 30 IN CNAME mid.test.zw.")
		add("mid.test.zw. 30 IN CNAME api.test.zw.")
		add("api.test.zw. 2 IN A 198.51.100.10")
		add("api.test.zw. 2 IN AAAA 2001:db8::10")
		add("unrelated.test.zw. 30 IN A 198.51.100.99") // off the chain
	case "many.test.zw.":
		for i := 0; i < 100; i++ {
			add(fmt.Sprintf("many.test.zw. 60 IN A 198.51.101.%d", i+1))
		}
	case "meta.test.zw.":
		add("meta.test.zw. 60 IN A 169.254.169.254")
		add("meta.test.zw. 60 IN A 198.51.100.11")
	case "other.test.zw.":
		add("other.test.zw. 60 IN A 198.51.100.20")
	case "long.test.zw.":
		add("long.test.zw. 604800 IN A 198.51.100.30")
	case "liar.test.zw.":
		m.Question[0].Name = "api.test.zw."
		add("api.test.zw. 60 IN A 198.51.100.10")
	case "big.test.zw.":
		for i := 0; i < 20; i++ {
			m.Answer = append(m.Answer, rr(fmt.Sprintf(`big.test.zw. 60 IN TXT "%s"`, strings.Repeat("x", 200))))
		}
		add("big.test.zw. 60 IN A 198.51.100.40")
	default:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}
