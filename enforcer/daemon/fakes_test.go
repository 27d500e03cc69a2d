package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// fakeInventory is an in-memory Docker.
type fakeInventory struct {
	synced atomic.Bool
	mu     sync.Mutex
	inv    enforcer.Inventory
}

func (f *fakeInventory) Synced() bool { return f.synced.Load() }
func (f *fakeInventory) Snapshot() enforcer.Inventory {
	f.mu.Lock()
	defer f.mu.Unlock()
	return enforcer.Inventory{Networks: f.inv.Networks, Containers: append([]enforcer.Container(nil), f.inv.Containers...)}
}
func (f *fakeInventory) add(c enforcer.Container) {
	f.mu.Lock()
	f.inv.Containers = append(f.inv.Containers, c)
	f.mu.Unlock()
}

// fakeRuleset renders membership, the part of a ruleset that changes with containers.
type fakeRuleset struct{ text string }

func (r fakeRuleset) String() string { return r.text }

// fakeCompile stands in for enforcer.Compile: one line per container with
// its zone and addresses, and an "unzoned" finding per unzoned container.
func fakeCompile(p *zones.Policy, inv enforcer.Inventory) (Ruleset, []control.Finding) {
	var lines []string
	var findings []control.Finding
	for i := range inv.Containers {
		c := &inv.Containers[i]
		m := p.ZoneOf(zonesContainer(c))
		if m.Zone == "" {
			findings = append(findings, control.Finding{Kind: "unzoned", Container: c.Name, ContainerID: shortID(c.ID), Detail: "matches no zone"})
		}
		for _, ep := range c.Endpoints {
			lines = append(lines, fmt.Sprintf("%s %s %s", m.Zone, c.Name, ep.IPv4))
		}
	}
	sort.Strings(lines)
	return fakeRuleset{text: fmt.Sprintf("# %d zones %d flows\n%s", len(p.Zones), len(p.Flows), strings.Join(lines, "\n"))}, findings
}

// fakeKernel records applies and can fail or report drift on demand.
type fakeKernel struct {
	mu       sync.Mutex
	applies  []fakeApply
	delay    time.Duration
	failNext int
	drift    bool
	applied  chan struct{} // gets a value after every apply (buffered)
}

type fakeApply struct {
	full bool
	text string
	err  error
	at   time.Time
}

func newFakeKernel() *fakeKernel { return &fakeKernel{applied: make(chan struct{}, 1000)} }

func (k *fakeKernel) Apply(rs Ruleset, full bool) (ApplyStats, error) {
	time.Sleep(k.delay)
	k.mu.Lock()
	defer func() { k.mu.Unlock(); k.applied <- struct{}{} }()
	a := fakeApply{full: full, text: rs.String(), at: time.Now()}
	if k.failNext > 0 {
		k.failNext--
		a.err = errors.New("netlink: transaction rejected")
	}
	k.applies = append(k.applies, a)
	if a.err != nil {
		return ApplyStats{}, a.err
	}
	k.drift = false
	return ApplyStats{Full: full, Counts: map[string]int{"lines": strings.Count(a.text, "\n")}}, nil
}

func (k *fakeKernel) Verify() (error, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.drift {
		return errors.New("table inet zonewall: deleted"), nil
	}
	return nil, nil
}

func (k *fakeKernel) history() []fakeApply {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]fakeApply(nil), k.applies...)
}

func (k *fakeKernel) set(fn func(k *fakeKernel)) {
	k.mu.Lock()
	fn(k)
	k.mu.Unlock()
}

// fakeStopper records stopped containers.
type fakeStopper struct {
	mu      sync.Mutex
	stopped []string
}

func (s *fakeStopper) StopContainer(_ context.Context, id string) error {
	s.mu.Lock()
	s.stopped = append(s.stopped, id)
	s.mu.Unlock()
	return nil
}

// fakeNotifier counts sd_notify states.
type fakeNotifier struct{ ready, stopping atomic.Int32 }

func (n *fakeNotifier) Ready()                          { n.ready.Add(1) }
func (n *fakeNotifier) Stopping()                       { n.stopping.Add(1) }
func (n *fakeNotifier) Watchdog()                       {}
func (n *fakeNotifier) WatchdogInterval() time.Duration { return 0 }

func testContainer(id, name, netName, ip string) enforcer.Container {
	return enforcer.Container{
		ID: id, Name: name, Image: "zwtest/busybox:1", Running: true, NetworkMode: netName,
		Labels: map[string]string{},
		Endpoints: []enforcer.Endpoint{{NetworkName: netName, Bridge: "br-zwtestd", HostVeth: "veth" + id[:4],
			IPv4: netip.MustParseAddr(ip)}},
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

// fakeMetrics records what the daemon reports to metrics.
type fakeMetrics struct {
	nopMetrics
	mu       sync.Mutex
	reported map[string]int
	drops    []string // "from -> to: reason"
}

func (m *fakeMetrics) SetReported(byKind map[string]int) {
	m.mu.Lock()
	m.reported = byKind
	m.mu.Unlock()
}

func (m *fakeMetrics) LoggedDrop(from, to, reason string) {
	m.mu.Lock()
	m.drops = append(m.drops, from+" -> "+to+": "+reason)
	m.mu.Unlock()
}

func (m *fakeMetrics) snapshot() (map[string]int, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reported, append([]string(nil), m.drops...)
}
