package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/daemon"
	"github.com/zonewall/zonewall/enforcer/state"
	"github.com/zonewall/zonewall/zones"
)

// benchEngine serves a fixed policy instead of reading zone files.
type benchEngine struct {
	daemon.PolicyEngine
	p *zones.Policy
}

func (e benchEngine) Load(string) (*zones.Policy, []zones.Source, error) { return e.p, nil, nil }

// benchKernel accepts every ruleset and signals each apply.
type benchKernel struct{ applied chan struct{} }

func (k benchKernel) Apply(daemon.Ruleset, bool) (daemon.ApplyStats, error) {
	k.applied <- struct{}{}
	return daemon.ApplyStats{}, nil
}
func (benchKernel) Verify() (error, error) { return nil, nil }

const benchBridge = "br-aaaaaaaaaaaa"

// addBenchContainer puts container i of enforcer.BenchInventory into the
// fake engine, attached to netFront with its veth visible.
func addBenchContainer(eng *fakeEngine, ports *fakePorts, i int) string {
	c := enforcer.BenchContainer(i, 8)
	id := fmt.Sprintf("%064x", i+1)
	eng.addContainer(id, c.Name, c.Labels, container.StateRunning)
	ep := c.Endpoints[0]
	eng.connect(netFront, id, "ep-"+c.ID, ep.MAC, ep.IPv4.String()+"/8", "")
	ports.set(benchBridge, ep.MAC, ep.HostVeth)
	return id
}

// BenchmarkDaemonSyncOneAdded: a daemon (real compile, state saving, a
// kernel that accepts at once) over a tracker holding n containers; each
// op is one container's create and connect events, handled by the tracker,
// then the daemon's sync up to the kernel apply.
func BenchmarkDaemonSyncOneAdded(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			eng, ports := newFakeEngine(), newFakePorts()
			eng.addNetwork(netFront, "back", "10.0.0.0/8")
			for i := range n {
				addBenchContainer(eng, ports, i)
			}
			tr := newTracker(eng, nil, ports)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := tr.fullSync(ctx); err != nil {
				b.Fatal(err)
			}
			tr.synced.Store(true)
			st, err := state.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			k := benchKernel{applied: make(chan struct{}, 1)}
			d, err := daemon.New(daemon.Config{
				ZonesDir: b.TempDir(), Engine: benchEngine{daemon.PolicyEngine{CompileFunc: daemon.CompileFunc(enforcer.Options{})}, enforcer.BenchPolicy(8)},
				Kernel: k, Inventory: tr, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				VerifyInterval: time.Hour, MinInterval: time.Nanosecond, Burst: 1 << 30, // measure the sync, not the limiter
			})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); d.Run(ctx) }()
			<-k.applied
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				id := addBenchContainer(eng, ports, n+i)
				tr.handle(ctx, events.Message{Type: events.ContainerEventType, Action: events.ActionCreate, Actor: events.Actor{ID: id}})
				tr.handle(ctx, events.Message{Type: events.NetworkEventType, Action: events.ActionConnect, Actor: events.Actor{ID: netFront, Attributes: map[string]string{"container": id}}})
				d.Changed()
				<-k.applied
			}
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
