package daemon

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

type fakeNames struct {
	mu       sync.Mutex
	policies []*zones.Policy
}

func (f *fakeNames) Enforce(p *zones.Policy, _ map[string]uint8) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies = append(f.policies, p)
	return nil
}

func (f *fakeNames) enforced() []*zones.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*zones.Policy(nil), f.policies...)
}

func (f *fakeNames) Status() []control.NameStatus {
	return []control.NameStatus{{Zone: "web", Name: "api.example.com", LiveAddrs: 2}}
}

func (f *fakeNames) NameOf(a netip.Addr) string {
	if a == netip.MustParseAddr("198.51.100.7") {
		return "api.example.com"
	}
	return ""
}

// TestNamesWiring: egress by name follows every applied policy; the
// forwarder learns zones by source address; status and drops name names.
func TestNamesWiring(t *testing.T) {
	h := newHarness(t, zonesYAML+"  - {from: web, to: world, domains: [api.example.com], ports: [tcp/443]}\n")
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.inv.add(testContainer("cccc3333", "lonely", "shop", "172.30.0.4"))
	names := &fakeNames{}
	h.start(func(c *Config) { c.Names = names })
	h.waitFor("names enforced", func() bool { return len(names.enforced()) > 0 && h.d.Status().Synced })
	if p := names.enforced()[0]; !p.HasDomainFlows() {
		t.Errorf("Enforce got a policy without the domain flow")
	}
	for _, c := range []struct {
		addr  string
		zone  string
		known bool
	}{{"172.30.0.2", "web", true}, {"172.30.0.4", "", true}, {"172.30.0.9", "", false}} {
		zone, known := h.d.ZoneOfAddr(netip.MustParseAddr(c.addr))
		if zone != c.zone || known != c.known {
			t.Errorf("ZoneOfAddr(%s) = %q, %v; want %q, %v", c.addr, zone, known, c.zone, c.known)
		}
	}
	if st := h.d.Status(); len(st.Names) != 1 || st.Names[0].Name != "api.example.com" {
		t.Errorf("status names = %+v", st.Names)
	}
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: "zw:drop:no-flow-world ", Proto: 6,
		Src: netip.MustParseAddr("172.30.0.2"), SrcPort: 40000, Dst: netip.MustParseAddr("198.51.100.7"), DstPort: 443})
	if d := h.d.Drops()[0]; d.Dst.Kind != "world" || d.Dst.Name != "api.example.com" {
		t.Errorf("drop to a resolved address = %+v, want the name it was resolved from", d.Dst)
	}
}
