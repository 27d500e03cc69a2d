package dnsproxy

import (
	"context"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/zonewall/zonewall/zones"
)

// FuzzHandle feeds arbitrary queries and upstream answers to the forwarder:
// it must never panic, and whatever it opens must be an address of the
// answer it releases, for a name a domain flow of the asking zone lists.
func FuzzHandle(f *testing.F) {
	seed := func(q, a *dns.Msg) {
		qb, _ := q.Pack()
		ab, _ := a.Pack()
		f.Add(qb, ab)
	}
	q := query("api.test.zw.", dns.TypeA)
	a := new(dns.Msg)
	a.SetReply(q)
	a.Answer = append(a.Answer, rr("api.test.zw. 60 IN A 198.51.100.10"), rr("api.test.zw. 60 IN CNAME x.evil."), rr("x.evil. 60 IN A 198.51.100.66"))
	seed(q, a)
	q2 := query("x.wild.test.zw.", dns.TypeAAAA)
	a2 := new(dns.Msg)
	a2.SetReply(q2)
	a2.Answer = append(a2.Answer, rr("x.wild.test.zw. 0 IN AAAA 2001:db8::1"), rr("x.wild.test.zw. 0 IN AAAA fd00:ec2::254"))
	seed(q2, a2)
	f.Add([]byte{0}, []byte{0xff, 0xff})

	pol := loadPolicyTB(f, "")
	f.Fuzz(func(t *testing.T, qb, ab []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(qb); err != nil {
			req = nil
		}
		w := &fakeWriter{}
		p := New(Config{Upstreams: []string{"fuzz"}, Writer: w, Source: sources,
			Exchange: func(context.Context, *dns.Msg, string, string) (*dns.Msg, error) {
				m := new(dns.Msg)
				return m, m.Unpack(ab)
			}})
		p.SetPolicy(pol)
		resp, out := p.Handle(context.Background(), workerIP, req, "udp")
		if resp == nil {
			t.Fatal("nil answer")
		}
		if len(w.grants) == 0 {
			return
		}
		if out != OutcomeAllowed {
			t.Fatalf("grants written but outcome %s", out)
		}
		inAnswer := map[netip.Addr]bool{}
		for _, r := range resp.Answer {
			switch v := r.(type) {
			case *dns.A:
				a, _ := netip.AddrFromSlice(v.A.To4())
				inAnswer[a] = true
			case *dns.AAAA:
				a, _ := netip.AddrFromSlice(v.AAAA)
				inAnswer[a.Unmap()] = true
			}
		}
		for _, g := range w.grants {
			if !inAnswer[g.Addr] || zones.IsMetadata(g.Addr) || g.Zone != "worker" {
				t.Fatalf("grant %+v not in the released answer %v", g, resp.Answer)
			}
			if len(pol.DomainFlowsFor("worker", g.Name)) == 0 {
				t.Fatalf("grant for %q, which no flow of worker lists", g.Name)
			}
		}
	})
}
