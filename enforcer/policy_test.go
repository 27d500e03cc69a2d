package enforcer

import (
	"fmt"
	"net/netip"

	"github.com/zonewall/zonewall/zones"
)

// threeTier is the reference policy of the tests: web -> api tcp/8080,
// api -> db tcp/5432, plus world, host and port-range flows.
func threeTier(settings zones.Settings) *zones.Policy {
	zone := func(name string) *zones.Zone {
		return &zones.Zone{Name: name, Members: []zones.Selector{{Label: "tier=" + name}}}
	}
	z := func(names ...string) zones.Endpoint { return zones.Endpoint{Kind: zones.KindZone, Zones: names} }
	world := zones.Endpoint{Kind: zones.KindWorld}
	host := zones.Endpoint{Kind: zones.KindHost}
	tcp := func(from, to uint16) zones.PortRange {
		return zones.PortRange{Proto: zones.ProtoTCP, From: from, To: to}
	}
	udp := func(p uint16) zones.PortRange { return zones.PortRange{Proto: zones.ProtoUDP, From: p, To: p} }
	flows := []*zones.Flow{
		{Name: "public-web", From: world, To: z("web"), Ports: []zones.PortRange{tcp(80, 80), tcp(443, 443)}},
		{From: z("web"), To: z("api"), Ports: []zones.PortRange{tcp(8080, 8080), udp(5353), {Proto: zones.ProtoICMP}, {Proto: zones.ProtoICMPv6}}},
		{From: z("api"), To: z("db"), Ports: []zones.PortRange{tcp(5432, 5432), tcp(7000, 7100)}},
		{From: z("api"), To: world, CIDRs: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:100::/64")},
			Ports: []zones.PortRange{tcp(443, 443), udp(53)}},
		{From: z("api"), To: host, Ports: []zones.PortRange{tcp(9100, 9100)}},
		{From: host, To: z("db"), Ports: []zones.PortRange{tcp(5432, 5432)}},
	}
	for i, f := range flows {
		f.Index = i
		f.Pos = zones.Pos{File: "zones.d/shop.yaml", Line: 10 + 4*i, Col: 5}
	}
	return &zones.Policy{
		Files:    []string{"zones.d/shop.yaml"},
		Zones:    []*zones.Zone{zone("web"), zone("api"), zone("db")},
		Flows:    flows,
		Settings: settings,
	}
}

// shopInventory has one container per zone plus an unzoned one on one
// user-defined bridge.
func shopInventory() Inventory {
	net := Network{ID: "n1", Name: "shop_back", Driver: "bridge", Bridge: "br-0123456789ab",
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.88.0.0/24"), netip.MustParsePrefix("fd88::/64")}}
	ctr := func(id, name, tier, veth string, n int) Container {
		labels := map[string]string{}
		if tier != "" {
			labels["tier"] = tier
		}
		return Container{ID: id, Name: name, Image: "zwtest/busybox:1", Labels: labels, NetworkMode: "shop_back", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n1", NetworkName: "shop_back", Bridge: net.Bridge, HostVeth: veth, MAC: fmt.Sprintf("02:42:0a:58:00:%02x", n),
				IPv4: netip.AddrFrom4([4]byte{10, 88, 0, byte(n)}), IPv6: netip.MustParseAddr("fd88::" + string(rune('0'+n)))}}}
	}
	return Inventory{
		Networks: []Network{net},
		Containers: []Container{
			ctr("c-web", "shop-web-1", "web", "veth0000a01", 2),
			ctr("c-api", "shop-api-1", "api", "veth0000a02", 3),
			ctr("c-db", "shop-db-1", "db", "veth0000a03", 4),
			ctr("c-other", "misc-1", "", "veth0000a04", 5),
		},
	}
}

// mixedInventory adds every kind of container the report must name to
// shopInventory: default bridge, conflict, host network, macvlan, shared
// namespace, an endpoint whose veth is not known yet, and a stopped one.
func mixedInventory() Inventory {
	inv := shopInventory()
	inv.Networks = append(inv.Networks,
		Network{ID: "n0", Name: "bridge", Driver: "bridge", Bridge: "docker0", Default: true},
		Network{ID: "n2", Name: "lan", Driver: "macvlan"},
		Network{ID: "n3", Name: "host", Driver: "host"})
	inv.Containers = append(inv.Containers,
		Container{ID: "c-legacy", Name: "legacy-1", Labels: map[string]string{"tier": "web"}, NetworkMode: "default", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n0", NetworkName: "bridge", Bridge: "docker0", HostVeth: "veth0000b01", MAC: "02:42:ac:11:00:02",
				IPv4: netip.MustParseAddr("172.17.0.2")}}},
		Container{ID: "c-both", Name: "both-1", Labels: map[string]string{"tier": "api", "also": "db"}, NetworkMode: "shop_back", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n1", NetworkName: "shop_back", Bridge: "br-0123456789ab", HostVeth: "veth0000a09", MAC: "02:42:0a:58:00:09",
				IPv4: netip.MustParseAddr("10.88.0.9")}}},
		Container{ID: "c-hostnet", Name: "node-exporter", Labels: map[string]string{"tier": "api"}, NetworkMode: "host", Running: true},
		Container{ID: "c-mac", Name: "mac-1", Labels: map[string]string{"tier": "db"}, NetworkMode: "lan", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n2", NetworkName: "lan", IPv4: netip.MustParseAddr("192.0.2.50")}}},
		Container{ID: "c-side", Name: "sidecar-1", NetworkMode: "container:c-other", Running: true},
		Container{ID: "c-fresh", Name: "fresh-1", Labels: map[string]string{"tier": "web"}, NetworkMode: "shop_back", Running: true,
			Endpoints: []Endpoint{{NetworkID: "n1", NetworkName: "shop_back", Bridge: "br-0123456789ab",
				IPv4: netip.MustParseAddr("10.88.0.10")}}},
		Container{ID: "c-stopped", Name: "stopped-1", Labels: map[string]string{"tier": "web"}, NetworkMode: "shop_back", Running: false},
	)
	return inv
}

// withConflictZone adds a zone "audit" matching label also=db, so c-both
// (tier=api, also=db) is matched twice.
func withConflictZone(p *Policy) *Policy {
	p.Zones = append(p.Zones, &zones.Zone{Name: "extra", Members: []zones.Selector{{Label: "also=db"}}})
	return p
}

// Policy is a local alias to keep helpers short.
type Policy = zones.Policy
