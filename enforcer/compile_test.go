package enforcer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

func TestCompileReport(t *testing.T) {
	_, rep := Compile(withConflictZone(threeTier(zones.DefaultSettings())), mixedInventory(), Options{})
	want := []struct {
		kind FindingKind
		id   string
	}{
		{FindingUnzoned, "c-other"},
		{FindingConflict, "c-both"},
		{FindingHostNetwork, "c-hostnet"},
		{FindingDefaultBridge, "c-legacy"},
		{FindingUnfilterable, "c-mac"},
		{FindingUnfilterable, "c-side"},
		{FindingNoVeth, "c-fresh"},
	}
	for _, w := range want {
		if !rep.Has(w.kind, w.id) {
			t.Errorf("report lacks %s for %s: %+v", w.kind, w.id, rep.Findings)
		}
	}
	for _, f := range rep.Findings {
		if f.ContainerID == "c-stopped" || (f.ContainerID == "c-web" && f.Kind != FindingUnreachableFlow) {
			t.Errorf("unexpected finding %+v", f)
		}
		if f.Kind == FindingConflict && !slices.Equal(f.Zones, []string{"api", "extra"}) {
			t.Errorf("conflict zones = %v, want [api extra]", f.Zones)
		}
	}
	if got := rep.Members()["c-web"]; got != "web" {
		t.Errorf("member c-web = %q", got)
	}
	if got := rep.Members()["c-both"]; got != ClassConflict {
		t.Errorf("member c-both = %q", got)
	}
}

func TestCompileMembershipFailsClosed(t *testing.T) {
	rs, _ := Compile(withConflictZone(threeTier(zones.DefaultSettings())), mixedInventory(), Options{})
	zoneOf := map[string]uint32{}
	for _, e := range rs.Table(FamilyInet).Set(SetZoneOf4).Elements {
		zoneOf[e.Key[0].Addr.String()] = e.Data
	}
	cases := map[string]uint8{
		"10.88.0.2":  1,                   // web
		"10.88.0.5":  ZoneIDUnzoned,       // unzoned
		"10.88.0.9":  ZoneIDConflict,      // conflict: never the union
		"172.17.0.2": ZoneIDDefaultBridge, // docker0 endpoint, even though tier=web
		"10.88.0.10": 1,                   // no veth yet: still a known destination
	}
	for addr, id := range cases {
		if zoneOf[addr] != ZoneMark(id) {
			t.Errorf("zone_of4 %s = %#x, want zone id %d", addr, zoneOf[addr], id)
		}
	}
	if _, ok := zoneOf["192.0.2.50"]; ok {
		t.Errorf("macvlan address must not be classified as a bridge container")
	}
	for _, e := range rs.Table(FamilyBridge).Set(SetPortZone).Elements {
		if e.Key[0].Name == "" {
			t.Errorf("port_zone holds an endpoint without veth")
		}
	}
}

func TestCompileDuplicateAddressIsConflict(t *testing.T) {
	inv := shopInventory()
	inv.Containers[1].Endpoints[0].IPv4 = inv.Containers[0].Endpoints[0].IPv4 // api claims web's address
	rs, _ := Compile(threeTier(zones.DefaultSettings()), inv, Options{})
	for _, e := range rs.Table(FamilyInet).Set(SetZoneOf4).Elements {
		if e.Key[0].Addr == inv.Containers[0].Endpoints[0].IPv4 && e.Data != ZoneMark(ZoneIDConflict) {
			t.Errorf("address claimed by web and api got zone %#x, want conflict", e.Data)
		}
	}
}

func TestUnreachableFlow(t *testing.T) {
	inv := shopInventory()
	inv.Networks = append(inv.Networks, Network{ID: "n9", Name: "data", Driver: "bridge", Bridge: "br-data"})
	inv.Containers[2].Endpoints[0].NetworkID, inv.Containers[2].Endpoints[0].NetworkName = "n9", "data" // db alone on "data"
	_, rep := Compile(threeTier(zones.DefaultSettings()), inv, Options{})
	found := false
	for _, f := range rep.Findings {
		if f.Kind == FindingUnreachableFlow {
			if !slices.Equal(f.Zones, []string{"api", "db"}) || f.Flow != 2 {
				t.Errorf("unexpected unreachable-flow finding %+v", f)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("api->db across networks not reported: %+v", rep.Findings)
	}
}

// TestRulesDoNotGrow: the static part is identical for 3 and 3,000
// containers; only elements grow.
func TestRulesDoNotGrow(t *testing.T) {
	p := threeTier(zones.DefaultSettings())
	small, _ := Compile(p, shopInventory(), Options{})
	big, _ := Compile(p, syntheticInventory(3000, 3), Options{})
	if small.RuleCount() != big.RuleCount() {
		t.Errorf("rules: %d for 4 containers, %d for 3000", small.RuleCount(), big.RuleCount())
	}
	if big.ElementCount() <= small.ElementCount() {
		t.Errorf("elements did not grow with containers")
	}
}

func TestProvenance(t *testing.T) {
	p := threeTier(zones.DefaultSettings())
	rs, _ := Compile(p, shopInventory(), Options{NflogGroup: 7001})
	for _, tab := range rs.Tables {
		for _, s := range tab.Sets {
			for _, e := range s.Elements {
				o := e.Origin
				if o.Flow >= len(p.Flows) || (o.Flow < 0 && o.Default == "") {
					t.Errorf("%s: element %s has no valid origin: %+v", s.Name, s.ElementString(e), o)
				}
			}
		}
		for _, c := range tab.Chains {
			for _, r := range c.Rules {
				if r.Log == nil {
					continue
				}
				if o, ok := rs.LogPrefixes[r.Log.Prefix]; !ok || o.Default == "" || DenyChainName(o.Default) != c.Name {
					t.Errorf("log prefix %q of chain %s not attributed: %+v", r.Log.Prefix, c.Name, o)
				}
			}
		}
	}
	// web -> api tcp/8080 comes from flow index 1.
	web, api := ZoneMark(1), ZoneMark(2)
	for _, e := range rs.Table(FamilyInet).Set(SetAllowCC).Elements {
		if e.Key[0].Lo == web && e.Key[1].Lo == api && e.Key[3].Lo == 8080 && e.Origin.Flow != 1 {
			t.Errorf("web->api tcp/8080 attributed to %+v", e.Origin)
		}
	}
}

// TestMetadataOnlyWhenNamed: world elements are plain cidrs (rules decide
// the metadata addresses first); only a cidr inside a metadata prefix puts
// elements in the metadata sets.
func TestMetadataOnlyWhenNamed(t *testing.T) {
	world, meta := worldRanges(nil, false)
	if len(world) != 1 || world[0] != all4 || meta != nil {
		t.Errorf("world without cidrs = %v, %v", world, meta)
	}
	_, meta = worldRanges([]netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("0.0.0.0/0")}, false)
	if meta != nil {
		t.Errorf("169.254.0.0/16 and 0.0.0.0/0 must not name the metadata address: %v", meta)
	}
	_, meta = worldRanges([]netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}, false)
	if len(meta) != 1 {
		t.Errorf("a /32 naming the metadata address must reach it: %v", meta)
	}
	_, meta = worldRanges([]netip.Prefix{netip.MustParsePrefix("fd00:ec2::254/128")}, true)
	if len(meta) != 1 {
		t.Errorf("fd00:ec2::254/128 must name the IPv6 metadata address: %v", meta)
	}
}

