package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// settings.host_network: stop. A container in the host's network namespace
// cannot be filtered, so it is stopped through the Docker API whenever it
// is seen running: a container started again (same ID) is stopped again.
// What is remembered is only what keeps the Docker API from being flooded:
// stops in flight, and when the last one of each running container ended;
// entries go as soon as their container is no longer seen running, so the
// memory is bounded by the host-network containers running now.

const (
	// restopAfter is how long after a finished stop a container still seen
	// running is stopped again (Docker's die event may lag behind the stop).
	restopAfter = time.Second
	// maxStoppedNames bounds the names status shows as stopped.
	maxStoppedNames = 100
)

// hostNetStops is the stop bookkeeping; the loop and the stop goroutines
// share it.
type hostNetStops struct {
	mu      sync.Mutex
	byID    map[string]*hostNetStop
	kickSet bool // a re-check is scheduled
}

type hostNetStop struct {
	inFlight bool
	ended    time.Time // when the last stop call returned
}

// stopHostNetwork stops every running host-network container that has no
// stop in flight and none that ended within restopAfter; for those, it
// schedules a re-check, so a restart never goes unnoticed.
func (d *Daemon) stopHostNetwork(ctx context.Context, p *zones.Policy, inv enforcer.Inventory) {
	s := &d.hostStops
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Settings.HostNetwork != "stop" {
		clear(s.byID)
		return
	}
	if s.byID == nil {
		s.byID = map[string]*hostNetStop{}
	}
	now := time.Now()
	running := map[string]bool{}
	var wait time.Duration
	for i := range inv.Containers {
		c := &inv.Containers[i]
		if c.NetworkMode != "host" || !c.Running {
			continue
		}
		running[c.ID] = true
		st := s.byID[c.ID]
		if st != nil && st.inFlight {
			continue
		}
		if st != nil {
			if left := restopAfter - now.Sub(st.ended); left > 0 {
				if wait == 0 || left < wait {
					wait = left
				}
				continue
			}
		}
		if d.cfg.Stopper == nil {
			if st == nil {
				d.log.Error("host_network: stop, but no Docker client to stop with", "container", c.Name, "id", shortID(c.ID))
				s.byID[c.ID] = &hostNetStop{ended: now.Add(time.Hour)} // say it once an hour
			}
			continue
		}
		s.byID[c.ID] = &hostNetStop{inFlight: true}
		// Off the loop: a stop waits for the container's grace period.
		go d.stopContainer(ctx, c.ID, c.Name)
	}
	for id, st := range s.byID {
		if !running[id] && !st.inFlight {
			delete(s.byID, id)
		}
	}
	if wait > 0 && !s.kickSet {
		s.kickSet = true
		time.AfterFunc(wait, func() {
			s.mu.Lock()
			s.kickSet = false
			s.mu.Unlock()
			d.Changed()
		})
	}
}

func (d *Daemon) stopContainer(ctx context.Context, id, name string) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := d.cfg.Stopper.StopContainer(sctx, id)
	d.hostStops.mu.Lock()
	if st := d.hostStops.byID[id]; st != nil {
		st.inFlight, st.ended = false, time.Now()
	}
	d.hostStops.mu.Unlock()
	if err != nil {
		d.log.Error("cannot stop host-network container", "container", name, "id", shortID(id), "err", err)
		return
	}
	d.log.Warn("stopped host-network container (settings.host_network: stop)", "container", name, "id", shortID(id))
	d.mu.Lock()
	if len(d.stopped) >= maxStoppedNames {
		d.stopped = append(d.stopped[:0], d.stopped[1:]...)
	}
	d.stopped = append(d.stopped, name)
	d.mu.Unlock()
	d.Changed() // look again: a container restarted meanwhile is stopped again
}
