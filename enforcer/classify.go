package enforcer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/zonewall/zonewall/zones"
)

// classification is the membership part of compilation.
type classification struct {
	endpoints []epClaims // filterable endpoints, in inventory order
}

// classify decides the zone id of every endpoint of every running container
// and reports what cannot be filtered.
func classify(mem *membership, inv Inventory, ids map[string]uint8, r *Report) classification {
	nets := map[string]Network{}
	for _, n := range inv.Networks {
		nets[n.ID] = n
	}
	cls := classification{endpoints: mem.claimBuffer(len(inv.Containers))}
	var lastNet Network
	var lastKnown bool
	for i := range inv.Containers {
		c := &inv.Containers[i]
		if !c.Running {
			continue
		}
		var e *cacheEntry
		var id uint8
		var name string
		if mem.c != nil {
			e = mem.entry(c)
			id, name = e.zone(c, ids, r)
		} else {
			id, name = containerZone(mem.zoneOf(c), c, ids, r)
		}
		if c.NetworkMode == "host" {
			mem.classified(c, e, ClassHostNetwork)
			r.add(c, FindingHostNetwork, "shares the host's network namespace; its traffic cannot be filtered per container")
			continue
		}
		mem.classified(c, e, name)
		if peer, ok := strings.CutPrefix(c.NetworkMode, "container:"); ok {
			sharedNamespace(mem, inv, c, peer, ids, r)
			continue
		}
		for j, ep := range c.Endpoints {
			if ep.NetworkID != lastNet.ID || !lastKnown { // containers share few networks
				lastNet, lastKnown = nets[ep.NetworkID]
			}
			n, known := lastNet, lastKnown
			driver := n.Driver
			if !known && ep.Bridge != "" {
				driver = "bridge"
			}
			if driver != "bridge" {
				r.add(c, FindingUnfilterable, fmt.Sprintf("network %s uses driver %q, which bypasses the host bridge", ep.NetworkName, driver))
				continue
			}
			epID := id
			if n.Default || ep.Bridge == "docker0" {
				epID = ZoneIDDefaultBridge
				r.add(c, FindingDefaultBridge, "attached to Docker's default bridge (docker0)")
			}
			mac, macOK := e.mac(c, j)
			if ep.HostVeth == "" {
				r.add(c, FindingNoVeth, fmt.Sprintf("host veth of its endpoint on %s is unknown; its traffic is dropped until it is", ep.NetworkName))
			} else if !macOK {
				r.add(c, FindingNoVeth, fmt.Sprintf("MAC of its endpoint on %s is unknown; its traffic is dropped until it is", ep.NetworkName))
			}
			cls.endpoints = append(cls.endpoints, epClaims{port: ep.HostVeth, mac: mac, macOK: macOK, id: epID, v4: ep.IPv4, v6: ep.IPv6})
		}
	}
	return cls
}

// containerZone is the zone of a container with membership m, reporting
// why when it is none.
func containerZone(m zones.Membership, c *Container, ids map[string]uint8, r *Report) (uint8, string) {
	switch {
	case m.Conflict():
		// A copy: with a Cache, m.Matched is shared with later compiles.
		r.add(c, FindingConflict, "matched by zones "+strings.Join(m.Matched, ", ")+"; treated as unzoned", slices.Clone(m.Matched)...)
		return ZoneIDConflict, ClassConflict
	case m.Zone == "":
		r.add(c, FindingUnzoned, "matches no zone")
		return ZoneIDUnzoned, ClassUnzoned
	}
	id, ok := ids[m.Zone]
	if !ok {
		return ZoneIDUnzoned, ClassUnzoned
	}
	return id, m.Zone
}

// memberClass is the zone or class name of running container c with
// membership m (as Report.Members gives it).
func memberClass(c *Container, m zones.Membership, ids map[string]uint8) string {
	if c.NetworkMode == "host" {
		return ClassHostNetwork
	}
	switch _, ok := ids[m.Zone]; {
	case m.Conflict():
		return ClassConflict
	case m.Zone == "" || !ok:
		return ClassUnzoned
	}
	return m.Zone
}

// sharedNamespace reports a container that lives in another's namespace:
// its traffic carries the peer's identity.
func sharedNamespace(mem *membership, inv Inventory, c *Container, peerRef string, ids map[string]uint8, r *Report) {
	for i := range inv.Containers {
		peer := &inv.Containers[i]
		if peer.ID != peerRef && !strings.HasPrefix(peer.ID, peerRef) && peer.Name != peerRef {
			continue
		}
		m := mem.zoneOf(peer)
		if m.Zone == "" || m.Conflict() {
			r.add(c, FindingUnfilterable, "shares the network namespace of unzoned container "+peer.Name)
		} else if own := mem.zoneOf(c); own.Zone != m.Zone {
			r.add(c, FindingUnfilterable, fmt.Sprintf("shares the network namespace of %s; its traffic is judged as zone %s", peer.Name, m.Zone))
		}
		return
	}
	r.add(c, FindingUnfilterable, "shares the network namespace of unknown container "+peerRef)
}

func zonesContainer(c *Container) zones.Container {
	zc := zones.Container{Name: c.Name, Image: c.Image, Labels: c.Labels}
	for _, ep := range c.Endpoints {
		zc.Networks = append(zc.Networks, ep.NetworkName)
	}
	sort.Strings(zc.Networks)
	return zc
}
