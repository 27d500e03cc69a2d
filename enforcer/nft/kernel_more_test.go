package nft

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/nflog"
	"github.com/zonewall/zonewall/zones"
)

var (
	world4, world6       = netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8:100::2")
	outside4, outside6   = netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("2001:db8:200::2")
	gateway4, gateway6   = netip.MustParseAddr("10.88.0.1"), netip.MustParseAddr("fd88::1")
	meta4, meta6         = netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")
	opts                 = enforcer.Options{NflogGroup: 7001}
	defaultSettingsApply = func(*zones.Settings) {}
)

func (s *shop) apply(t *testing.T, f func(*zones.Settings)) (*enforcer.Ruleset, ApplyStats) {
	t.Helper()
	rs, _ := enforcer.Compile(labPolicy(settingsWith(f)), s.inventory(s.tiers), opts)
	return rs, mustApply(t, s.a, rs)
}

func TestKernelWorldHostIngress(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, defaultSettingsApply)
	s.run(t, []check{
		{s.api.ns, "tcp", world4, 443, true, "api->world in cidrs"},
		{s.api.ns, "tcp", world6, 443, true, "api->world in cidrs (IPv6)"},
		{s.api.ns, "tcp", outside4, 443, false, "api->world outside cidrs"},
		{s.api.ns, "tcp", outside6, 443, false, "api->world outside cidrs (IPv6)"},
		{s.api.ns, "tcp", world4, 8443, false, "api->world other port"},
		{s.web.ns, "tcp", world4, 443, false, "web->world no flow"},
		{s.web.ns, "tcp", world6, 443, false, "web->world no flow (IPv6)"},
		{s.web.ns, "udp", world4, 53, true, "dns: allow"},
		{s.web.ns, "udp", world6, 53, true, "dns: allow (IPv6)"},
		{s.other.ns, "udp", world4, 53, true, "dns: allow for unzoned too (as zones.Decide)"},
		{s.api.ns, "tcp", meta4, 80, true, "api->metadata named in cidrs"},
		{s.api.ns, "tcp", meta6, 80, true, "api->metadata named in cidrs (IPv6)"},
		{s.api.ns, "tcp", meta4, 443, false, "api->metadata other port"},
		{s.web.ns, "tcp", meta4, 80, false, "web->metadata not named"},
		{s.web.ns, "udp", meta4, 53, false, "dns: allow never reaches metadata"},
		{s.web.ns, "udp", meta6, 53, false, "dns: allow never reaches metadata (IPv6)"},
		{s.api.ns, "tcp", gateway4, 9100, true, "api->host declared"},
		{s.api.ns, "tcp", gateway6, 9100, true, "api->host declared (IPv6)"},
		{s.api.ns, "tcp", gateway4, 9101, false, "api->host other port"},
		{s.web.ns, "tcp", gateway4, 9100, false, "web->host no flow"},
		{s.web.ns, "tcp", gateway6, 9100, false, "web->host no flow (IPv6)"},
		{s.router, "tcp", s.web.ip4, 80, true, "host->container: allow"},
		{s.router, "tcp", s.web.ip6, 80, true, "host->container: allow (IPv6)"},
		{s.world, "tcp", s.web.ip4, 80, true, "world->web public-web"},
		{s.world, "tcp", s.web.ip6, 443, true, "world->web public-web (IPv6)"},
		{s.world, "tcp", s.web.ip4, 8081, false, "world->web other port"},
		{s.world, "tcp", s.api.ip4, 8080, false, "world->api no flow"},
		{s.world, "tcp", s.api.ip6, 8080, false, "world->api no flow (IPv6)"},
	})
}

func TestKernelSettingsDeny(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, func(st *zones.Settings) { st.HostToContainers, st.DNS, st.Unzoned = "deny", "deny", "deny" })
	s.run(t, []check{
		{s.router, "tcp", s.db.ip4, 5432, true, "host->db declared flow"},
		{s.router, "tcp", s.db.ip6, 5432, true, "host->db declared flow (IPv6)"},
		{s.router, "tcp", s.db.ip4, 8080, false, "host->db other port"},
		{s.router, "tcp", s.web.ip4, 80, false, "host_to_containers: deny"},
		{s.router, "tcp", s.web.ip6, 80, false, "host_to_containers: deny (IPv6)"},
		{s.web.ns, "udp", world4, 53, false, "dns: deny"},
		{s.web.ns, "udp", gateway4, 53, false, "dns: deny (host)"},
	})
	// unzoned: allow makes the unzoned container unrestricted, not the others.
	s.apply(t, func(st *zones.Settings) { st.Unzoned = "allow" })
	s.run(t, []check{
		{s.other.ns, "tcp", s.db.ip4, 5432, true, "unzoned allow: unzoned->db"},
		{s.other.ns, "tcp", s.db.ip6, 8080, true, "unzoned allow: unzoned->db (IPv6)"},
		{s.web.ns, "tcp", s.other.ip4, 80, true, "unzoned allow: web->unzoned"},
		{s.other.ns, "tcp", outside4, 443, true, "unzoned allow: unzoned->world"},
		{s.other.ns, "tcp", meta4, 80, false, "unzoned allow: not to metadata"},
		{s.other.ns, "tcp", meta6, 80, false, "unzoned allow: not to metadata (IPv6)"},
		{s.world, "tcp", s.other.ip4, 80, true, "unzoned allow: world->unzoned"},
		{s.web.ns, "tcp", s.db.ip4, 5432, false, "unzoned allow does not open zones"},
	})
}

