package daemon

import (
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
)

type fakeRecorder struct {
	mu      sync.Mutex
	drops   []control.Drop
	skipped []uint64
}

func (f *fakeRecorder) RecordDrop(d control.Drop, suppressed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops = append(f.drops, d)
	f.skipped = append(f.skipped, suppressed)
}

// Drops get a direction and go to the recorder, at most a burst at once;
// the next record says how many were left out.
func TestDropRecordsDirectionAndRateLimit(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.inv.add(testContainer("bbbb2222", "db-1", "shop", "172.30.0.3"))
	rec := &fakeRecorder{}
	h.start(func(c *Config) {
		c.Engine = PolicyEngine{CompileFunc: CompileFunc(enforcer.Options{NflogGroup: 7001})}
		c.DropRecords = rec
		c.DropRecordRate = 0.001 // no refill within the test
		c.DropRecordBurst = 4
	})
	h.waitFor("sync", func() bool { return h.d.Status().Synced })

	ip := netip.MustParseAddr
	cc := enforcer.LogPrefix(enforcer.OriginNoFlowCC, false)
	packets := []DropPacket{
		{Prefix: cc, Proto: 6, Src: ip("172.30.0.3"), Dst: ip("172.30.0.2"), SrcPort: 40000, DstPort: 80, InIface: "vethbbbb"},
		{Prefix: enforcer.LogPrefix(enforcer.OriginNoFlowIn, false), Proto: 6, Src: ip("198.51.100.2"), Dst: ip("172.30.0.3"), DstPort: 5432, InIface: "eth0"},
		{Prefix: enforcer.LogPrefix(enforcer.OriginSpoof, false), Proto: 6, Src: ip("172.30.0.99"), Dst: ip("203.0.113.7"), InIface: "vethaaaa"},
		{Prefix: cc, Proto: 17, Src: ip("172.30.0.2"), Dst: ip("203.0.113.7"), DstPort: 53, InIface: "vethaaaa"},
	}
	for range 3 { // 4 recorded, then 6 over the burst
		packets = append(packets, packets[0], packets[1])
	}
	for _, p := range packets {
		p.Time = time.Now()
		h.d.RecordDrop(p)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.drops) != 4 {
		t.Fatalf("recorded %d drops, want the burst of 4", len(rec.drops))
	}
	want := []struct{ dir, flow string }{
		{control.DirectionInternal, "db -> web tcp/80"},
		{control.DirectionIngress, "world:198.51.100.2 -> db tcp/5432"},
		{control.DirectionUnknown, "unknown:172.30.0.99 -> world:203.0.113.7 tcp"}, // forged source on a container port
		{control.DirectionEgress, "web -> world:203.0.113.7 udp/53"},
	}
	for i, w := range want {
		d := rec.drops[i]
		if d.Direction != w.dir || DropFlow(d) != w.flow {
			t.Errorf("drop %d: direction %q flow %q, want %q %q", i, d.Direction, DropFlow(d), w.dir, w.flow)
		}
	}
	// The ring keeps every drop, whatever the record rate.
	if n := len(h.d.Drops()); n != len(packets) {
		t.Errorf("ring holds %d drops, want %d", n, len(packets))
	}
}

func TestRecordLimiterCountsSuppressed(t *testing.T) {
	l := newRecordLimiter(10, 2)
	now := time.Unix(1000, 0)
	for i := range 2 {
		if ok, s := l.allow(now); !ok || s != 0 {
			t.Fatalf("record %d refused (%v, %d)", i, ok, s)
		}
	}
	for range 5 {
		if ok, _ := l.allow(now); ok {
			t.Fatal("allowed past the burst")
		}
	}
	if ok, s := l.allow(now.Add(100 * time.Millisecond)); !ok || s != 5 {
		t.Fatalf("after refill: %v, suppressed %d, want true, 5", ok, s)
	}
}

func TestDropRecordFieldsAndMessage(t *testing.T) {
	d := control.Drop{
		Prefix: "zw:audit:no-flow-container ", Decided: "no-flow-container", Proto: "tcp", Direction: control.DirectionInternal,
		Src: control.DropSide{Kind: "container", Container: "shop-web-1", ContainerID: "aaaa1111", Zone: "web", Addr: "172.30.0.2", Port: 40000},
		Dst: control.DropSide{Kind: "container", Container: "shop-db-1", ContainerID: "bbbb2222", Addr: "172.30.0.3", Port: 5432},
	}
	fields := map[string]string{}
	for _, kv := range dropFields(d, 3) {
		fields[kv[0]] = kv[1]
	}
	for k, v := range map[string]string{
		"flow": "web -> unzoned tcp/5432", "direction": "internal", "reason": "no-flow-container",
		"container": "shop-web-1", "zone": "web",
		"src_container": "shop-web-1", "src_zone": "web", "dst_container": "shop-db-1", "dst_zone": "unzoned", "suppressed": "3",
	} {
		if fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, fields[k], v)
		}
	}
	// Journal field names: upper-case letters, digits and underscores.
	valid := regexp.MustCompile(`^[A-Z0-9][A-Z0-9_]*$`)
	for k := range fields {
		if name := "ZONEWALL_" + strings.ToUpper(k); !valid.MatchString(name) {
			t.Errorf("invalid journal field name %q", name)
		}
	}
	msg := dropMessage(d, 3)
	if msg != "would drop (audit mode) web -> unzoned tcp/5432: no-flow-container (shop-web-1 -> shop-db-1); 3 earlier drops not recorded (rate limit)" {
		t.Errorf("message %q", msg)
	}
	var sb strings.Builder
	LogDrops{Log: slog.New(slog.NewTextHandler(&sb, nil))}.RecordDrop(d, 0)
	// Ingress: the destination is the container the drop concerns.
	in := control.Drop{Proto: "tcp", Src: control.DropSide{Kind: "world", Addr: "198.51.100.2"}, Dst: d.Dst}
	got := map[string]string{}
	for _, kv := range dropFields(in, 0) {
		got[kv[0]] = kv[1]
	}
	if got["container"] != "shop-db-1" || got["zone"] != "unzoned" || got["direction"] != "ingress" {
		t.Errorf("ingress fields %v", got)
	}
	if !strings.Contains(sb.String(), `msg="would-be drop (audit mode)"`) || !strings.Contains(sb.String(), "dst_zone=unzoned") {
		t.Errorf("log record %q", sb.String())
	}
}
