package enforcer

import (
	"fmt"
	"net/netip"

	"github.com/zonewall/zonewall/zones"
)

// BenchPolicy is a synthetic policy for benchmarks: zones z0..z(n-1) by
// label tier=zN; each zone reaches the next on one TCP port and a range,
// z0 is public, every zone reaches a /24 of world and the host's 9100.
func BenchPolicy(nZones int) *zones.Policy {
	p := &zones.Policy{Settings: zones.DefaultSettings()}
	zoneEP := func(i int) zones.Endpoint {
		return zones.Endpoint{Kind: zones.KindZone, Zones: []string{fmt.Sprintf("z%d", i%nZones)}}
	}
	add := func(f *zones.Flow) {
		f.Index = len(p.Flows)
		p.Flows = append(p.Flows, f)
	}
	for i := 0; i < nZones; i++ {
		name := fmt.Sprintf("z%d", i)
		p.Zones = append(p.Zones, &zones.Zone{Name: name, Members: []zones.Selector{{Label: "tier=" + name}}})
		add(&zones.Flow{From: zoneEP(i), To: zoneEP(i + 1), Ports: []zones.PortRange{
			{Proto: zones.ProtoTCP, From: uint16(8000 + i), To: uint16(8000 + i)},
			{Proto: zones.ProtoTCP, From: 9000, To: 9099}}})
		add(&zones.Flow{From: zoneEP(i), To: zones.Endpoint{Kind: zones.KindWorld},
			CIDRs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, byte(i), 0}), 24)},
			Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 443, To: 443}}})
		add(&zones.Flow{From: zoneEP(i), To: zones.Endpoint{Kind: zones.KindHost},
			Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 9100, To: 9100}}})
	}
	add(&zones.Flow{From: zones.Endpoint{Kind: zones.KindWorld}, To: zoneEP(0),
		Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: 443, To: 443}}})
	return p
}

// BenchInventory is n running containers spread over nZones zones, each
// with one bridge endpoint (veth, IPv4, IPv6).
func BenchInventory(n, nZones int) Inventory {
	inv := Inventory{Networks: []Network{{ID: "n1", Name: "back", Driver: "bridge", Bridge: "br-bench"}}}
	for i := 0; i < n; i++ {
		inv.Containers = append(inv.Containers, BenchContainer(i, nZones))
	}
	return inv
}

// BenchContainer is container number i of BenchInventory. Its Rev is
// i+1, as a tracker that numbers the containers' revisions would set it
// (distinct per container, unchanged while the container is).
func BenchContainer(i, nZones int) Container {
	a4 := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	a6 := netip.AddrFrom16([16]byte{0xfd, 0x88, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
	return Container{ID: fmt.Sprintf("c%06d", i), Name: fmt.Sprintf("ctr-%d", i),
		Labels: map[string]string{"tier": fmt.Sprintf("z%d", i%nZones)}, NetworkMode: "back", Running: true,
		Endpoints: []Endpoint{{NetworkID: "n1", NetworkName: "back", Bridge: "br-bench",
			HostVeth: fmt.Sprintf("veth%07x", i), MAC: fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i)),
			IPv4: a4, IPv6: a6}}, Rev: uint64(i) + 1}
}
