package docker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// publications records what a consumer (the daemon) sees: the endpoints of
// every new inventory revision, read at each change notification.
type publications struct {
	mu       sync.Mutex
	tr       *Tracker
	lastRev  uint64
	versions []map[string]string // container ID -> veth of its endpoint ("" unknown)
}

func (p *publications) changed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tr == nil {
		return
	}
	inv, rev := p.tr.SnapshotRev()
	if rev == p.lastRev {
		return
	}
	p.lastRev = rev
	v := map[string]string{}
	for _, c := range inv.Containers {
		for _, ep := range c.Endpoints {
			v[c.ID] = ep.HostVeth
		}
	}
	p.versions = append(p.versions, v)
}

// vethless counts the published versions in which an endpoint has no veth,
// and the versions that changed the endpoints (what costs a kernel apply).
func (p *publications) counts() (vethless, endpointVersions int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var prev map[string]string
	for _, v := range p.versions {
		for _, veth := range v {
			if veth == "" {
				vethless++
				break
			}
		}
		if fmt.Sprint(v) != fmt.Sprint(prev) {
			endpointVersions++
		}
		prev = v
	}
	return vethless, endpointVersions
}

func startTrackerWith(t *testing.T, eng *fakeEngine, ports *fakePorts, pub *publications, opts ...Option) *Tracker {
	t.Helper()
	tr := newTracker(eng, nil, ports, append([]Option{WithRetry(5*time.Millisecond, 20*time.Millisecond)}, opts...)...)
	pub.mu.Lock()
	pub.tr = tr
	pub.mu.Unlock()
	return runFakeTracker(t, tr, pub.changed)
}

// replayBurst plays what Docker 20.10 does when n containers start side by
// side on one bridge: create; veth attached with its peer still in the host
// namespace, "network connect"; later (prestart hook) the peer moves and
// takes the endpoint's MAC, then "start". All connects come before the
// first peer moves, so no veth can be guessed.
func replayBurst(t *testing.T, eng *fakeEngine, ports *fakePorts, tr *Tracker, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", 0xb000+i)
		eng.addContainer(ids[i], fmt.Sprintf("burst-%02d", i), map[string]string{"zwb-role": "filler"}, container.StateCreated)
		eng.emit(ev(events.ContainerEventType, events.ActionCreate, ids[i], nil))
	}
	for i, id := range ids {
		ports.attach("br-aaaaaaaaaaaa", fmt.Sprintf("vethb%02d", i))
		eng.connect(netFront, id, fmt.Sprintf("ep-b%02d", i), fmt.Sprintf("02:42:0a:e7:02:%02x", i), fmt.Sprintf("10.231.2.%d/24", i+2), "")
		eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": id}))
	}
	// Every connect handled (the tracker holds the endpoints) before the
	// first peer moves.
	waitFor(t, "connects handled", func() bool {
		tr.mu.RLock()
		defer tr.mu.RUnlock()
		for _, id := range ids {
			if tc := tr.containers[id]; tc == nil || len(tc.eps) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(30 * time.Millisecond) // several lookups that cannot decide
	for i, id := range ids {
		ports.set("br-aaaaaaaaaaaa", fmt.Sprintf("02:42:0a:e7:02:%02x", i), fmt.Sprintf("vethb%02d", i))
		eng.setState(id, container.StateRunning)
		eng.emit(ev(events.ContainerEventType, events.ActionStart, id, nil))
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "every veth published", func() bool {
		inv := tr.Snapshot()
		for i, id := range ids {
			c := findContainer(inv, id)
			if c == nil || len(c.Endpoints) != 1 || c.Endpoints[0].HostVeth != fmt.Sprintf("vethb%02d", i) {
				return false
			}
		}
		return true
	})
	return ids
}

// The burst: with endpoints withheld until their veth is known, each
// container's endpoint is published once, with its veth. Without (grace
// 0), the address goes out first and the veth later: two versions, two
// kernel transactions per container.
func TestBurstPublishesEachEndpointOnceWithItsVeth(t *testing.T) {
	const n = 8
	for _, tc := range []struct {
		name  string
		grace time.Duration
	}{{"withheld", DefaultVethGrace}, {"grace 0", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			eng, ports := fixture()
			pub := &publications{}
			tr := startTrackerWith(t, eng, ports, pub, WithVethGrace(tc.grace))
			replayBurst(t, eng, ports, tr, n)
			vethless, versions := pub.counts()
			t.Logf("%s: %d endpoint versions published for %d starts, %d with an endpoint lacking its veth", tc.name, versions, n, vethless)
			if tc.grace == 0 {
				if vethless == 0 {
					t.Fatal("grace 0 never published an endpoint without veth: the replay does not reproduce Docker's order")
				}
				return
			}
			if vethless != 0 {
				t.Fatalf("%d versions published an endpoint without its veth", vethless)
			}
			if versions > n+1 { // the initial inventory, then at most one per container
				t.Fatalf("%d endpoint versions for %d starts, want <= %d", versions, n, n+1)
			}
		})
	}
}

// A veth that never shows: the endpoint is published without it once the
// grace ends, as before withholding existed.
func TestWithheldEndpointPublishedAfterGrace(t *testing.T) {
	eng, ports := fixture()
	pub := &publications{}
	tr := startTrackerWith(t, eng, ports, pub, WithVethGrace(40*time.Millisecond))
	eng.addContainer(ctrAPI, "api-1", nil, container.StateCreated)
	ports.attach("br-aaaaaaaaaaaa", "vetha")
	ports.attach("br-aaaaaaaaaaaa", "vethb") // two candidates: no guess
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	start := time.Now()
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "endpoint published without veth", func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		if len(pub.versions) == 0 {
			return false
		}
		veth, ok := pub.versions[len(pub.versions)-1][ctrAPI]
		return ok && veth == ""
	})
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("published after %v, before the grace ended", waited)
	}
	if c := findContainer(tr.Snapshot(), ctrAPI); !c.Running || c.Endpoints[0].IPv4.String() != "10.231.1.3" {
		t.Fatalf("api = %+v", c)
	}
}

// Containers listed by a full sync are never withheld: at daemon start
// every known endpoint is enforced at once.
func TestFullSyncWithholdsNothing(t *testing.T) {
	eng, ports := fixture()
	eng.addContainer(ctrAPI, "api-1", nil, container.StateRunning)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	tr := syncedTracker(t, eng, ports)
	if c := findContainer(tr.Snapshot(), ctrAPI); len(c.Endpoints) != 1 || c.Endpoints[0].HostVeth != "" {
		t.Fatalf("api after a full sync = %+v", c)
	}
}
