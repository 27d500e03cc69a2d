package nft

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// pairTotal sums the samples of one zone pair (all flows).
func pairTotal(samples []AllowSample, from, to string) (packets, bytes uint64) {
	for _, s := range samples {
		if s.From == from && s.To == to {
			packets += s.Packets
			bytes += s.Bytes
		}
	}
	return packets, bytes
}

func mustAllowCounters(t *testing.T, a *Applier) []AllowSample {
	t.Helper()
	samples, err := a.AllowCounters()
	if err != nil {
		t.Fatalf("AllowCounters: %v", err)
	}
	return samples
}

// connect opens n TCP connections; each one's SYN is the packet the allow
// set's lookup sees (the rest of the connection is established).
func (s *shop) connect(t *testing.T, from *fakeContainer, to netip.Addr, port uint16, n int, want bool) {
	t.Helper()
	for i := 0; i < n; i++ {
		ok := false
		for try := 0; try < 3 && !ok; try++ {
			ok = probe(t, from.ns, "tcp", netip.AddrPortFrom(to, port), netip.Addr{})
			if !want {
				break
			}
		}
		if ok != want {
			t.Fatalf("%s -> %s tcp/%d: pass=%v, want %v", from.name, to, port, ok, want)
		}
	}
}

// TestKernelAllowCounters: allowed connections are counted on their zone
// pair and flow, denied ones on no pair; an element diff keeps the
// counters of unchanged elements, and elements it adds count too.
func TestKernelAllowCounters(t *testing.T) {
	t.Parallel()
	s := newShopPrefixed(t, "zwtest-c-")
	pol := labPolicy(settingsWith(nil))
	opts := enforcer.Options{NflogGroup: 7001}
	rs, _ := enforcer.Compile(pol, s.inventory(s.tiers), opts)
	mustApply(t, s.a, rs)
	if live, err := s.a.Live(); err != nil || live != rs.String() {
		t.Fatalf("Live differs from the compiled ruleset with counters (err %v)", err)
	}

	before := mustAllowCounters(t, s.a)
	const n = 5
	s.connect(t, s.web, s.api.ip4, 8080, n, true)
	s.connect(t, s.web, s.api.ip6, 8080, n, true)
	s.connect(t, s.web, s.db.ip4, 5432, n, false)
	start := time.Now()
	after := mustAllowCounters(t, s.a)
	t.Logf("AllowCounters (11 set dumps): %v", time.Since(start))

	p0, _ := pairTotal(before, "web", "api")
	p1, b1 := pairTotal(after, "web", "api")
	if p1-p0 < 2*n {
		t.Errorf("web -> api: %d packets counted, want at least %d", p1-p0, 2*n)
	}
	// Only a connection's first packet looks the set up (established
	// traffic is accepted before): expect about 2n, not 2n times the
	// packets of a connection.
	t.Logf("web -> api: %d connections counted %d packets, %d bytes", 2*n, p1-p0, b1)
	if b1 < p1*40 {
		t.Errorf("web -> api: %d bytes for %d packets", b1, p1)
	}
	if p, _ := pairTotal(after, "web", "db"); p != 0 {
		t.Errorf("denied pair web -> db counted %d packets", p)
	}
	if p, _ := pairTotal(after, "api", "db"); p != 0 {
		t.Errorf("api -> db saw no traffic but counted %d packets", p)
	}
	flow := ""
	for _, smp := range after {
		if smp.From == "web" && smp.To == "api" && smp.Packets > 0 {
			flow = smp.Flow
		}
	}
	if want := pol.Flows[1].Label(); flow != want {
		t.Errorf("web -> api counted under flow %q, want %q", flow, want)
	}

	// A new flow web -> db is an element diff of allow_cc (same static
	// part): the new element counts, the unchanged web -> api keeps its
	// total.
	webDB := &zones.Flow{Name: "web-db", Index: len(pol.Flows),
		From: zones.Endpoint{Kind: zones.KindZone, Zones: []string{"web"}}, To: zones.Endpoint{Kind: zones.KindZone, Zones: []string{"db"}},
		Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 5432, To: 5432}}}
	pol.Flows = append(pol.Flows, webDB)
	rs2, _ := enforcer.Compile(pol, s.inventory(s.tiers), opts)
	if st := mustApply(t, s.a, rs2); st.Full || st.Added == 0 {
		t.Fatalf("adding a flow was not an element diff: %+v", st)
	}
	s.connect(t, s.web, s.db.ip4, 5432, n, true)
	diffed := mustAllowCounters(t, s.a)
	if p, _ := pairTotal(diffed, "web", "api"); p < p1 {
		t.Errorf("web -> api went from %d to %d packets across an element diff", p1, p)
	}
	found := false
	for _, smp := range diffed {
		if smp.From == "web" && smp.To == "db" && smp.Flow == "web-db" {
			found = true
			if smp.Packets < n {
				t.Errorf("web -> db (added by a diff): %d packets, want at least %d", smp.Packets, n)
			}
		}
	}
	if !found {
		t.Errorf("no sample for the flow web-db added by a diff: %+v", diffed)
	}
	if live, err := s.a.Live(); err != nil || live != rs2.String() {
		t.Errorf("Live differs from the compiled ruleset after a diff (err %v)", err)
	}
	// nft itself lists the counted sets (plan's fallback view).
	listing, err := s.a.NftListing()
	if err != nil || !strings.Contains(listing, "counter packets") {
		t.Errorf("nft list lacks element counters (err %v):\n%s", err, listing)
	}
}

// TestKernelAllowCountersSides: world, host and default sides are named.
func TestKernelAllowCountersSides(t *testing.T) {
	t.Parallel()
	s := newShopPrefixed(t, "zwtest-c-")
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
	mustApply(t, s.a, rs)
	s.connect(t, s.api, netip.MustParseAddr("198.51.100.2"), 443, 2, true)
	samples := mustAllowCounters(t, s.a)
	if p, _ := pairTotal(samples, "api", SideWorld); p < 2 {
		t.Errorf("api -> world: %d packets, want at least 2 (%+v)", p, samples)
	}
	// settings.dns: allow covers every zone with one element per range.
	if p, _ := pairTotal(samples, SideAny, SideHost); p != 0 {
		t.Errorf("dns to host saw no traffic but counted %d", p)
	}
	foundDNS := false
	for _, smp := range samples {
		if smp.Flow == enforcer.OriginDNS && smp.From == SideAny {
			foundDNS = true
		}
	}
	if !foundDNS {
		t.Errorf("no sample for the dns default from %q: %+v", SideAny, samples)
	}
}

// BenchmarkAllowedConnections: new TCP connections web -> api through the
// allow set, with and without per-element counters (the counter is only
// touched by a connection's first packet).
func BenchmarkAllowedConnections(b *testing.B) {
	s := newShopPrefixed(b, "zwtest-c-")
	dst := netip.AddrPortFrom(s.api.ip4, 8080)
	for _, counters := range []bool{true, false} {
		b.Run(fmt.Sprintf("counters=%v", counters), func(b *testing.B) {
			rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
			for _, set := range rs.Table(enforcer.FamilyInet).Sets {
				set.Counter = set.Counter && counters
			}
			s.a.full = true // same StaticKey: force the rebuild
			mustApply(b, s.a, rs)
			for b.Loop() {
				if !probe(b, s.web.ns, "tcp", dst, netip.Addr{}) {
					b.Fatal("allowed connection failed")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conn/s")
		})
	}
}
