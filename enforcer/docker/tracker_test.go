package docker

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/zonewall/zonewall/enforcer"
)

const (
	netFront = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	ctrWeb   = "cccccccccccc2222222222222222222222222222222222222222222222222222"
	ctrAPI   = "dddddddddddd3333333333333333333333333333333333333333333333333333"
)

// startTracker runs a Tracker over the fakes until the test ends.
func startTracker(t *testing.T, eng *fakeEngine, ports *fakePorts, opts ...Option) *Tracker {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr := newTracker(eng, log, ports, append([]Option{WithRetry(5*time.Millisecond, 20*time.Millisecond)}, opts...)...)
	return runFakeTracker(t, tr, func() {})
}

// runFakeTracker runs tr until the test ends and waits for its first sync.
func runFakeTracker(t *testing.T, tr *Tracker, changed func()) *Tracker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, changed) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "first sync", func() bool { return tr.Synced() })
	return tr
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func findContainer(inv enforcer.Inventory, id string) *enforcer.Container {
	for i := range inv.Containers {
		if inv.Containers[i].ID == id {
			return &inv.Containers[i]
		}
	}
	return nil
}

func ev(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}, TimeNano: time.Now().UnixNano()}
}

// fixture: network front with web running on it before the tracker starts.
func fixture() (*fakeEngine, *fakePorts) {
	eng, ports := newFakeEngine(), newFakePorts()
	eng.addNetwork(netFront, "zw-front", "10.231.1.0/24")
	eng.addContainer(ctrWeb, "web-1", map[string]string{"tier": "web"}, container.StateRunning)
	eng.connect(netFront, ctrWeb, "ep-web", "02:42:0a:e7:01:02", "10.231.1.2/24", "fd00:231:1::2/64")
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:02", "vethweb")
	return eng, ports
}

func TestInitialSync(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	inv := tr.Snapshot()
	if len(inv.Networks) != 1 || inv.Networks[0].Bridge != "br-aaaaaaaaaaaa" || inv.Networks[0].Subnets[0] != netip.MustParsePrefix("10.231.1.0/24") {
		t.Fatalf("networks = %+v", inv.Networks)
	}
	web := findContainer(inv, ctrWeb)
	if web == nil || web.Name != "web-1" || !web.Running || web.Labels["tier"] != "web" {
		t.Fatalf("web = %+v", web)
	}
	want := enforcer.Endpoint{
		NetworkID: netFront, NetworkName: "zw-front", EndpointID: "ep-web", Bridge: "br-aaaaaaaaaaaa",
		HostVeth: "vethweb", MAC: "02:42:0a:e7:01:02",
		IPv4: netip.MustParseAddr("10.231.1.2"), IPv6: netip.MustParseAddr("fd00:231:1::2"),
	}
	if len(web.Endpoints) != 1 || web.Endpoints[0] != want {
		t.Fatalf("endpoints = %+v, want %+v", web.Endpoints, want)
	}
}

// A docker run: create, connect (before the process starts), start.
func TestNewContainerLifecycle(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)

	eng.addContainer(ctrAPI, "api-1", map[string]string{"tier": "api"}, container.StateCreated)
	eng.emit(ev(events.ContainerEventType, events.ActionCreate, ctrAPI, map[string]string{"name": "api-1", "tier": "api"}))
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI, "name": "zw-front"}))
	waitFor(t, "api endpoint classified", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1 && c.Endpoints[0].HostVeth == "vethapi"
	})
	// Attached but not started yet: it counts as running, since its
	// process may send its first packet before the start event arrives.
	if c := findContainer(tr.Snapshot(), ctrAPI); !c.Running || c.Labels["tier"] != "api" || c.Endpoints[0].IPv4 != netip.MustParseAddr("10.231.1.3") {
		t.Fatalf("api before start = %+v", c)
	}

	eng.setState(ctrAPI, container.StateRunning)
	eng.emit(ev(events.ContainerEventType, events.ActionStart, ctrAPI, nil))
	waitFor(t, "api running", func() bool { return findContainer(tr.Snapshot(), ctrAPI).Running })

	eng.rename(ctrAPI, "api-renamed")
	eng.emit(ev(events.ContainerEventType, events.ActionRename, ctrAPI, map[string]string{"name": "api-renamed", "oldName": "/api-1"}))
	waitFor(t, "rename", func() bool { return findContainer(tr.Snapshot(), ctrAPI).Name == "api-renamed" })

	// die: Docker releases the network after the die event.
	eng.setState(ctrAPI, container.StateExited)
	eng.emit(ev(events.ContainerEventType, events.ActionDie, ctrAPI, nil))
	eng.disconnect(netFront, ctrAPI)
	eng.emit(ev(events.NetworkEventType, events.ActionDisconnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "stopped and disconnected", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return !c.Running && len(c.Endpoints) == 0
	})

	eng.removeContainer(ctrAPI)
	eng.emit(ev(events.ContainerEventType, events.ActionDestroy, ctrAPI, nil))
	waitFor(t, "destroyed", func() bool { return findContainer(tr.Snapshot(), ctrAPI) == nil })
	if findContainer(tr.Snapshot(), ctrWeb) == nil {
		t.Fatal("web vanished")
	}
}

