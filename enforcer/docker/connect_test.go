package docker

import (
	"net/netip"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

const (
	brFront = "br-aaaaaaaaaaaa"
	ctrDB   = "eeeeeeeeeeee5555555555555555555555555555555555555555555555555555"
	macAPI  = "02:42:0a:e7:01:03"
)

// slowInspect makes the fake daemon hold every NetworkInspect until the
// returned func is called.
func slowInspect(eng *fakeEngine) (release func()) {
	gate := make(chan struct{})
	eng.mu.Lock()
	eng.inspectGate = gate
	eng.mu.Unlock()
	return func() {
		eng.mu.Lock()
		eng.inspectGate = nil
		eng.mu.Unlock()
		close(gate)
	}
}

func connectAPI(eng *fakeEngine, v4 string) {
	eng.addContainer(ctrAPI, "api-1", nil, container.StateCreated)
	eng.connect(netFront, ctrAPI, "ep-api", macAPI, v4, "")
	eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrAPI}))
}

func apiEndpoint(tr *Tracker) (veth string, v4 netip.Addr, epID string, ok bool) {
	c := findContainer(tr.Snapshot(), ctrAPI)
	if c == nil || len(c.Endpoints) != 1 {
		return "", netip.Addr{}, "", false
	}
	e := c.Endpoints[0]
	return e.HostVeth, e.IPv4, e.EndpointID, true
}

// While the daemon is slow to answer the inspect, the endpoint is taken
// from its sandbox as soon as Docker has configured it there; the inspect
// then confirms it without the endpoint ever leaving the inventory.
func TestConnectClassifiedFromSandboxBeforeInspect(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	release := slowInspect(eng)
	connectAPI(eng, "10.231.1.3/24")
	time.Sleep(20 * time.Millisecond)
	if _, _, _, ok := apiEndpoint(tr); ok {
		t.Fatal("endpoint published before anything showed it")
	}
	ports.configure(brFront, "vethapi", ctrAPI, macAPI, "10.231.1.3", "")
	waitFor(t, "endpoint from the sandbox", func() bool {
		veth, v4, _, ok := apiEndpoint(tr)
		return ok && veth == "vethapi" && v4 == netip.MustParseAddr("10.231.1.3")
	})
	if c := findContainer(tr.Snapshot(), ctrAPI); !c.Running || c.Endpoints[0].MAC != macAPI {
		t.Fatalf("endpoint %+v, running %v", c.Endpoints[0], c.Running)
	}
	release()
	waitFor(t, "confirmed by the inspect", func() bool {
		_, _, epID, _ := apiEndpoint(tr)
		return epID == "ep-api"
	})
	if veth, _, _, ok := apiEndpoint(tr); !ok || veth != "vethapi" {
		t.Fatalf("after confirmation: veth %q", veth)
	}
}

// A configured sandbox port is never taken for a container whose process
// does not live behind it, nor with an address outside the network.
func TestSandboxPortNeedsOwnerAndSubnet(t *testing.T) {
	for _, tc := range []struct{ name, owner, v4 string }{
		{"another container's sandbox", ctrDB, "10.231.1.3"},
		{"address outside the network", ctrAPI, "10.9.9.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, ports := fixture()
			tr := startTracker(t, eng, ports)
			release := slowInspect(eng)
			connectAPI(eng, "10.231.1.3/24")
			ports.configure(brFront, "vethx", tc.owner, macAPI, tc.v4, "")
			time.Sleep(50 * time.Millisecond)
			if veth, _, _, ok := apiEndpoint(tr); ok {
				t.Fatalf("endpoint published with veth %q", veth)
			}
			release()
			waitFor(t, "endpoint from the inspect", func() bool {
				_, v4, epID, ok := apiEndpoint(tr)
				return ok && epID == "ep-api" && v4 == netip.MustParseAddr("10.231.1.3")
			})
		})
	}
}

// When the sandbox showed other addresses than Docker's (the container
// changed its own), Docker's win once the inspect arrives.
func TestInspectOverridesSandbox(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	release := slowInspect(eng)
	connectAPI(eng, "10.231.1.3/24")
	ports.configure(brFront, "vethapi", ctrAPI, macAPI, "10.231.1.7", "")
	waitFor(t, "endpoint from the sandbox", func() bool {
		_, v4, _, ok := apiEndpoint(tr)
		return ok && v4 == netip.MustParseAddr("10.231.1.7")
	})
	release()
	waitFor(t, "Docker's address", func() bool {
		veth, v4, epID, ok := apiEndpoint(tr)
		return ok && epID == "ep-api" && v4 == netip.MustParseAddr("10.231.1.3") && veth == "vethapi"
	})
}

// An inspect that returns after the container left the network changes
// nothing.
func TestInspectAfterDisconnectIsDropped(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	release := slowInspect(eng)
	connectAPI(eng, "10.231.1.3/24")
	eng.emit(ev(events.NetworkEventType, events.ActionDisconnect, netFront, map[string]string{"container": ctrAPI}))
	time.Sleep(20 * time.Millisecond)
	ports.configure(brFront, "vethapi", ctrAPI, macAPI, "10.231.1.3", "")
	time.Sleep(20 * time.Millisecond)
	release() // the fake still lists the endpoint: only the event says it left
	time.Sleep(50 * time.Millisecond)
	if veth, _, _, ok := apiEndpoint(tr); ok {
		t.Fatalf("endpoint of a disconnected container (veth %q)", veth)
	}
}
