package main

import (
	"fmt"
	"net/netip"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// The synthetic estate of the apply and packet-path scenarios: containers
// spread round-robin over 50 zones and 4 bridge networks; every zone opens
// connections to the next two zones on tcp/8080 (z00 -> z01, z02; ...).
const (
	synthZones    = 50
	synthNetworks = 4
	synthPort     = 8080
	zoneLabel     = "zwb-zone"
)

func zoneName(z int) string { return fmt.Sprintf("z%02d", z) }

// synthPeers lists the zones zone z may connect to.
func synthPeers(z int) []int { return []int{(z + 1) % synthZones, (z + 2) % synthZones} }

// synthPolicy is the policy of the synthetic estate, as zones.Load would
// produce it from a zone file.
func synthPolicy() *zones.Policy {
	p := &zones.Policy{Files: []string{"bench.yaml"}, Settings: zones.DefaultSettings()}
	line := 1
	for z := 0; z < synthZones; z++ {
		p.Zones = append(p.Zones, &zones.Zone{
			Name:    zoneName(z),
			Members: []zones.Selector{{Label: zoneLabel + "=" + zoneName(z), Pos: pos(line + 1)}},
			Pos:     pos(line),
		})
		line += 2
	}
	for z := 0; z < synthZones; z++ {
		for _, peer := range synthPeers(z) {
			p.Flows = append(p.Flows, &zones.Flow{
				Index: len(p.Flows),
				From:  zones.Endpoint{Kind: zones.KindZone, Zones: []string{zoneName(z)}},
				To:    zones.Endpoint{Kind: zones.KindZone, Zones: []string{zoneName(peer)}},
				Ports: []zones.PortRange{{Proto: zones.ProtoTCP, From: synthPort, To: synthPort, Pos: pos(line)}},
				Pos:   pos(line),
			})
			line += 3
		}
	}
	return p
}

func pos(line int) zones.Pos { return zones.Pos{File: "bench.yaml", Line: line, Col: 3} }

// synthNetwork is bridge network k of the synthetic estate.
func synthNetwork(k int) enforcer.Network {
	return enforcer.Network{
		ID:      fmt.Sprintf("%064x", 0xb0000+k),
		Name:    fmt.Sprintf("zwtest-b-net%d", k),
		Driver:  "bridge",
		Bridge:  fmt.Sprintf("zwtest-b-sb%d", k),
		Subnets: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + k), 0, 0}), 16)},
	}
}

// synthContainer is container i: zone i%50, network i%4.
func synthContainer(i int) enforcer.Container {
	k := i % synthNetworks
	net := synthNetwork(k)
	h := i/synthNetworks + 2
	ip := netip.AddrFrom4([4]byte{10, byte(200 + k), byte(h >> 8), byte(h)})
	return enforcer.Container{
		ID:          fmt.Sprintf("%064x", 0xc000000+i),
		Name:        fmt.Sprintf("zwtest-b-c%05d", i),
		Image:       "zwtest/busybox:1",
		Labels:      map[string]string{zoneLabel: zoneName(i % synthZones)},
		NetworkMode: net.Name,
		Running:     true,
		Endpoints: []enforcer.Endpoint{{
			NetworkID:   net.ID,
			NetworkName: net.Name,
			Bridge:      net.Bridge,
			HostVeth:    fmt.Sprintf("veth%07x", i),
			MAC:         fmt.Sprintf("02:42:0a:%02x:%02x:%02x", 200+k, byte(h>>8), byte(h)),
			IPv4:        ip,
		}},
		Rev: uint64(i) + 1, // as the daemon's tracker sets it: one revision per container version
	}
}

// synthInventory holds containers 0..n-1 of the synthetic estate.
func synthInventory(n int) enforcer.Inventory {
	inv := enforcer.Inventory{}
	for k := 0; k < synthNetworks; k++ {
		inv.Networks = append(inv.Networks, synthNetwork(k))
	}
	for i := 0; i < n; i++ {
		inv.Containers = append(inv.Containers, synthContainer(i))
	}
	return inv
}

// zwInputs is what one compile takes.
type zwInputs struct {
	policy *zones.Policy
	inv    enforcer.Inventory
}