// A veth that shows up after the connect event is found by the retry (the
// endpoint published at once: no withholding).
func TestLateVethIsRetried(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports, WithVethGrace(0))
	eng.addContainer(ctrAPI, "api-1", nil, container.StateRunning)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "endpoint without veth", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1
	})
	if v := findContainer(tr.Snapshot(), ctrAPI).Endpoints[0].HostVeth; v != "" {
		t.Fatalf("veth %q before it exists", v)
	}
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethlate")
	waitFor(t, "late veth", func() bool { return findContainer(tr.Snapshot(), ctrAPI).Endpoints[0].HostVeth == "vethlate" })
}

// Losing the stream re-subscribes from the last event and resyncs, which
// picks up what happened meanwhile; while Docker is down, the last
// inventory stays and Synced stays true.
func TestReconnectResync(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	eng.emit(ev(events.ContainerEventType, events.ActionStart, ctrWeb, nil))
	waitFor(t, "event seen", func() bool { tr.mu.RLock(); defer tr.mu.RUnlock(); return tr.lastEvent > 0 })

	eng.breakStream(errors.New("unexpected EOF"), true)
	waitFor(t, "failed reconnect attempts", func() bool { return len(eng.subscriptions()) >= 3 })
	if !tr.Synced() || findContainer(tr.Snapshot(), ctrWeb) == nil {
		t.Fatal("inventory lost while Docker is down")
	}

	// While down, api was created and connected: only a resync can know.
	eng.addContainer(ctrAPI, "api-1", map[string]string{"tier": "api"}, container.StateRunning)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	eng.setDown(false)
	waitFor(t, "resync after reconnect", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1 && c.Endpoints[0].HostVeth == "vethapi"
	})
	subs := eng.subscriptions()
	if subs[0] != "" || subs[len(subs)-1] == "" || !strings.Contains(subs[len(subs)-1], ".") {
		t.Fatalf("subscriptions' since = %q: want none first, then the last event's time", subs)
	}
	// web's veth survives the resync (same endpoint ID), no re-lookup needed.
	if findContainer(tr.Snapshot(), ctrWeb).Endpoints[0].HostVeth != "vethweb" {
		t.Fatal("web lost its veth")
	}
}

// Resync through the loop replaces state that events missed.
func TestResync(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	eng.removeContainer(ctrWeb)
	eng.disconnect(netFront, ctrWeb)
	if err := tr.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := findContainer(tr.Snapshot(), ctrWeb); c != nil {
		t.Fatalf("web still there after resync: %+v", c)
	}
}

