package docker

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// The tracker keeps its last snapshot: one immutable enforcer.Container per
// container (built once per change, its maps and slices never written again)
// and the sorted lists. A snapshot rebuilds only what changed since the last
// one, so a sync after one event costs one container's copy plus one copy of
// the list, not a deep copy and a sort of everything.
//
// Every mutation of the tracked state marks what it touched: tracked.dirty
// for a container, netsDirty for the networks, membersDirty when containers
// were added or removed. A marked container whose rebuilt value equals its
// previous one keeps its revision: events that change nothing do not bump
// the inventory's revision.

// snapCache is the last snapshot and what it was built from.
type snapCache struct {
	rev        uint64                        // inventory revision; 0 before the first snapshot
	networks   []enforcer.Network            // sorted by name then ID
	containers []enforcer.Container          // sorted by name then ID
	built      map[string]enforcer.Container // by ID: the value in containers
}

// Snapshot returns the inventory, sorted deterministically: networks and
// containers by name then ID, endpoints by network name, ports by host port.
//
// The returned Inventory and everything it references (slices, label maps)
// are shared with the tracker and with other snapshots: they are READ-ONLY.
// The tracker never writes into a value it has handed out; a change builds
// new values. Consumers that need to modify must copy first.
func (t *Tracker) Snapshot() enforcer.Inventory {
	inv, _ := t.SnapshotRev()
	return inv
}

// SnapshotRev is Snapshot with the inventory's revision: equal nonzero
// revisions from one Tracker mean equal inventories, so a consumer can skip
// comparing them. Each Container carries its own Rev likewise.
func (t *Tracker) SnapshotRev() (enforcer.Inventory, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshSnapshotLocked()
	return enforcer.Inventory{Networks: t.snap.networks, Containers: t.snap.containers}, t.snap.rev
}

// nextRevLocked hands out tracker-wide revisions (container and inventory).
func (t *Tracker) nextRevLocked() uint64 {
	t.revCounter++
	return t.revCounter
}

// refreshSnapshotLocked brings t.snap up to date with the tracked state.
func (t *Tracker) refreshSnapshotLocked() {
	s := &t.snap
	if s.built == nil {
		s.built = map[string]enforcer.Container{}
	}
	changed := s.rev == 0
	if t.netsDirty {
		t.netsDirty = false
		if nets := sortedNetworks(t.networks); !slices.EqualFunc(nets, s.networks, equalNetwork) {
			s.networks, changed = nets, true
		}
	}

	var updated, added []enforcer.Container // changed values of listed containers; new ones
	now := time.Now()
	for id, tc := range t.containers {
		if !tc.dirty {
			continue
		}
		tc.dirty = false
		c := buildContainer(tc, now, t.vethGrace)
		old, had := s.built[id]
		if had && equalContainer(old, c) {
			continue
		}
		c.Rev = t.nextRevLocked()
		s.built[id] = c
		changed = true
		if had {
			updated = append(updated, c)
		} else {
			added = append(added, c)
		}
	}
	removed := false
	if t.membersDirty {
		t.membersDirty = false
		for id := range s.built {
			if _, ok := t.containers[id]; !ok {
				delete(s.built, id)
				removed, changed = true, true
			}
		}
	}
	if !changed {
		return
	}
	s.rev = t.nextRevLocked()
	// Why the daemon will apply: which containers changed in this revision.
	t.log.Debug("inventory revision", "rev", s.rev, "updated", len(updated), "added", len(added), "removed", removed)
	if len(updated) == 0 && len(added) == 0 && !removed {
		return // only the networks changed
	}
	s.containers = mergeContainers(s.containers, s.built, updated, added, removed)
}

// mergeContainers builds the new sorted list from the old one without
// sorting everything: values whose sort key stayed are replaced in place
// (binary search), the others (adds, renames) are sorted among themselves
// and merged in one pass that also drops removed containers. The old slice
// is never written: snapshots handed out keep it.
func mergeContainers(old []enforcer.Container, built map[string]enforcer.Container, updated, added []enforcer.Container, removed bool) []enforcer.Container {
	out := slices.Clone(old)
	fresh := slices.Clone(added)
	for _, c := range updated {
		i, found := slices.BinarySearchFunc(out, c, compareContainers)
		if !found {
			fresh = append(fresh, c) // renamed: its position changes
			continue
		}
		out[i] = c
	}
	if len(fresh) == 0 && !removed {
		return out
	}
	// Drop removed containers and the stale entries of renamed ones (their
	// value is no longer the built one), then merge the fresh values in.
	kept := out[:0]
	for _, c := range out {
		if b, ok := built[c.ID]; ok && b.Rev == c.Rev {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(fresh, compareContainers)
	merged := make([]enforcer.Container, 0, len(kept)+len(fresh))
	i, j := 0, 0
	for i < len(kept) && j < len(fresh) {
		if compareContainers(kept[i], fresh[j]) <= 0 {
			merged = append(merged, kept[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	merged = append(merged, kept[i:]...)
	return append(merged, fresh[j:]...)
}

func compareContainers(a, b enforcer.Container) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
}

// buildContainer makes the immutable snapshot value of one container: its
// own copies of labels, ports and endpoints, sorted, without the endpoints
// withheld while their veth is unknown (withheld.go).
func buildContainer(tc *tracked, now time.Time, grace time.Duration) enforcer.Container {
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
	for nid, ep := range tc.eps {
		if !tc.withheld(nid, ep, now, grace) {
			c.Endpoints = append(c.Endpoints, ep)
		}
	}
	slices.SortFunc(c.Endpoints, func(a, b enforcer.Endpoint) int {
		return cmp.Or(cmp.Compare(a.NetworkName, b.NetworkName), cmp.Compare(a.NetworkID, b.NetworkID))
	})
	c.Rev = 0
	return c
}

// equalContainer compares everything but Rev.
func equalContainer(a, b enforcer.Container) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Image == b.Image && a.NetworkMode == b.NetworkMode &&
		a.Running == b.Running && maps.Equal(a.Labels, b.Labels) &&
		slices.Equal(a.Endpoints, b.Endpoints) && slices.Equal(a.Ports, b.Ports)
}

func sortedNetworks(m map[string]enforcer.Network) []enforcer.Network {
	out := make([]enforcer.Network, 0, len(m))
	for _, n := range m {
		n.Subnets = slices.Clone(n.Subnets)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b enforcer.Network) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func equalNetwork(a, b enforcer.Network) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Driver == b.Driver && a.Bridge == b.Bridge &&
		a.Internal == b.Internal && a.Default == b.Default && slices.Equal(a.Subnets, b.Subnets)
}