// TestKernelSpoofedSource: web forges api's address towards db, which
// accepts api. Nothing must reach db; the real api still does.
func TestKernelSpoofedSource(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, defaultSettingsApply)
	for from, n := range s.webPosesAsAPI(t) {
		if n != 0 {
			t.Errorf("db received %d datagrams/connections from forged %s", n, from)
		}
	}
	for _, dst := range []netip.Addr{s.db.ip4, s.db.ip6} {
		if !probe(t, s.api.ns, "udp", netip.AddrPortFrom(dst, 9999), netip.Addr{}) {
			t.Errorf("the real api cannot reach db at %s", dst)
		}
	}
	ctr, err := s.a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr[enforcer.OriginSpoof] == 0 {
		t.Errorf("spoofed-source counter is 0: %v", ctr)
	}
}

// webPosesAsAPI gives web api's addresses and sends connections and
// datagrams from them to db's IPv4 and IPv6 address (api's rights); it
// returns how many of them db saw per forged address.
func (s *shop) webPosesAsAPI(t *testing.T) map[netip.Addr]int {
	run(t, "ip", "-n", s.web.ns, "addr", "add", s.api.ip4.String()+"/32", "dev", "eth0")
	run(t, "ip", "-n", s.web.ns, "addr", "add", s.api.ip6.String()+"/128", "dev", "eth0", "nodad")
	seen := map[netip.Addr]int{}
	for _, from := range []netip.Addr{s.api.ip4, s.api.ip6} {
		dst := s.db.ip4
		if from.Is6() {
			dst = s.db.ip6
		}
		for i := 0; i < 3; i++ {
			probe(t, s.web.ns, "udp", netip.AddrPortFrom(dst, 9999), from)
			probe(t, s.web.ns, "tcp", netip.AddrPortFrom(dst, 5432), from)
		}
		seen[from] = s.srv["db"].saw(from)
	}
	return seen
}

// TestKernelUnknownEndpoint: an endpoint created after the last apply gets
// nothing (not even DNS), and gets its zone's rights once classified.
func TestKernelUnknownEndpoint(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, defaultSettingsApply)
	nw := s.addContainer("new", "br0", "10.88.0.20", "fd88::20", "10.88.0.1", "fd88::1")
	s.run(t, []check{
		{nw.ns, "tcp", s.api.ip4, 8080, false, "unclassified -> api"},
		{nw.ns, "tcp", s.api.ip6, 8080, false, "unclassified -> api (IPv6)"},
		{nw.ns, "udp", world4, 53, false, "unclassified -> dns"},
		{nw.ns, "icmp", gateway4, 0, false, "unclassified -> ping host"},
	})
	ctr, _ := s.a.Counters()
	if ctr[enforcer.OriginUnknownPort] == 0 {
		t.Errorf("unknown-port counter is 0: %v", ctr)
	}
	s.tiers["new"] = "web"
	_, st := s.apply(t, defaultSettingsApply)
	if st.Full {
		t.Errorf("classifying one container rebuilt everything")
	}
	// Its ARP/ND attempts were dropped while unknown; the kernel would retry
	// them after a second, longer than a probe waits.
	run(t, "ip", "-n", nw.ns, "neigh", "flush", "all")
	s.run(t, both(nw, "", s.api, "tcp", 8080, true, "classified as web -> api"))
}

