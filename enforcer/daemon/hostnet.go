package daemon

import (
	"context"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

// stopHostNetwork enforces settings.host_network: stop. A container in the
// host's network namespace cannot be filtered, so it is stopped through the
// Docker API (once per container; a failure is logged, not retried in a loop).
func (d *Daemon) stopHostNetwork(ctx context.Context, p *zones.Policy, inv enforcer.Inventory) {
	if p.Settings.HostNetwork != "stop" {
		return
	}
	for i := range inv.Containers {
		c := &inv.Containers[i]
		if c.NetworkMode != "host" || !c.Running || d.stopAttempted[c.ID] {
			continue
		}
		d.stopAttempted[c.ID] = true
		if d.cfg.Stopper == nil {
			d.log.Error("host_network: stop, but no Docker client to stop with", "container", c.Name, "id", shortID(c.ID))
			continue
		}
		// Off the loop: a stop waits for the container's grace period.
		go d.stopContainer(ctx, c.ID, c.Name)
	}
}

func (d *Daemon) stopContainer(ctx context.Context, id, name string) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.cfg.Stopper.StopContainer(sctx, id); err != nil {
		d.log.Error("cannot stop host-network container", "container", name, "id", shortID(id), "err", err)
		return
	}
	d.log.Warn("stopped host-network container (settings.host_network: stop)", "container", name, "id", shortID(id))
	d.mu.Lock()
	d.stopped = append(d.stopped, name)
	d.mu.Unlock()
}