// syntheticInventory: n containers spread over zones tier0..tier(z-1) named
// like threeTier's zones for z=3 (web, api, db).
func syntheticInventory(n, z int) Inventory {
	names := []string{"web", "api", "db"}
	inv := Inventory{Networks: []Network{{ID: "n1", Name: "back", Driver: "bridge", Bridge: "br-1"}}}
	for i := 0; i < n; i++ {
		tier := fmt.Sprintf("z%d", i%z)
		if z == 3 {
			tier = names[i%3]
		}
		a4 := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		a6 := netip.AddrFrom16([16]byte{0xfd, 0x88, 14: byte(i >> 8), 15: byte(i)})
		inv.Containers = append(inv.Containers, Container{ID: fmt.Sprintf("c%d", i), Name: fmt.Sprintf("ctr-%d", i),
			Labels: map[string]string{"tier": tier}, NetworkMode: "back", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n1", NetworkName: "back", Bridge: "br-1", HostVeth: fmt.Sprintf("veth%07x", i),
				MAC: fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i)), IPv4: a4, IPv6: a6}}})
	}
	return inv
}

// TestResolversNarrowDNS: with Options.Resolvers, dns: allow reaches only
// them (world side); the host side is unchanged.
func TestResolversNarrowDNS(t *testing.T) {
	res := netip.MustParseAddr("198.51.100.53")
	rs, _ := Compile(threeTier(zones.DefaultSettings()), shopInventory(), Options{Resolvers: []netip.Addr{res}})
	w4 := rs.Table(FamilyInet).Set(SetAllowW4)
	web := ZoneMark(1)
	if _, ok := contains(w4, web, res, uint32(ProtoUDP), uint32(53)); !ok {
		t.Errorf("web cannot reach the resolver")
	}
	if _, ok := contains(w4, web, netip.MustParseAddr("198.51.100.54"), uint32(ProtoUDP), uint32(53)); ok {
		t.Errorf("web reaches DNS on a non-resolver")
	}
	if _, ok := contains(rs.Table(FamilyInet).Set(SetAllowHost), web, uint32(ProtoUDP), uint32(53)); !ok {
		t.Errorf("web cannot reach DNS on the host")
	}
}

// TestPartialSettingsGetDefaults: a policy giving only some settings gets
// the defaults for the others (dns: allow here).
func TestPartialSettingsGetDefaults(t *testing.T) {
	rs, _ := Compile(threeTier(zones.Settings{Mode: "audit"}), shopInventory(), Options{})
	if _, ok := contains(rs.Table(FamilyInet).Set(SetAllowHost), ZoneMark(1), uint32(ProtoUDP), uint32(53)); !ok {
		t.Errorf("dns default (allow) not applied when settings are partial")
	}
	if !strings.Contains(rs.String(), "zw:audit:") {
		t.Errorf("mode audit not applied")
	}
}

// TestDomainFlowOpensNothingStatic: a flow to world by domains puts no
// element in any static allow set (its addresses come only from lookups);
// compiled as a plain world flow it would open all of world.
func TestDomainFlowOpensNothingStatic(t *testing.T) {
	base := threeTier(zones.DefaultSettings())
	withDomains := threeTier(zones.DefaultSettings())
	f := &zones.Flow{Index: len(withDomains.Flows), Name: "payments",
		From: zones.Endpoint{Kind: zones.KindZone, Zones: []string{"web"}}, To: zones.Endpoint{Kind: zones.KindWorld},
		Domains: []zones.Domain{{Name: "api.stripe.com"}}, Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 443, To: 443}}}
	withDomains.Flows = append(withDomains.Flows, f)
	a, _ := Compile(base, shopInventory(), Options{})
	b, _ := Compile(withDomains, shopInventory(), Options{})
	if a.String() != b.String() {
		t.Errorf("a domain flow changed the static ruleset:\n%s", b.String())
	}
}