// TestKernelAddressReuse: db is removed and its address given to a new,
// unzoned container; api's right to reach db must not follow the address.
func TestKernelAddressReuse(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, defaultSettingsApply)
	s.run(t, both(s.api, "", s.db, "tcp", 5432, true, "before: api->db"))
	s.removeContainer(s.db)
	delete(s.tiers, "db")
	s.mu.Lock()
	delete(s.ctrs, "db")
	s.mu.Unlock()
	reuse := s.addContainer("reuse", "br0", s.db.ip4.String(), s.db.ip6.String(), "10.88.0.1", "fd88::1")
	s.srv["reuse"] = serve(t, reuse.ns, []int{5432}, nil)
	s.tiers["reuse"] = ""
	s.apply(t, defaultSettingsApply)
	run(t, "ip", "-n", s.api.ns, "neigh", "flush", "all")
	s.run(t, []check{
		{s.api.ns, "tcp", reuse.ip4, 5432, false, "api -> reused address (now unzoned)"},
		{s.api.ns, "tcp", reuse.ip6, 5432, false, "api -> reused address (now unzoned, IPv6)"},
		{s.router, "tcp", reuse.ip4, 5432, true, "host -> reused address still reachable (host_to_containers)"},
		{reuse.ns, "tcp", s.db2.ip4, 5432, false, "reused address gets none of db's rights"},
	})
}

func TestKernelAudit(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	rs, _ := s.apply(t, func(st *zones.Settings) { st.Mode = "audit" })
	if live, err := s.a.Live(); err != nil || live != rs.String() {
		t.Errorf("Live in audit mode differs from the applied ruleset (err %v):\n%s", err, firstDiff(rs.String(), live))
	}
	logs, err := nflog.Open(opts.NflogGroup, nflog.Options{NetNS: s.fd})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	s.run(t, []check{
		{s.web.ns, "tcp", s.db.ip4, 5432, true, "audit: would-be drop passes"},
		{s.web.ns, "tcp", s.db.ip6, 5432, true, "audit: would-be drop passes (IPv6)"},
		{s.web.ns, "tcp", outside4, 443, true, "audit: world passes"},
	})
	ctr, err := s.a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr[enforcer.OriginNoFlowCC] == 0 || ctr[enforcer.OriginNoFlowWorld] == 0 {
		t.Errorf("audit counters not counting: %v", ctr)
	}
	// The would-be drop was logged, attributable: audit prefix, web's zone
	// in the mark, the web container's veth as the bridge port.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		rec, err := logs.Read(ctx)
		if err != nil {
			t.Fatalf("no NFLOG record for web->db: %v", err)
		}
		if rec.Prefix != enforcer.LogPrefix(enforcer.OriginNoFlowCC, true) || rec.Dst != s.db.ip4 || rec.DstPort != 5432 {
			continue
		}
		if enforcer.ZoneIDOfMark(rec.Mark) != 1 || rec.Src != s.web.ip4 || rec.PhysInIface != s.web.veth {
			t.Errorf("audit record not attributable: %+v", rec)
		}
		break
	}
}

func TestKernelIncrementalApply(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	rs0, st0 := s.apply(t, defaultSettingsApply)
	web3 := s.addContainer("web3", "br0", "10.88.0.30", "fd88::30", "10.88.0.1", "fd88::1")
	s.tiers["web3"] = "web"
	rs1, st1 := s.apply(t, defaultSettingsApply)
	if st1.Full || st1.Rules != st0.Rules || rs1.RuleCount() != rs0.RuleCount() {
		t.Errorf("adding a container: full=%v rules %d -> %d", st1.Full, st0.Rules, st1.Rules)
	}
	// port_zone, port_addr4, port_addr6, zone_of4, zone_of6.
	if st1.Added != 5 || st1.Removed != 0 {
		t.Errorf("adding a container: added %d removed %d, want 5/0", st1.Added, st1.Removed)
	}
	s.run(t, both(web3, "", s.api, "tcp", 8080, true, "new web container -> api"))
	delete(s.tiers, "web3")
	_, st2 := s.apply(t, defaultSettingsApply)
	if st2.Full || st2.Removed != 5 || st2.Added != 0 || st2.Rules != st0.Rules {
		t.Errorf("removing a container: %+v", st2)
	}
	s.run(t, both(web3, "", s.api, "tcp", 8080, false, "removed container's leftover endpoint"))
	t.Logf("full apply %v, add one %v, remove one %v", st0.Duration, st1.Duration, st2.Duration)
}

