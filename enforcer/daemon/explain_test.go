package daemon

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
)

// syncedHarness runs a daemon with web-1 (web), db-1 (db) and lonely (unzoned).
func syncedHarness(t *testing.T, zoneFile string) *harness {
	h := newHarness(t, zoneFile)
	h.inv.synced.Store(true)
	h.inv.add(testContainer("aaaa1111", "web-1", "shop", "172.30.0.2"))
	h.inv.add(testContainer("bbbb2222", "db-1", "shop", "172.30.0.3"))
	lonely := testContainer("cccc3333", "lonely", "shop", "172.30.0.4")
	lonely.Ports = []enforcer.PublishedPort{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}
	h.inv.add(lonely)
	web := &h.inv.inv.Containers[0]
	web.Ports = []enforcer.PublishedPort{
		{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: 80, ContainerPort: 80, Proto: "tcp"},     // reached by public-web
		{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: 2222, ContainerPort: 22, Proto: "tcp"},   // reached by nothing
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 9000, ContainerPort: 90, Proto: "tcp"}, // loopback only: fine
	}
	h.start(nil)
	h.waitFor("first apply", func() bool { return h.applyCount() == 1 })
	h.waitFor("view", func() bool { return h.d.Status().Synced })
	return h
}

func TestExplain(t *testing.T) {
	h := syncedHarness(t, zonesYAML+"  - {name: by-name, from: web, to: world, domains: [api.example.com], ports: [tcp/443]}\n")
	cases := []struct {
		from, to, port string
		allow          bool
		reason         string // substring
		fromKind       string
	}{
		{"world", "web", "tcp/80", true, `flow "public-web" (`, "world"},
		{"world", "web-1", "tcp/80", true, "shop.yaml:9", "world"},
		{"web-1", "db-1", "tcp/5432", true, "flow 2", "container"},
		{"172.30.0.2", "db", "tcp/5432", true, "flow 2", "container"},
		{"aaaa1111", "db", "tcp/5432", true, "flow 2", "container"},
		{"db-1", "web-1", "tcp/80", false, "", "container"},
		{"web", "db", "tcp/22", false, "", "zone"},
		{"lonely", "db", "tcp/5432", false, "unzoned", "container"},
		{"world:203.0.113.9", "web", "tcp/80", true, "public-web", "world"},
		{"203.0.113.9", "web", "tcp/80", true, "public-web", "world"},
		{"web", "world:169.254.169.254", "tcp/80", false, "metadata", "zone"},
		{"web-1", "world:API.example.com", "tcp/443", true, `flow "by-name" (`, "container"},
		{"web", "world:x.api.example.com", "tcp/443", false, "no flow from web to world:x.api.example.com", "zone"},
		{"db-1", "world:api.example.com", "tcp/443", false, "no flow from db to world:api.example.com", "container"},
	}
	for _, c := range cases {
		res, err := h.d.Explain(control.ExplainRequest{From: c.from, To: c.to, Port: c.port})
		if err != nil {
			t.Errorf("%s -> %s %s: %v", c.from, c.to, c.port, err)
			continue
		}
		if res.Allow != c.allow || !strings.Contains(res.Reason, c.reason) || res.From.Kind != c.fromKind {
			t.Errorf("%s -> %s %s = allow %v, reason %q, from %+v; want allow %v, reason with %q, from kind %s",
				c.from, c.to, c.port, res.Allow, res.Reason, res.From, c.allow, c.reason, c.fromKind)
		}
		if c.allow && strings.Contains(c.reason, "flow") && (res.Flow == nil || !strings.Contains(res.Flow.Pos, "shop.yaml:")) {
			t.Errorf("%s -> %s: allowed by flow but FlowRef = %+v", c.from, c.to, res.Flow)
		}
	}
	if res, _ := h.d.Explain(control.ExplainRequest{From: "lonely", To: "db", Port: "tcp/5432"}); res.From.Note != "unzoned" {
		t.Errorf("unzoned container note = %q", res.From.Note)
	}
}

