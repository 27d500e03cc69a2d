package daemon

import (
	"fmt"
	"testing"
	"time"
)

func (f *fakeInventory) setRunning(id string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.inv.Containers {
		if f.inv.Containers[i].ID == id {
			f.inv.Containers[i].Running = running
		}
	}
}

func (f *fakeInventory) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cs := f.inv.Containers[:0]
	for _, c := range f.inv.Containers {
		if c.ID != id {
			cs = append(cs, c)
		}
	}
	f.inv.Containers = cs
}

func (s *fakeStopper) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stopped)
}

func (d *Daemon) hostStopEntries() int {
	d.hostStops.mu.Lock()
	defer d.hostStops.mu.Unlock()
	return len(d.hostStops.byID)
}

// A host-network container started again with the same ID is stopped
// again, whether or not the daemon saw it stopped in between.
func TestHostNetworkStopAfterRestart(t *testing.T) {
	h := newHarness(t, zonesYAML+"settings:\n  host_network: stop\n")
	h.inv.synced.Store(true)
	c := testContainer("hhhh1", "web-host", "host", "10.99.0.1")
	c.Endpoints = nil
	h.inv.add(c)
	h.start(nil)
	h.waitFor("first stop", func() bool { return h.stop.count() == 1 })

	// Seen stopped, then started again.
	h.inv.setRunning("hhhh1", false)
	h.d.Changed()
	h.waitFor("entry dropped once stopped", func() bool { return h.d.hostStopEntries() == 0 })
	h.inv.setRunning("hhhh1", true)
	h.d.Changed()
	h.waitFor("second stop", func() bool { return h.stop.count() == 2 })

	// Restarted between two looks (never seen stopped): stopped again
	// after restopAfter, with no further event.
	deadline := time.Now().Add(restopAfter + 2*time.Second)
	for h.stop.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("a container still running %v after its stop was not stopped again", restopAfter)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The bookkeeping holds only running host-network containers.
func TestHostNetworkStopMemoryIsBounded(t *testing.T) {
	h := newHarness(t, zonesYAML+"settings:\n  host_network: stop\n")
	h.inv.synced.Store(true)
	h.start(nil)
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("hh%04d", i)
		c := testContainer(id, "host-"+id, "host", "10.99.0.1")
		c.Endpoints = nil
		h.inv.add(c)
		h.d.Changed()
		h.waitFor("stop "+id, func() bool { return h.stop.count() == i+1 })
		h.inv.remove(id)
		h.d.Changed()
	}
	h.waitFor("entries dropped", func() bool { return h.d.hostStopEntries() == 0 })
	if n := len(h.d.Status().StoppedHostNet); n != 50 {
		t.Errorf("status lists %d stopped containers, want 50", n)
	}
}
