package docker

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/zonewall/zonewall/enforcer"
)

// A "network connect" event names the container and the network, nothing
// more: the endpoint's addresses and MAC come from a NetworkInspect, whose
// cost grows with the containers on the network (tens of milliseconds with
// 200 on a busy host). So the Run loop does not wait for it:
//
//   - the inspect runs in its own goroutine and its result comes back to
//     the loop (inspected), which meanwhile serves link updates and other
//     events;
//   - when the container's side of a veth on the network's bridge is
//     configured in a sandbox before the inspect returns (Docker's prestart
//     hook moves it in, sets MAC and addresses, then brings it up: the
//     host side's carrier change is a link update), the endpoint is read
//     from the kernel: veth, MAC and addresses of the peer. It is taken
//     only when a process of that very container (by its cgroup) lives in
//     the sandbox and the address lies in the network's subnets, so it can
//     never be another container's port;
//   - the inspect result confirms it (Docker's MAC and addresses are the
//     kernel's: nothing changes) or, if they differ (a container that
//     changed its own addresses in between), replaces it with Docker's
//     data, whose veth is then found by MAC as usual.
//
// Until one of the two has arrived the endpoint is not in the inventory:
// its port is unknown to the enforcer and gets nothing through.

// inspectResult is a NetworkInspect made for one connect event.
type inspectResult struct {
	nid, cid string
	gen      uint64 // the connect's generation (tracked.connects)
	ni       network.Inspect
	err      error
	started  time.Time
}

// pendingConnect is a connect event whose endpoint is not known yet.
type pendingConnect struct {
	gen    uint64
	bridge string
	since  time.Time
}

// startConnect records a connect event and starts its inspect; the loop
// applies the result (applyInspect). Without a loop (tests calling handle)
// the inspect is made at once.
func (t *Tracker) startConnect(ctx context.Context, nid, cid string, at time.Time) bool {
	if t.inspected == nil || cid == "" {
		return t.refreshNetwork(ctx, nid, cid)
	}
	t.mu.Lock()
	tc := t.containers[cid]
	if tc == nil {
		// Connected before we saw its create event (replay after a
		// reconnect): keep it; a refresh fills the rest.
		tc = newTracked(enforcer.Container{ID: cid, Labels: map[string]string{}})
		t.containers[cid] = tc
		defer t.refreshContainer(ctx, cid)
	}
	t.connects++
	gen := t.connects
	if tc.pending == nil {
		tc.pending = map[string]pendingConnect{}
	}
	tc.pending[nid] = pendingConnect{gen: gen, bridge: t.networks[nid].Bridge, since: at}
	delete(tc.unconfirmed, nid) // an earlier connect's inspect no longer applies
	// Docker attaches networks while it starts a container, before the
	// process runs and before the start event: it counts as running now.
	changed := !tc.c.Running
	tc.c.Running = true
	tc.dirty = tc.dirty || changed
	t.mu.Unlock()
	results := t.inspected
	go func() {
		ni, err := t.eng.NetworkInspect(ctx, nid, network.InspectOptions{})
		select {
		case results <- inspectResult{nid: nid, cid: cid, gen: gen, ni: ni, err: err, started: at}:
		case <-ctx.Done():
		}
	}()
	return changed
}

// applyInspect applies the inspect of a connect event, unless the
// container or its connection is gone or newer since.
func (t *Tracker) applyInspect(r inspectResult) bool {
	if r.err != nil {
		if !isNotFound(r.err) {
			t.log.Warn("inspect network after event; resyncing", "network", r.nid, "err", r.err)
			t.needResync.Store(true)
		}
		return false
	}
	n := toNetwork(r.ni)
	t.mu.Lock()
	t.networks[r.nid] = n
	t.netsDirty = true
	tc := t.containers[r.cid]
	var waiting, fromKernel bool
	if tc != nil {
		p, ok := tc.pending[r.nid]
		waiting = ok && p.gen == r.gen
		g, ok := tc.unconfirmed[r.nid]
		fromKernel = ok && g == r.gen
	}
	if !waiting && !fromKernel {
		t.mu.Unlock()
		return true // disconnected, destroyed or connected again since
	}
	res, ok := r.ni.Containers[r.cid]
	if !ok { // detached again before the inspect
		tc.dropPendingLocked(r.nid)
		delete(tc.eps, r.nid)
		tc.dirty = true
		t.mu.Unlock()
		return true
	}
	ep := endpointFromResource(n, res)
	prev, had := tc.eps[r.nid]
	switch {
	case fromKernel && prev.MAC == ep.MAC && prev.IPv4 == ep.IPv4 && prev.IPv6 == ep.IPv6:
		ep.HostVeth = prev.HostVeth // confirmed: the kernel showed Docker's own data
	case fromKernel:
		t.log.Warn("endpoint read from the kernel differs from Docker's; taking Docker's", "container", r.cid, "network", n.Name,
			"kernel_mac", prev.MAC, "docker_mac", ep.MAC, "kernel_ipv4", prev.IPv4, "docker_ipv4", ep.IPv4)
		delete(tc.provisional, r.nid)
		t.awaitVethLocked(r.cid, tc, r.nid, time.Now())
	default:
		if !keepVeth(&ep, prev) {
			delete(tc.provisional, r.nid)
		}
		if !had || prev.EndpointID != ep.EndpointID {
			t.awaitVethLocked(r.cid, tc, r.nid, time.Now())
		}
	}
	tc.dropPendingLocked(r.nid)
	tc.eps[r.nid] = ep
	tc.c.Running = true
	tc.dirty = true
	t.mu.Unlock()
	t.log.Debug("network connect inspected", "network", n.Name, "container", r.cid, "took", time.Since(r.started).String(), "kernel_first", fromKernel)
	if n.Bridge != "" {
		t.resolvePorts(n.Bridge)
	}
	return true
}

