package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/zonewall/zonewall/enforcer"
)

// fullSync replaces the inventory with a fresh listing. Endpoints come from
// NetworkInspect (libnetwork's own view, current even while a container is
// starting); container metadata from ContainerList (a lock-free view).
// Networks are read before containers, so an endpoint whose container is not
// listed belongs to a container that is already gone.
func (t *Tracker) fullSync(ctx context.Context) error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	nets, eps, err := listNetworks(ctx, t.eng)
	if err != nil {
		return err
	}
	list, err := t.eng.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}

	t.mu.Lock()
	old := t.containers
	t.networks = nets
	t.containers = make(map[string]*tracked, len(list))
	t.netsDirty, t.membersDirty = true, true // every tracked is new, hence dirty
	for _, s := range list {
		t.containers[s.ID] = newTracked(toContainer(s))
	}
	for cid, byNet := range eps {
		tc, ok := t.containers[cid]
		if !ok {
			continue
		}
		for nid, ep := range byNet {
			if prev, ok := old[cid]; ok && keepVeth(&ep, prev.eps[nid]) && prev.provisional[nid] {
				tc.provisional[nid] = true
			}
			tc.eps[nid] = ep
		}
		// Attached endpoints mean the container runs or is starting (the
		// list view says "created" until the start completes).
		tc.c.Running = tc.c.Running || len(tc.eps) > 0
	}
	t.mu.Unlock()
	t.resolvePorts("")
	return nil
}

// listNetworks reads every network and its endpoints (container ID ->
// network ID -> endpoint).
func listNetworks(ctx context.Context, eng engine) (map[string]enforcer.Network, map[string]map[string]enforcer.Endpoint, error) {
	list, err := eng.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list networks: %w", err)
	}
	nets := make(map[string]enforcer.Network, len(list))
	eps := map[string]map[string]enforcer.Endpoint{}
	for _, s := range list {
		// The list omits endpoints (API >= 1.28); inspect each network.
		ni, err := eng.NetworkInspect(ctx, s.ID, network.InspectOptions{})
		if err != nil {
			if isNotFound(err) {
				continue // removed since the list
			}
			return nil, nil, fmt.Errorf("inspect network %s: %w", s.Name, err)
		}
		n := toNetwork(ni)
		nets[n.ID] = n
		for cid, r := range ni.Containers {
			if strings.HasPrefix(cid, "ep-") {
				continue // an endpoint without a container (being torn down)
			}
			if eps[cid] == nil {
				eps[cid] = map[string]enforcer.Endpoint{}
			}
			eps[cid][n.ID] = endpointFromResource(n, r)
		}
	}
	return nets, eps, nil
}

// keepVeth carries a resolved veth over when the endpoint is unchanged.
func keepVeth(ep *enforcer.Endpoint, prev enforcer.Endpoint) bool {
	if ep.HostVeth == "" && prev.HostVeth != "" && prev.EndpointID == ep.EndpointID {
		ep.HostVeth = prev.HostVeth
		return true
	}
	return false
}