// A network created at runtime, and a runtime `docker network connect`.
func TestNetworkCreateAndConnect(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	const back = "bbbbbbbbbbbb4444444444444444444444444444444444444444444444444444"
	eng.addNetwork(back, "zw-back", "10.231.2.0/24")
	eng.emit(ev(events.NetworkEventType, events.ActionCreate, back, map[string]string{"name": "zw-back", "type": "bridge"}))
	eng.connect(back, ctrWeb, "ep-web-back", "02:42:0a:e7:02:02", "10.231.2.2/24", "")
	ports.set("br-bbbbbbbbbbbb", "02:42:0a:e7:02:02", "vethwebback")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, back, map[string]string{"container": ctrWeb}))
	waitFor(t, "second endpoint", func() bool {
		c := findContainer(tr.Snapshot(), ctrWeb)
		return len(c.Endpoints) == 2 && c.Endpoints[0].NetworkName == "zw-back" && c.Endpoints[0].HostVeth == "vethwebback"
	})
	inv := tr.Snapshot()
	if inv.Networks[0].Name != "zw-back" || inv.Networks[1].Name != "zw-front" {
		t.Fatalf("networks not sorted: %+v", inv.Networks)
	}
	eng.emit(ev(events.NetworkEventType, events.ActionDestroy, back, nil))
	waitFor(t, "network destroyed", func() bool {
		return len(tr.Snapshot().Networks) == 1 && len(findContainer(tr.Snapshot(), ctrWeb).Endpoints) == 1
	})
}

// At "network connect" the peer has not moved yet: the only unclaimed veth
// is taken provisionally, then verified by MAC once the peer moves.
func TestProvisionalThenVerified(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	eng.addContainer(ctrAPI, "api-1", nil, container.StateCreated)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	ports.attach("br-aaaaaaaaaaaa", "vethapi")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "provisional veth", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1 && c.Endpoints[0].HostVeth == "vethapi" && c.Running
	})
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	waitFor(t, "verified", func() bool {
		tr.mu.RLock()
		defer tr.mu.RUnlock()
		return !tr.containers[ctrAPI].provisional[netFront]
	})
}

// Two containers starting side by side on one bridge: no guessing; each
// gets its veth only when its MAC proves it.
func TestAmbiguousPortsWaitForMAC(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports, WithVethGrace(0)) // see the endpoint before its veth
	const ctrDB = "eeeeeeeeeeee5555555555555555555555555555555555555555555555555555"
	eng.addContainer(ctrAPI, "api-1", nil, container.StateCreated)
	eng.addContainer(ctrDB, "db-1", nil, container.StateCreated)
	ports.attach("br-aaaaaaaaaaaa", "vethapi")
	ports.attach("br-aaaaaaaaaaaa", "vethdb")
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "api endpoint", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1
	})
	time.Sleep(50 * time.Millisecond) // several retries
	if v := findContainer(tr.Snapshot(), ctrAPI).Endpoints[0].HostVeth; v != "" {
		t.Fatalf("guessed veth %q among two candidates", v)
	}
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:04", "vethdb") // db's peer moved first
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	waitFor(t, "api verified", func() bool { return findContainer(tr.Snapshot(), ctrAPI).Endpoints[0].HostVeth == "vethapi" })
}

// A provisional veth proven wrong by the MAC is replaced.
func TestProvisionalCorrected(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	eng.addContainer(ctrAPI, "api-1", nil, container.StateCreated)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	ports.attach("br-aaaaaaaaaaaa", "vethother")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "provisional", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1 && c.Endpoints[0].HostVeth == "vethother"
	})
	ports.remove("br-aaaaaaaaaaaa", "vethother")
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	waitFor(t, "corrected", func() bool { return findContainer(tr.Snapshot(), ctrAPI).Endpoints[0].HostVeth == "vethapi" })
}

// An event that cannot be applied (the API call failed) leads to a full
// resync instead of a silently missing endpoint.
func TestFailedEventLeadsToResync(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	eng.addContainer(ctrAPI, "api-1", nil, container.StateRunning)
	eng.connect(netFront, ctrAPI, "ep-api", "02:42:0a:e7:01:03", "10.231.1.3/24", "")
	ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:03", "vethapi")
	eng.mu.Lock()
	eng.inspectFails = 1
	eng.mu.Unlock()
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
	waitFor(t, "endpoint after resync", func() bool {
		c := findContainer(tr.Snapshot(), ctrAPI)
		return c != nil && len(c.Endpoints) == 1 && c.Endpoints[0].HostVeth == "vethapi"
	})
}