func TestExplainBadInput(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	for _, req := range []control.ExplainRequest{
		{From: "wbe", To: "db", Port: "tcp/80"},
		{From: "web", To: "db", Port: "tcp"},
		{From: "web", To: "db", Port: "tcp/70000"},
		{From: "web", To: "db", Port: "sctp/5"},
		{From: "world:nope", To: "db"},
		{From: "world:1.2.3", To: "db"},
		{From: "web", To: "world:*.example.com"},
		{From: "", To: "db"},
	} {
		_, err := h.d.Explain(req)
		var bad *control.BadRequestError
		if !errors.As(err, &bad) {
			t.Errorf("%+v: err = %v, want a BadRequestError", req, err)
		}
	}
	_, err := h.d.Explain(control.ExplainRequest{From: "wbe", To: "db"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "web"`) {
		t.Errorf("misspelt zone: %v, want a suggestion", err)
	}
}

func TestAudit(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	h.d.mu.Lock()
	h.d.brnf = "off: /proc/sys/net/bridge/bridge-nf-call-iptables missing"
	h.d.mu.Unlock()
	a := h.d.Audit()
	kinds := map[string][]string{}
	for _, f := range a.Findings {
		kinds[f.Kind] = append(kinds[f.Kind], f.Container+": "+f.Detail)
	}
	if len(kinds["unzoned"]) != 1 || !strings.HasPrefix(kinds["unzoned"][0], "lonely") {
		t.Errorf("unzoned findings = %v, want lonely", kinds["unzoned"])
	}
	pp := strings.Join(kinds["published-port"], "\n")
	if len(kinds["published-port"]) != 2 || !strings.Contains(pp, "web-1: publishes 0.0.0.0:2222->22/tcp") || !strings.Contains(pp, "lonely: publishes 0.0.0.0:8080->80/tcp") {
		t.Errorf("published-port findings:\n%s\nwant web-1's 2222 and lonely's 8080 (not web-1's 80, not the loopback 9000)", pp)
	}
	if len(kinds["br-netfilter"]) != 1 {
		t.Errorf("br_netfilter off not reported: %v", kinds)
	}
}

func TestStatusZonesAndMembers(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	st := h.d.Status()
	if st.Mode != "enforce" || st.Policy.Dir != h.dir || st.Policy.Source != "zones_dir" {
		t.Fatalf("status = %+v", st)
	}
	got := map[string][]string{}
	for _, z := range st.Zones {
		for _, m := range z.Members {
			got[z.Name] = append(got[z.Name], m.Name)
		}
	}
	if strings.Join(got["web"], ",") != "web-1" || strings.Join(got["db"], ",") != "db-1" {
		t.Fatalf("zones = %v", got)
	}
	if len(st.Reported) != 1 || st.Reported[0].Container != "lonely" {
		t.Fatalf("reported = %+v", st.Reported)
	}
	if st.LastApply == nil || !st.LastApply.Full || st.LastApply.LastSuccess.IsZero() {
		t.Fatalf("last apply = %+v", st.LastApply)
	}
}

func TestDropsAttributedAndFollowed(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	ctx, cancel := contextWithCancel(t)
	live := h.d.FollowDrops(ctx)
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: "zw-drop-zone", Proto: 6,
		Src: netip.MustParseAddr("172.30.0.3"), SrcPort: 40000, Dst: netip.MustParseAddr("172.30.0.2"), DstPort: 80})
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: "zw-drop-world", Proto: 17,
		Src: netip.MustParseAddr("198.51.100.2"), SrcPort: 5353, Dst: netip.MustParseAddr("10.99.0.1"), DstPort: 53})
	got := h.d.Drops()
	if len(got) != 2 {
		t.Fatalf("drops = %+v", got)
	}
	d0 := got[0]
	if d0.Proto != "tcp" || d0.Src.Container != "db-1" || d0.Src.Zone != "db" || d0.Dst.Container != "web-1" || d0.Dst.Zone != "web" {
		t.Errorf("first drop not attributed: %+v", d0)
	}
	if got[1].Src.Kind != "world" || got[1].Dst.Kind != "host" || got[1].Proto != "udp" {
		t.Errorf("second drop = %+v", got[1])
	}
	select {
	case d := <-live:
		if d.Prefix != "zw-drop-zone" {
			t.Errorf("followed drop = %+v", d)
		}
	case <-time.After(time.Second):
		t.Fatal("no drop delivered to the follower")
	}
	cancel()
}

func TestDropRingKeepsTheNewest(t *testing.T) {
	l := newDropLog(3)
	for i := range 5 {
		l.add(control.Drop{Prefix: string(rune('a' + i))})
	}
	var got string
	for _, d := range l.recent() {
		got += d.Prefix
	}
	if got != "cde" {
		t.Fatalf("ring = %q, want cde", got)
	}
}

func TestNonIPDrop(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	h.d.RecordDrop(DropPacket{Time: time.Now(), Prefix: "zw:drop:bad-ethertype ", InIface: "vethaaaa"})
	d := h.d.Drops()[0]
	if d.Proto != "non-ip" || d.Src.Kind != "unknown" || d.Src.Addr != "" || d.InIface != "vethaaaa" {
		t.Fatalf("non-IP drop = %+v", d)
	}
}

func TestExplainDefaultBridge(t *testing.T) {
	h := newHarness(t, zonesYAML)
	h.inv.synced.Store(true)
	h.inv.inv.Networks = []enforcer.Network{{ID: "def", Name: "bridge", Driver: "bridge", Bridge: "docker0", Default: true}}
	old := testContainer("dddd4444", "web-old", "bridge", "172.17.0.2") // matches zone web by name
	old.Endpoints[0].NetworkID, old.Endpoints[0].Bridge = "def", "docker0"
	h.inv.add(old)
	h.start(nil)
	h.waitFor("view", func() bool { return h.d.Status().Synced })
	res, err := h.d.Explain(control.ExplainRequest{From: "world", To: "web-old", Port: "tcp/80"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Allow || !strings.Contains(res.Reason, "default bridge (settings.default_bridge: deny)") || !res.To.DefaultBridge {
		t.Fatalf("world -> default-bridge member of web = %+v; want deny by settings.default_bridge like the kernel", res)
	}
	res, _ = h.d.Explain(control.ExplainRequest{From: "host", To: "web-old", Port: "tcp/80"})
	if !res.Allow || !strings.Contains(res.Reason, "host_to_containers") {
		t.Fatalf("host -> default-bridge container = %+v; want allow by host_to_containers", res)
	}
}

func TestAuditDockerEngine(t *testing.T) {
	h := syncedHarness(t, zonesYAML)
	engine := func(e control.DockerEngine, err error) {
		h.d.cfg.DockerEngine = func(context.Context) (control.DockerEngine, error) { return e, err }
	}
	docker := func(a control.Audit) []string {
		var out []string
		for _, f := range a.Findings {
			if f.Kind == "docker-version" {
				out = append(out, f.Detail)
			}
		}
		return out
	}

	// Not configured, or Docker unreachable: nothing said about Docker.
	if a := h.d.Audit(); a.Docker != nil || docker(a) != nil {
		t.Errorf("no DockerEngine: %+v, %v", a.Docker, docker(a))
	}
	engine(control.DockerEngine{}, errors.New("connection refused"))
	if a := h.d.Audit(); a.Docker != nil || docker(a) != nil {
		t.Errorf("unreachable Docker: %+v, %v", a.Docker, docker(a))
	}
	// Tested and untested engines are reported, not findings.
	for _, support := range []string{"tested", "untested"} {
		engine(control.DockerEngine{Version: "29.0.0", APIVersion: "1.52", FirewallBackend: "nftables", Support: support}, nil)
		if a := h.d.Audit(); a.Docker == nil || a.Docker.Support != support || docker(a) != nil {
			t.Errorf("%s: %+v, findings %v", support, a.Docker, docker(a))
		}
	}
	// An unsupported one is a finding (audit exits 3).
	engine(control.DockerEngine{Version: "19.03.15", APIVersion: "1.40", FirewallBackend: "iptables", Support: "unsupported", Detail: "too old"}, nil)
	if got := docker(h.d.Audit()); len(got) != 1 || !strings.Contains(got[0], "Docker 19.03.15 (API 1.40, iptables backend): too old") {
		t.Errorf("unsupported: findings %v", got)
	}
}
