package docker

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
)

// fakeEngine is an in-memory Docker Engine: tests mutate its state, then
// emit the events Docker would.
type fakeEngine struct {
	mu         sync.Mutex
	down       bool // every call fails, as when dockerd is stopped
	networks   map[string]network.Inspect
	containers map[string]container.Summary
	subs       []fakeSub
	since      []string // Since of every subscription, in order
	calls      map[string]int
	// inspectFails makes the next NetworkInspect calls fail (not "not found").
	inspectFails int
	// inspectGate, when set, holds every NetworkInspect until it can
	// receive from it (a slow daemon).
	inspectGate chan struct{}
}

type fakeSub struct {
	msgs chan events.Message
	errs chan error
}

var errDown = errors.New("Cannot connect to the Docker daemon")

func newFakeEngine() *fakeEngine {
	return &fakeEngine{networks: map[string]network.Inspect{}, containers: map[string]container.Summary{}, calls: map[string]int{}}
}

func (f *fakeEngine) NetworkList(_ context.Context, _ network.ListOptions) ([]network.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["NetworkList"]++
	if f.down {
		return nil, errDown
	}
	var out []network.Summary
	for _, n := range f.networks {
		n.Containers = nil // as the real list (API >= 1.28)
		out = append(out, n)
	}
	return out, nil
}

func (f *fakeEngine) NetworkInspect(ctx context.Context, id string, _ network.InspectOptions) (network.Inspect, error) {
	f.mu.Lock()
	gate := f.inspectGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return network.Inspect{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["NetworkInspect"]++
	if f.down {
		return network.Inspect{}, errDown
	}
	if f.inspectFails > 0 {
		f.inspectFails--
		return network.Inspect{}, errors.New("transient failure")
	}
	n, ok := f.networks[id]
	if !ok {
		return network.Inspect{}, errdefs.NotFound(errors.New("no such network"))
	}
	n.Containers = maps.Clone(n.Containers) // callers read it after we change it
	return n, nil
}

func (f *fakeEngine) ContainerList(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["ContainerList"]++
	if f.down {
		return nil, errDown
	}
	ids := opts.Filters.Get("id")
	var out []container.Summary
	for id, c := range f.containers {
		if len(ids) > 0 && ids[0] != id {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeEngine) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, opts.Since)
	s := fakeSub{msgs: make(chan events.Message, 100), errs: make(chan error, 1)}
	if f.down {
		s.errs <- errDown
		return s.msgs, s.errs
	}
	f.subs = append(f.subs, s)
	return s.msgs, s.errs
}

// emit sends an event to every live subscription.
func (f *fakeEngine) emit(m events.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		s.msgs <- m
	}
}

// breakStream ends every subscription with err; with down, Docker stays
// unreachable until setDown(false).
func (f *fakeEngine) breakStream(err error, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		s.errs <- err
	}
	f.subs = nil
	f.down = down
}

func (f *fakeEngine) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeEngine) subscriptions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.since...)
}

// --- state helpers ---

func (f *fakeEngine) addNetwork(id, name, subnet string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.networks[id] = network.Inspect{
		ID: id, Name: name, Driver: "bridge",
		IPAM:       network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}},
		Containers: map[string]network.EndpointResource{},
		Options:    map[string]string{},
	}
}

func (f *fakeEngine) addContainer(id, name string, labels map[string]string, state container.ContainerState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := container.Summary{ID: id, Names: []string{"/" + name}, Image: "zwtest/busybox:1", Labels: labels, State: state}
	s.HostConfig.NetworkMode = "bridge"
	f.containers[id] = s
}

func (f *fakeEngine) setState(id string, state container.ContainerState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.State = state
	f.containers[id] = c
}

func (f *fakeEngine) rename(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.Names = []string{"/" + name}
	f.containers[id] = c
}

func (f *fakeEngine) relabel(id string, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.Labels = labels
	f.containers[id] = c
}

func (f *fakeEngine) removeContainer(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
}

