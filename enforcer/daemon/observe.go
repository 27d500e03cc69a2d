package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/observe"
)

// Observations for `zonewall learn`. In audit mode every connection a
// container opens or receives passes the kernel, so the kernel's
// new-connection events (ConnEvents) are all of them, allowed or would-be
// dropped; they are read only in audit mode, so enforce mode pays nothing.
// In enforce mode, and in audit mode when the events cannot be read, the
// logged drops are recorded instead (RecordDrop), which is what
// `learn --extend` needs to propose what the policy lacks.

// ConnEvent is a new connection seen by the kernel, after NAT: Dst and
// DstPort are the real destination (a published port's container), Src the
// real source (before masquerade). Source ports are not kept.
type ConnEvent struct {
	Time    time.Time
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	DstPort uint16
}

// ConnReader delivers new-connection events (enforcer/ctevents).
type ConnReader interface {
	Read(ctx context.Context) (ConnEvent, error)
	Close() error
}

// observer owns the event reader's lifetime (loop goroutine only) and the
// state shown by status.
type observer struct {
	store *observe.Store
	path  string // "" when nothing is persisted

	mu     sync.Mutex
	how    string // how connections are recorded now, for status
	viaCT  bool   // conntrack events are being read
	cancel context.CancelFunc
	done   chan struct{}
}

// observeHow is safe under d.mu: obs.mu is never held while taking d.mu.
func (d *Daemon) observeHow() (string, bool) {
	d.obs.mu.Lock()
	defer d.obs.mu.Unlock()
	return d.obs.how, d.obs.viaCT
}

func (d *Daemon) setObserveHow(how string, viaCT bool) {
	d.obs.mu.Lock()
	d.obs.how, d.obs.viaCT = how, viaCT
	d.obs.mu.Unlock()
}

// loadObservations reads the saved observations; a corrupt file is set
// aside by the store and reported, never fatal.
func (d *Daemon) loadObservations() {
	if d.obs.path == "" {
		return
	}
	if err := d.obs.store.Load(d.obs.path); err != nil {
		d.log.Error("saved observations not loaded", "err", err)
		return
	}
	if st := d.obs.store.Stats(); st.Keys > 0 {
		d.log.Info("observations loaded", "keys", st.Keys, "file", d.obs.path)
	}
}

// saveObservations runs until ctx ends, writing the store when it changed.
func (d *Daemon) saveObservations(ctx context.Context) {
	if d.obs.path == "" {
		return
	}
	t := time.NewTicker(d.cfg.ObserveSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.flushObservations()
		}
	}
}

func (d *Daemon) flushObservations() {
	if d.obs.path == "" || !d.obs.store.Dirty() {
		return
	}
	if err := d.obs.store.Save(d.obs.path); err != nil {
		d.log.Error("cannot save observations", "err", err)
	}
}

// updateObserving starts reading connection events when the policy is in
// audit mode and stops in enforce mode. Called from the loop only.
func (d *Daemon) updateObserving(ctx context.Context) {
	d.mu.Lock()
	audit := d.policy != nil && d.policy.p.Settings.Mode == "audit"
	d.mu.Unlock()
	running := d.obs.cancel != nil
	switch {
	case audit && !running:
		if d.cfg.ConnEvents == nil {
			d.setObserveHow("audit: drops only (no connection events)", false)
			return
		}
		r, err := d.cfg.ConnEvents()
		if err != nil {
			d.log.Error("allowed connections are not observed: cannot read connection events; recording drops only", "err", err)
			d.setObserveHow("audit: drops only ("+err.Error()+")", false)
			return
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		d.obs.cancel, d.obs.done = cancel, done
		d.setObserveHow("audit: every new connection (conntrack events)", true)
		go func() {
			defer close(done)
			defer r.Close()
			d.readConnEvents(rctx, r)
		}()
		d.log.Info("observing connections for zonewall learn (audit mode)")
	case !audit && running:
		d.stopObserving()
		d.setObserveHow("enforce: drops only", false)
	case !audit:
		d.setObserveHow("enforce: drops only", false)
	}
}

func (d *Daemon) stopObserving() {
	if d.obs.cancel == nil {
		return
	}
	d.obs.cancel()
	<-d.obs.done
	d.obs.cancel, d.obs.done = nil, nil
}

func (d *Daemon) readConnEvents(ctx context.Context, r ConnReader) {
	for {
		ev, err := r.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("connection events stopped; recording drops only", "err", err)
				d.setObserveHow("audit: drops only (events stopped: "+err.Error()+")", false)
			}
			return
		}
		d.RecordConn(ev)
	}
}

// RecordConn records a new connection if a container is on either side.
func (d *Daemon) RecordConn(ev ConnEvent) {
	d.mu.Lock()
	v := d.view
	d.mu.Unlock()
	if v == nil {
		return
	}
	d.recordObservation(v, ev.Time, ev.Proto, ev.Src, ev.Dst, ev.DstPort)
}

// recordDropObservation records a logged drop when connection events do
// not already cover it (they do for every connection in audit mode).
func (d *Daemon) recordDropObservation(v *view, p DropPacket) {
	if _, viaCT := d.observeHow(); viaCT || v == nil || !p.Src.IsValid() {
		return
	}
	d.recordObservation(v, p.Time, p.Proto, p.Src, p.Dst, p.DstPort)
}

func (d *Daemon) recordObservation(v *view, at time.Time, proto uint8, src, dst netip.Addr, dport uint16) {
	from, to := v.observed(src), v.observed(dst)
	if from.Kind != observe.KindContainer && to.Kind != observe.KindContainer {
		return // not container traffic
	}
	switch proto {
	case 6, 17, 132:
	default:
		dport = 0 // only transport protocols have ports
	}
	if at.IsZero() {
		at = time.Now()
	}
	if to.Kind == observe.KindWorld && d.cfg.Names != nil {
		// The name the forwarder last resolved this address from: learn
		// proposes it as a domain flow instead of the address.
		to.Domain = d.cfg.Names.NameOf(dst)
	}
	d.obs.store.Record(observe.Conn{From: from, To: to, Proto: protoName(proto, true), Port: dport, Time: at})
}

// observed names one side of a connection for the observation store.
func (v *view) observed(a netip.Addr) observe.Endpoint {
	a = a.Unmap()
	if c := v.index().byAddr[a]; c != nil {
		return containerEndpoint(c, v.members[c.ID].Zone)
	}
	if v.index().hostAddrs[a] {
		return observe.Endpoint{Kind: observe.KindHost}
	}
	return observe.Endpoint{Kind: observe.KindWorld, Addr: a}
}

func containerEndpoint(c *enforcer.Container, zone string) observe.Endpoint {
	ep := observe.Endpoint{Kind: observe.KindContainer, Zone: zone, Compose: composeService(c), Image: c.Image}
	if ep.Compose == "" {
		ep.Name = c.Name // compose replicas share an identity; a plain container is itself
	}
	return ep
}

// Observations answers `zonewall learn` (control.ObservationsBackend).
func (d *Daemon) Observations(since time.Duration) control.Observations {
	var from time.Time
	if since > 0 {
		from = time.Now().Add(-since)
	}
	how, _ := d.observeHow()
	d.mu.Lock()
	mode := ""
	if d.policy != nil {
		mode = d.policy.p.Settings.Mode
	}
	d.mu.Unlock()
	return control.Observations{Mode: mode, Observing: how, Stats: d.obs.store.Stats(), Items: d.obs.store.Observations(from)}
}

// observationsPath is where the store is kept in state_dir.
func observationsPath(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, observe.FileName)
}
