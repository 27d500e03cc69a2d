package nft

import (
	"net/netip"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// labPolicy: three zones by label tier=..., the flows the kernel tests probe.
func labPolicy(settings zones.Settings) *zones.Policy {
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
		{From: z("api"), To: z("db"), Ports: []zones.PortRange{tcp(5432, 5432), tcp(7000, 7100), udp(9999)}},
		{From: z("db"), To: z("db"), Ports: []zones.PortRange{tcp(5432, 5432)}},
		{From: z("api"), To: world, CIDRs: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:100::/64")},
			Ports: []zones.PortRange{tcp(443, 443)}},
		{From: z("api"), To: host, Ports: []zones.PortRange{tcp(9100, 9100)}},
		{From: z("api"), To: world, CIDRs: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("fd00:ec2::254/128")},
			Ports: []zones.PortRange{tcp(80, 80)}},
		{From: host, To: z("db"), Ports: []zones.PortRange{tcp(5432, 5432)}},
	}
	for i, f := range flows {
		f.Index = i
	}
	return &zones.Policy{Zones: []*zones.Zone{zone("web"), zone("api"), zone("db")}, Flows: flows, Settings: settings}
}

// inventory describes the lab's fake containers as Docker would.
func (l *lab) inventory(tiers map[string]string) enforcer.Inventory {
	l.mu.Lock()
	defer l.mu.Unlock()
	inv := enforcer.Inventory{Networks: []enforcer.Network{
		{ID: "n1", Name: "back", Driver: "bridge", Bridge: "br0"},
		{ID: "n0", Name: "bridge", Driver: "bridge", Bridge: "docker0", Default: true},
	}}
	for name, c := range l.ctrs {
		tier, ok := tiers[name]
		if !ok {
			continue
		}
		labels := map[string]string{}
		if tier != "" {
			labels["tier"] = tier
		}
		netID, netName := "n1", "back"
		if c.bridge == "docker0" {
			netID, netName = "n0", "bridge"
		}
		inv.Containers = append(inv.Containers, enforcer.Container{ID: "id-" + name, Name: name, Labels: labels,
			NetworkMode: netName, Running: true,
			Endpoints: []enforcer.Endpoint{{NetworkID: netID, NetworkName: netName, Bridge: c.bridge, HostVeth: c.veth, MAC: c.mac, IPv4: c.ip4, IPv6: c.ip6}}})
	}
	return inv
}

func settingsWith(f func(*zones.Settings)) zones.Settings {
	s := zones.DefaultSettings()
	if f != nil {
		f(&s)
	}
	return s
}

func mustApply(t testing.TB, a *Applier, rs *enforcer.Ruleset) ApplyStats {
	t.Helper()
	st, err := a.Apply(rs)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return st
}
