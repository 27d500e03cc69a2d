package nft

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// shop is the lab every packet test starts from.
type shop struct {
	*lab
	world                          string
	web, web2, api, db, db2, other *fakeContainer
	tiers                          map[string]string
	srv                            map[string]*server
	a                              *Applier
}

func newShop(t *testing.T) *shop { return newShopPrefixed(t, "zwtest-k-") }

func newShopPrefixed(t testing.TB, prefix string) *shop {
	l := newLabPrefixed(t, prefix)
	l.enableBridgeNetfilter()
	l.addBridge("br0", "10.88.0.1/24", "fd88::1/64")
	s := &shop{lab: l, world: l.addWorld(), srv: map[string]*server{}}
	add := func(name string, n int) *fakeContainer {
		return l.addContainer(name, "br0", fmt.Sprintf("10.88.0.%d", n), fmt.Sprintf("fd88::%d", n), "10.88.0.1", "fd88::1")
	}
	s.web, s.api, s.db, s.other, s.web2, s.db2 = add("web", 2), add("api", 3), add("db", 4), add("other", 5), add("web2", 6), add("db2", 7)
	s.tiers = map[string]string{"web": "web", "web2": "web", "api": "api", "db": "db", "db2": "db", "other": ""}
	tcp := []int{80, 443, 5432, 6999, 7000, 7100, 7101, 8080, 8081, 9100, 9101}
	udp := []int{53, 5353, 9999}
	for _, c := range []*fakeContainer{s.web, s.web2, s.api, s.db, s.db2, s.other} {
		s.srv[c.name] = serve(t, c.ns, tcp, udp)
	}
	s.srv["world"] = serve(t, s.world, tcp, udp)
	s.srv["host"] = serve(t, l.router, tcp, udp)
	a, err := New(WithNetNS(l.fd))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s.a = a
	return s
}

// check is one expected outcome of a probe.
type check struct {
	from  string // namespace name of the sender
	proto string // tcp, udp, icmp
	to    netip.Addr
	port  uint16
	want  bool
	desc  string
}

func (s *shop) run(t *testing.T, checks []check) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]bool, len(checks))
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An expected pass gets three tries with longer waits (a loaded
			// CI machine can miss one 400 ms window, and a first packet may
			// wait for neighbour discovery); an expected drop gets one.
			for try := 0; try < 3 && !got[i]; try++ {
				if c.proto == "icmp" {
					got[i] = ping(t, c.from, c.to)
				} else {
					wait := probeTimeout * time.Duration(1+2*try)
					got[i] = probeWait(t, c.from, c.proto, netip.AddrPortFrom(c.to, c.port), netip.Addr{}, wait)
				}
				if !c.want {
					break
				}
			}
		}()
	}
	wg.Wait()
	for i, c := range checks {
		if got[i] != c.want {
			t.Errorf("%s: %s -> %s %s/%d: got pass=%v, want %v", c.desc, c.from, c.to, c.proto, c.port, got[i], c.want)
		}
	}
}

// both returns the check for IPv4 and for IPv6.
func both(from *fakeContainer, fromNS string, to *fakeContainer, proto string, port uint16, want bool, desc string) []check {
	ns := fromNS
	if from != nil {
		ns = from.ns
	}
	return []check{
		{ns, proto, to.ip4, port, want, desc + " (IPv4)"},
		{ns, proto, to.ip6, port, want, desc + " (IPv6)"},
	}
}

func TestKernelZoneMatrix(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), enforcer.Options{NflogGroup: 7001})
	st := mustApply(t, s.a, rs)
	if !st.Full {
		t.Errorf("first apply was not a full rebuild")
	}
	var checks []check
	add := func(c []check) { checks = append(checks, c...) }
	add(both(s.web, "", s.api, "tcp", 8080, true, "web->api declared"))
	add(both(s.web, "", s.api, "tcp", 8081, false, "web->api other port"))
	add(both(s.web, "", s.db, "tcp", 5432, false, "web->db not declared"))
	add(both(s.api, "", s.db, "tcp", 5432, true, "api->db declared"))
	add(both(s.db, "", s.api, "tcp", 8080, false, "db->api reverse direction"))
	add(both(s.api, "", s.web, "tcp", 80, false, "api->web reverse direction"))
	add(both(s.web, "", s.web2, "tcp", 80, false, "intra-zone web not declared"))
	add(both(s.db, "", s.db2, "tcp", 5432, true, "intra-zone db declared"))
	add(both(s.db, "", s.db2, "tcp", 8080, false, "intra-zone db other port"))
	add(both(s.api, "", s.db, "tcp", 7000, true, "range start"))
	add(both(s.api, "", s.db, "tcp", 7100, true, "range end"))
	add(both(s.api, "", s.db, "tcp", 6999, false, "below range"))
	add(both(s.api, "", s.db, "tcp", 7101, false, "above range"))
	add(both(s.web, "", s.api, "udp", 5353, true, "udp declared"))
	add(both(s.web, "", s.api, "udp", 9999, false, "udp not declared"))
	add(both(s.api, "", s.db, "udp", 9999, true, "udp declared api->db"))
	add(both(s.web, "", s.api, "icmp", 0, true, "icmp declared"))
	add(both(s.api, "", s.web, "icmp", 0, false, "icmp not declared"))
	add(both(s.other, "", s.web, "tcp", 80, false, "unzoned -> zone"))
	add(both(s.web, "", s.other, "tcp", 80, false, "zone -> unzoned"))
	s.run(t, checks)
}