// dropPendingLocked forgets a connect of cid to nid (disconnect).
func (tc *tracked) dropPendingLocked(nid string) {
	delete(tc.pending, nid)
	delete(tc.unconfirmed, nid)
}

// sandboxPort is a bridge port whose container side is configured in a
// sandbox namespace: what the kernel says the endpoint is.
type sandboxPort struct {
	Veth       string
	MAC        string // lower case
	IPv4, IPv6 netip.Addr
	NetNsID    int // the sandbox, as the host namespace names it
}

// resolveFromSandboxes takes, for each connect still waiting for its
// inspect on bridge (every bridge when ""), the configured sandbox port
// that a process of that container lives behind. It reports whether the
// inventory changed.
func (t *Tracker) resolveFromSandboxes(bridge string) bool {
	type want struct {
		cid, nid string
		gen      uint64
		subnets  []netip.Prefix
	}
	byBridge := map[string][]want{}
	claimed := map[string]map[string]bool{}
	t.mu.RLock()
	for cid, tc := range t.containers {
		for nid, p := range tc.pending {
			if p.bridge != "" && (bridge == "" || p.bridge == bridge) {
				byBridge[p.bridge] = append(byBridge[p.bridge], want{cid, nid, p.gen, t.networks[nid].Subnets})
			}
		}
	}
	if len(byBridge) > 0 {
		for _, tc := range t.containers {
			for _, ep := range tc.eps {
				if byBridge[ep.Bridge] != nil && ep.HostVeth != "" {
					if claimed[ep.Bridge] == nil {
						claimed[ep.Bridge] = map[string]bool{}
					}
					claimed[ep.Bridge][ep.HostVeth] = true
				}
			}
		}
	}
	t.mu.RUnlock()
	if len(byBridge) == 0 || t.ports == nil {
		return false
	}
	changed := false
	for br, wants := range byBridge {
		cands, err := t.ports.Sandboxed(br, claimed[br])
		if err != nil {
			t.log.Warn("read sandbox ports", "bridge", br, "err", err)
			continue
		}
		for _, c := range cands {
			for _, w := range wants {
				if !inSubnets(c, w.subnets) || !t.ports.OwnedBy(c, w.cid) {
					continue
				}
				if t.takeSandboxPort(w.cid, w.nid, w.gen, c) {
					changed = true
				}
				break
			}
		}
	}
	return changed
}

// inSubnets reports whether the port's addresses lie in the network's
// subnets (one of each family the network has), and it has one.
func inSubnets(c sandboxPort, subnets []netip.Prefix) bool {
	if !c.IPv4.IsValid() && !c.IPv6.IsValid() {
		return false
	}
	for _, a := range []netip.Addr{c.IPv4, c.IPv6} {
		if a.IsValid() && !slices.ContainsFunc(subnets, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return false
		}
	}
	return true
}

// takeSandboxPort publishes the endpoint of cid on nid as the kernel shows
// it, if its connect is still the one waiting.
func (t *Tracker) takeSandboxPort(cid, nid string, gen uint64, c sandboxPort) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	tc := t.containers[cid]
	if tc == nil || tc.pending[nid].gen != gen {
		return false
	}
	n := t.networks[nid]
	tc.eps[nid] = enforcer.Endpoint{NetworkID: nid, NetworkName: n.Name, Bridge: n.Bridge, HostVeth: c.Veth, MAC: c.MAC, IPv4: c.IPv4, IPv6: c.IPv6}
	delete(tc.provisional, nid)
	delete(tc.pending, nid)
	if tc.unconfirmed == nil {
		tc.unconfirmed = map[string]uint64{}
	}
	tc.unconfirmed[nid] = gen // the inspect still has to confirm it
	tc.dirty = true
	t.log.Debug("endpoint read from its sandbox", "container", cid, "network", n.Name, "veth", c.Veth, "mac", c.MAC, "ipv4", c.IPv4)
	return true
}
