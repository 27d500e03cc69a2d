package docker

import (
	"cmp"
	"maps"
	"slices"

	"github.com/zonewall/zonewall/enforcer"
)

// snapshotLocked deep-copies the inventory in a deterministic order:
// networks and containers by name then ID, endpoints by network name.
func (t *Tracker) snapshotLocked() enforcer.Inventory {
	var inv enforcer.Inventory
	for _, n := range t.networks {
		n.Subnets = slices.Clone(n.Subnets)
		inv.Networks = append(inv.Networks, n)
	}
	slices.SortFunc(inv.Networks, func(a, b enforcer.Network) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	for _, tc := range t.containers {
		c := tc.c
		c.Labels = maps.Clone(c.Labels)
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Ports = slices.Clone(c.Ports)
		slices.SortFunc(c.Ports, func(a, b enforcer.PublishedPort) int {
			return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.Proto, b.Proto), a.HostIP.Compare(b.HostIP))
		})
		c.Endpoints = nil
		for _, ep := range tc.eps {
			c.Endpoints = append(c.Endpoints, ep)
		}
		slices.SortFunc(c.Endpoints, func(a, b enforcer.Endpoint) int {
			return cmp.Or(cmp.Compare(a.NetworkName, b.NetworkName), cmp.Compare(a.NetworkID, b.NetworkID))
		})
		inv.Containers = append(inv.Containers, c)
	}
	slices.SortFunc(inv.Containers, func(a, b enforcer.Container) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return inv
}