func (f *fakeEngine) connect(nid, cid, epID, mac, v4, v6 string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.networks[nid].Containers[cid] = network.EndpointResource{EndpointID: epID, MacAddress: mac, IPv4Address: v4, IPv6Address: v6}
}

func (f *fakeEngine) disconnect(nid, cid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.networks[nid].Containers, cid)
}

// fakePorts is the bridges' ports as netlink would show them: each veth
// with its peer's MAC, "" while the peer is still in the host namespace.
type fakePorts struct {
	mu    sync.Mutex
	veths map[string]map[string]string // bridge -> veth -> peer MAC
	// sandboxed: veths whose peer is configured in a sandbox, and the
	// container whose process lives there.
	sandboxed map[string]fakeSandbox
	notify    func(bridge string) // Watch's callback, once Watch runs
}

type fakeSandbox struct {
	bridge, owner string
	port          sandboxPort
}

// configure shows veth's peer up in container owner's sandbox with mac and
// the addresses (what Docker's prestart hook leaves), and announces it.
func (p *fakePorts) configure(bridge, veth, owner, mac, v4, v6 string) {
	sp := sandboxPort{Veth: veth, MAC: mac}
	sp.IPv4, _ = netip.ParseAddr(v4)
	sp.IPv6, _ = netip.ParseAddr(v6)
	p.mu.Lock()
	if p.sandboxed == nil {
		p.sandboxed = map[string]fakeSandbox{}
	}
	p.sandboxed[veth] = fakeSandbox{bridge: bridge, owner: owner, port: sp}
	notify := p.notify
	p.mu.Unlock()
	p.set(bridge, mac, veth)
	if notify != nil {
		notify(bridge)
	}
}

func (p *fakePorts) Sandboxed(bridge string, claimed map[string]bool) ([]sandboxPort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []sandboxPort
	for veth, sb := range p.sandboxed {
		if sb.bridge == bridge && !claimed[veth] {
			out = append(out, sb.port)
		}
	}
	return out, nil
}

func (p *fakePorts) OwnedBy(sp sandboxPort, id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sandboxed[sp.Veth].owner == id
}

func newFakePorts() *fakePorts { return &fakePorts{veths: map[string]map[string]string{}} }

// set attaches veth to bridge with its peer moved and carrying mac.
func (p *fakePorts) set(bridge, mac, veth string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.veths[bridge] == nil {
		p.veths[bridge] = map[string]string{}
	}
	p.veths[bridge][veth] = mac
}

// attach attaches veth to bridge with its peer not moved yet (Docker's
// state at "network connect").
func (p *fakePorts) attach(bridge, veth string) { p.set(bridge, "", veth) }

func (p *fakePorts) remove(bridge, veth string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.veths[bridge], veth)
}

// Find mirrors netlinkPorts.Find's rules.
func (p *fakePorts) Find(bridge string, want []string, claimed map[string]bool) (map[string]portMatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wanted := map[string]bool{}
	for _, m := range want {
		wanted[m] = true
	}
	out := map[string]portMatch{}
	var unclaimed []string
	hostPeer := map[string]bool{}
	for veth, mac := range p.veths[bridge] {
		if mac != "" && wanted[mac] {
			out[mac] = portMatch{Veth: veth, Verified: true}
			continue
		}
		if !claimed[veth] {
			unclaimed = append(unclaimed, veth)
			hostPeer[veth] = mac == ""
		}
	}
	var open []string
	for m := range wanted {
		if _, ok := out[m]; !ok {
			open = append(open, m)
		}
	}
	if len(open) == 1 && len(unclaimed) == 1 && hostPeer[unclaimed[0]] {
		out[open[0]] = portMatch{Veth: unclaimed[0]}
	}
	return out, nil
}

func (p *fakePorts) Watch(ctx context.Context, changed func(string)) error {
	p.mu.Lock()
	p.notify = changed
	p.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (p *fakePorts) Close() {}
