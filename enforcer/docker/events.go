package docker

import (
	"context"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/zonewall/zonewall/enforcer"
)

// handle applies one event and reports whether the inventory changed.
// Handlers are idempotent: after a reconnect, events are replayed.
func (t *Tracker) handle(ctx context.Context, m events.Message) bool {
	t.mu.Lock()
	if m.TimeNano > t.lastEvent {
		t.lastEvent = m.TimeNano
	}
	t.mu.Unlock()
	switch m.Type {
	case events.ContainerEventType:
		return t.onContainer(ctx, m)
	case events.NetworkEventType:
		return t.onNetwork(ctx, m)
	}
	return false
}

func (t *Tracker) onContainer(ctx context.Context, m events.Message) bool {
	id := m.Actor.ID
	if m.Action == events.ActionDestroy {
		t.mu.Lock()
		defer t.mu.Unlock()
		_, ok := t.containers[id]
		delete(t.containers, id)
		t.membersDirty = true
		return ok
	}
	s, err := t.listOne(ctx, id)
	t.mu.Lock()
	defer t.mu.Unlock()
	tc := t.containers[id]
	switch {
	case err != nil:
		t.log.Warn("list container after event; using the event's attributes and resyncing", "container", id, "event", m.Action, "err", err)
		t.needResync.Store(true)
		if tc == nil {
			tc = newTracked(fromAttributes(id, m.Actor.Attributes))
			t.containers[id] = tc
		}
	case s == nil:
		delete(t.containers, id) // already gone; its destroy event follows
		t.membersDirty = true
		return tc != nil
	case tc == nil:
		tc = newTracked(toContainer(*s))
		t.containers[id] = tc
	default:
		tc.setFromList(*s)
	}
	// The list view may lag the event; the event's action is authoritative.
	tc.dirty = true
	switch m.Action {
	case events.ActionStart:
		tc.c.Running = true
	case events.ActionDie:
		tc.c.Running = false
	case events.ActionRename:
		if name := m.Actor.Attributes["name"]; name != "" {
			tc.c.Name = strings.TrimPrefix(name, "/")
		}
	}
	return true
}

// listOne reads one container from the lock-free list view (nil if gone).
func (t *Tracker) listOne(ctx context.Context, id string) (*container.Summary, error) {
	list, err := t.eng.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("id", id))})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}

// fromAttributes builds a container from a container event's attributes:
// its labels plus "name" and "image".
func fromAttributes(id string, attrs map[string]string) enforcer.Container {
	c := enforcer.Container{ID: id, Name: attrs["name"], Image: attrs["image"], Labels: map[string]string{}}
	for k, v := range attrs {
		if k != "name" && k != "image" {
			c.Labels[k] = v
		}
	}
	return c
}

func (t *Tracker) onNetwork(ctx context.Context, m events.Message) bool {
	nid := m.Actor.ID
	switch m.Action {
	case events.ActionDestroy:
		t.mu.Lock()
		defer t.mu.Unlock()
		_, ok := t.networks[nid]
		delete(t.networks, nid)
		t.netsDirty = true
		for _, tc := range t.containers {
			if _, ok := tc.eps[nid]; ok {
				delete(tc.eps, nid)
				tc.dirty = true
			}
			delete(tc.provisional, nid)
		}
		return ok
	case events.ActionDisconnect:
		t.mu.Lock()
		defer t.mu.Unlock()
		tc := t.containers[m.Actor.Attributes["container"]]
		if tc == nil {
			return false
		}
		_, ok := tc.eps[nid]
		delete(tc.eps, nid)
		delete(tc.provisional, nid)
		tc.dropPendingLocked(nid)
		tc.dirty = true
		return ok
	case events.ActionConnect:
		return t.startConnect(ctx, nid, m.Actor.Attributes["container"], time.Now())
	case events.ActionCreate:
		start := time.Now()
		changed := t.refreshNetwork(ctx, nid, m.Actor.Attributes["container"])
		t.log.Debug("network event handled", "event", m.Action, "network", m.Actor.Attributes["name"],
			"container", m.Actor.Attributes["container"], "event_age", start.Sub(time.Unix(0, m.TimeNano)).String(), "took", time.Since(start).String())
		return changed
	}
	return false
}

// refreshNetwork re-reads one network and, for a connect, the endpoint of
// cid on it, then looks for the endpoint's veth at once.
func (t *Tracker) refreshNetwork(ctx context.Context, nid, cid string) bool {
	ni, err := t.eng.NetworkInspect(ctx, nid, network.InspectOptions{})
	if err != nil {
		if !cerrdefs.IsNotFound(err) {
			t.log.Warn("inspect network after event; resyncing", "network", nid, "err", err)
			t.needResync.Store(true)
		}
		return false
	}
	n := toNetwork(ni)
	t.mu.Lock()
	t.networks[nid] = n
	t.netsDirty = true
	if r, ok := ni.Containers[cid]; ok && cid != "" {
		tc := t.containers[cid]
		if tc == nil {
			// Connected before we saw its create event (replay after a
			// reconnect): keep the endpoint; a refresh fills the rest.
			tc = newTracked(enforcer.Container{ID: cid, Labels: map[string]string{}})
			t.containers[cid] = tc
			defer t.refreshContainer(ctx, cid)
		}
		ep := endpointFromResource(n, r)
		prev, had := tc.eps[nid]
		if !keepVeth(&ep, prev) {
			delete(tc.provisional, nid)
		}
		if !had || prev.EndpointID != ep.EndpointID {
			t.awaitVethLocked(cid, tc, nid, time.Now())
		}
		tc.eps[nid] = ep
		// Docker attaches networks while it starts a container, before the
		// process runs and before the start event: the enforcer must
		// classify it now, so it counts as running from here.
		tc.c.Running = true
		tc.dirty = true
	}
	t.mu.Unlock()
	if n.Bridge != "" {
		t.resolvePorts(n.Bridge)
	}
	return true
}

// refreshContainer re-reads one container's metadata.
func (t *Tracker) refreshContainer(ctx context.Context, id string) {
	s, err := t.listOne(ctx, id)
	if err != nil {
		t.log.Warn("list container; resyncing", "container", id, "err", err)
		t.needResync.Store(true)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tc := t.containers[id]
	switch {
	case tc == nil:
	case s == nil:
		delete(t.containers, id)
		t.membersDirty = true
	default:
		tc.setFromList(*s)
	}
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