func TestKernelDrift(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	rs, _ := s.apply(t, defaultSettingsApply)
	if d, err := s.a.Verify(); err != nil || d != nil {
		t.Fatalf("Verify right after apply: drift=%v err=%v", d, err)
	}
	// Someone else's change elsewhere is not drift.
	if out, err := s.nft("add", "table", "ip", "zwtest_k_other"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if d, err := s.a.Verify(); err != nil || d != nil {
		t.Fatalf("Verify after an unrelated change: drift=%v err=%v", d, err)
	}
	if out, err := s.nft("delete", "table", "inet", "zonewall"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	d, err := s.a.Verify()
	if err != nil || d == nil {
		t.Fatalf("Verify after deleting our table: drift=%v err=%v", d, err)
	}
	t.Logf("drift: %v", d)
	s.run(t, both(s.web, "", s.db, "tcp", 5432, true, "table deleted: nothing enforced"))
	st := mustApply(t, s.a, rs)
	if !st.Full {
		t.Errorf("apply after drift was not a full rebuild")
	}
	s.run(t, both(s.web, "", s.db, "tcp", 5432, false, "rebuilt: denied again"))
	// An element removed by hand is drift too.
	if out, err := s.nft("delete", "element", "inet", "zonewall", "zone_of4", "{", s.db.ip4.String(), "}"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if d, _ := s.a.Verify(); d == nil {
		t.Errorf("Verify missed a deleted element")
	}
	if err := s.a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.nft("list", "tables"); strings.Contains(out, "zonewall") || !strings.Contains(out, "zwtest_k_other") {
		t.Errorf("Cleanup removed the wrong tables: %s", out)
	}
}

// TestKernelBridgeNetfilterSysctl: CheckBridgeNetfilter reports and turns
// on a disabled bridge-nf-call sysctl (per namespace).
func TestKernelBridgeNetfilterSysctl(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	l.sysctl(l.router, "net.bridge.bridge-nf-call-iptables", "0")
	inNS(t, l.router, func() {
		ok, err := CheckBridgeNetfilter()
		if err != nil || ok {
			t.Errorf("with the sysctl off: ok=%v err=%v, want false, nil", ok, err)
		}
		if ok, err := CheckBridgeNetfilter(); err != nil || !ok {
			t.Errorf("after turning it on: ok=%v err=%v", ok, err)
		}
	})
	if out := run(t, "ip", "netns", "exec", l.router, "sysctl", "-n", "net.bridge.bridge-nf-call-iptables"); strings.TrimSpace(out) != "1" {
		t.Errorf("sysctl is %q after CheckBridgeNetfilter", out)
	}
}

// TestKernelDefaultBridge: a container on docker0 is classified
// default-bridge whatever its labels, and settings.default_bridge decides
// its traffic; routing between two bridges works for what is allowed.
func TestKernelDefaultBridge(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.addBridge("docker0", "172.17.0.1/16", "fd17::1/64")
	legacy := s.addContainer("legacy", "docker0", "172.17.0.2", "fd17::2", "172.17.0.1", "fd17::1")
	s.srv["legacy"] = serve(t, legacy.ns, []int{80, 8080}, nil)
	s.tiers["legacy"] = "web" // labels say web; docker0 wins
	_, rep := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), opts)
	if !rep.Has(enforcer.FindingDefaultBridge, "id-legacy") {
		t.Errorf("default-bridge container not reported: %+v", rep.Findings)
	}
	s.apply(t, defaultSettingsApply)
	s.run(t, []check{
		{legacy.ns, "tcp", s.api.ip4, 8080, false, "default_bridge: deny (legacy labelled web -> api)"},
		{legacy.ns, "tcp", s.api.ip6, 8080, false, "default_bridge: deny (IPv6)"},
		{s.api.ns, "tcp", legacy.ip4, 80, false, "default_bridge: deny (api -> legacy)"},
		{s.web.ns, "tcp", s.api.ip4, 8080, true, "others unaffected"},
	})
	s.apply(t, func(st *zones.Settings) { st.DefaultBridge = "allow" })
	s.run(t, []check{
		{legacy.ns, "tcp", s.api.ip4, 8080, true, "default_bridge: allow (across bridges)"},
		{legacy.ns, "tcp", s.db.ip6, 5432, true, "default_bridge: allow (IPv6, across bridges)"},
		{s.web.ns, "tcp", legacy.ip4, 80, true, "default_bridge: allow (web -> legacy)"},
		{s.web.ns, "tcp", s.db.ip4, 5432, false, "default_bridge: allow does not open zones"},
	})
}

// TestKernelSetGrowthFallsBackToRebuild: hash sets are sized at a full
// rebuild; a diff that outgrows them fails in the kernel and Apply rebuilds
// at once, so growth never fails an apply.
func TestKernelSetGrowthFallsBackToRebuild(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a, err := New(WithNetNS(l.fd))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mustApply(t, a, benchRuleset(10))
	st := mustApply(t, a, benchRuleset(20))
	if st.Full {
		t.Errorf("a small growth rebuilt everything")
	}
	big := benchRuleset(1500) // 1,500 > 4*10+1024 addresses in zone_of4
	st = mustApply(t, a, big)
	if !st.Full {
		t.Errorf("outgrowing the sets did not rebuild: %+v", st)
	}
	if d, err := a.Verify(); d != nil || err != nil {
		t.Errorf("after the rebuild: drift %v, err %v", d, err)
	}
	if live, _ := a.Live(); live != big.String() {
		t.Errorf("live state differs after the rebuild:\n%s", firstDiff(big.String(), live))
	}
}
