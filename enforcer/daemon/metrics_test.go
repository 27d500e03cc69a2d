package daemon

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// The daemon feeds reported containers by kind and every logged drop,
// attributed to zones and the deciding default, to its Metrics.
func TestMetricsReportedAndLoggedDrops(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.inv.add(testContainer("bbbb2222", "db-1", "shop", "172.30.0.3"))
	h.inv.add(testContainer("cccc3333", "lonely", "shop", "172.30.0.4"))
	m := &fakeMetrics{}
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		c.Metrics = m
	})
	h.waitFor("sync", func() bool { return h.d.Status().Synced })
	if rep, _ := m.snapshot(); rep["unzoned"] != 1 {
		t.Fatalf("reported by kind = %v, want unzoned: 1", rep)
	}

	ip := netip.MustParseAddr
	cc := enforcer.LogPrefix(enforcer.OriginNoFlowCC, false)
	for _, p := range []DropPacket{
		{Prefix: cc, Proto: 6, Src: ip("172.30.0.3"), Dst: ip("172.30.0.2"), DstPort: 80, InIface: "vethbbbb"},
		{Prefix: cc, Proto: 6, Src: ip("172.30.0.4"), Dst: ip("172.30.0.3"), DstPort: 5432, InIface: "vethcccc"},
		{Prefix: enforcer.LogPrefix(enforcer.OriginSpoof, false), Proto: 6, Src: ip("172.30.0.99"), Dst: ip("203.0.113.7"), InIface: "vethaaaa"},
		{Prefix: enforcer.LogPrefix(enforcer.OriginNoFlowIn, false), Proto: 6, Src: ip("198.51.100.2"), Dst: ip("172.30.0.3"), InIface: "eth0"},
		{Prefix: "zw:drop:gone ", Proto: 17, Src: ip("172.30.0.2"), Dst: ip("10.99.0.1"), InIface: "vethaaaa"},
	} {
		p.Time = time.Now()
		h.d.RecordDrop(p)
	}
	_, drops := m.snapshot()
	want := []string{
		"db -> web: no-flow-container",
		"unzoned -> db: no-flow-container",
		"unknown -> world: spoofed-source",
		"world -> db: no-flow-ingress",
		"web -> host: unattributed",
	}
	if !reflect.DeepEqual(drops, want) {
		t.Fatalf("logged drops =\n%q\nwant\n%q", drops, want)
	}
}

// Before Docker is read (baseline), drops still know the host's addresses:
// a frame from an unclassified port to the host is "unknown -> host".
func TestLoggedDropsDuringBaseline(t *testing.T) {
	h := newHarness(t, zonesYAML)
	m := &fakeMetrics{}
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		c.Metrics = m
	})
	h.waitFor("READY", func() bool { return h.notify.ready.Load() == 1 })
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: enforcer.LogPrefix(enforcer.OriginUnknownPort, false), Proto: 1,
		Src: netip.MustParseAddr("172.30.0.2"), Dst: netip.MustParseAddr("10.99.0.1"), InIface: "vethaaaa"})
	if _, drops := m.snapshot(); !reflect.DeepEqual(drops, []string{"unknown -> host: unknown-port"}) {
		t.Fatalf("logged drops = %q", drops)
	}
}
