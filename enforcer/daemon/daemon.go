// Package daemon is `zonewall run`: one reconcile loop that turns the zone
// files and Docker's containers into the kernel's ruleset.
//
// Docker events, zone-file changes (fsnotify, SIGHUP) and drift checks only
// mark the state dirty; a single goroutine recomputes the desired ruleset
// (a pure compile) and applies it, at once when idle and at most every
// MinInterval during bursts (kube-proxy's BoundedFrequencyRunner, with its
// burst allowance so the few events of one container start are not delayed). Nothing is
// applied from Docker's state before its first full inventory; until then the
// last applied ruleset from state_dir is enforced, or, without one, a
// fail-closed baseline (ready.go).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/observe"
	"github.com/zonewall/zonewall/enforcer/state"
	"github.com/zonewall/zonewall/zones"
)

// Config wires a Daemon. Engine, Kernel, Inventory and Log are required.
type Config struct {
	ZonesDir  string
	Engine    Engine
	Kernel    Kernel
	Inventory Inventory
	Log       *slog.Logger

	Store   *state.Store     // nil: no boot state, nothing persisted
	Stopper ContainerStopper // nil: host_network: stop only reports
	Notify  Notifier         // nil: no service manager
	Metrics Metrics          // nil: not exported
	Names   Names            // nil: no egress by name (domain flows open nothing)

	// BridgeNetfilter checks that br_netfilter hands bridged traffic to the
	// inet hooks: a short state for status ("on", ...), or why it does not.
	BridgeNetfilter func() (string, error)
	// HostAddrs lists this host's own addresses (explain, drops).
	HostAddrs func() []netip.Addr
	// DockerEngine describes the Docker Engine for audit; nil: not reported.
	DockerEngine func(context.Context) (control.DockerEngine, error)

	MinInterval    time.Duration // between two applies once Burst is used up; default 20ms
	Burst          int           // applies that may run back to back; default 4
	VerifyInterval time.Duration // drift check; default 500ms
	ReloadDebounce time.Duration // zone-file events settle; default 50ms
	// ZonesPollInterval is how often zones_dir is re-resolved and its files
	// compared, for swaps and changes whose events were missed; default 1s.
	ZonesPollInterval time.Duration
	RetryMin          time.Duration // first retry after a failed apply; default 100ms
	RetryMax          time.Duration // retry backoff cap; default 5s
	DropBuffer        int           // recent drops kept; default 1000
	// DropRecords gets a record of each drop (the journal), at most
	// DropRecordRate per second after a burst of DropRecordBurst; nil: none.
	DropRecords     DropRecorder
	DropRecordRate  float64 // default DefaultDropRecordRate
	DropRecordBurst int     // default DefaultDropRecordBurst
	// WatchZonesDir enables fsnotify on ZonesDir (SIGHUP works regardless).
	WatchZonesDir bool

	// ConnEvents opens the kernel's new-connection events, read in audit
	// mode to observe every connection (observe.go); nil: drops only.
	ConnEvents          func() (ConnReader, error)
	ObserveCap          int           // distinct observations kept; default observe.DefaultCap
	ObserveSaveInterval time.Duration // how often changed observations are saved; default 10s
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinInterval, 20*time.Millisecond)
	def(&c.VerifyInterval, 500*time.Millisecond)
	def(&c.ReloadDebounce, 50*time.Millisecond)
	def(&c.ZonesPollInterval, time.Second)
	def(&c.RetryMin, 100*time.Millisecond)
	def(&c.RetryMax, 5*time.Second)
	if c.Burst <= 0 {
		c.Burst = 4
	}
	def(&c.ObserveSaveInterval, 10*time.Second)
	if c.DropBuffer <= 0 {
		c.DropBuffer = 1000
	}
	if c.DropRecordRate <= 0 {
		c.DropRecordRate = DefaultDropRecordRate
	}
	if c.DropRecordBurst <= 0 {
		c.DropRecordBurst = DefaultDropRecordBurst
	}
	if c.Notify == nil {
		c.Notify = nopNotifier{}
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
	if c.HostAddrs == nil {
		c.HostAddrs = InterfaceAddrs
	}
}

// Daemon is the running enforcer. Its exported methods are safe for
// concurrent use; the kernel is only touched from Run's goroutine.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	dirty  chan struct{} // Changed: recompute and apply
	reload chan struct{} // Reload: read the zone files first

	mu          sync.Mutex
	policy      *loadedPolicy // nil until a valid policy is known
	reloadErr   *control.ReloadError
	findings    []control.Finding // of the last compile
	lastApply   *control.ApplyStatus
	lastOK      time.Time
	synced      bool
	bootState   bool
	brnf        string
	view        *view // containers by address, zones by container, for explain and drops
	stopped     []string
	applies     int // kernel transactions (successful or not)
	compiles    int // syncs that compiled, whether or not the kernel was called
	unchanged   int // compiles whose ruleset the kernel already held: no transaction
	applyFails  int
	drifts      int
	reloadFail  int
	verifyFails int
	lastRuleset Ruleset       // last accepted by the kernel, for drop attribution
	viewMatches atomic.Uint64 // ZoneOf calls made by buildView (memo misses)
	hostAddrs   []netip.Addr
	hostAddrsAt time.Time

	// Owned by the loop goroutine.
	needFull       bool
	enforcing      bool          // a ruleset of ours is in the kernel (boot, baseline or sync)
	readySent      bool          // READY=1 went to the service manager
	baselineOf     *zones.Policy // policy of the baseline in the kernel; nil once synced or booted from state
	retryDelay     time.Duration
	warnedNoPolicy bool
	applied        struct { // input of the last successful sync apply
		policy *zones.Policy
		inv    enforcer.Inventory
		rev    uint64 // the inventory's revision; 0: unknown, compare inv
	}

	drops       *dropLog
	recordLimit *recordLimiter // of cfg.DropRecords
	saver       *saver
	hostStops   hostNetStops // settings.host_network: stop
	obs         *observer
}

// loadedPolicy is a valid policy and where it came from.
type loadedPolicy struct {
	p        *zones.Policy
	files    state.Policy
	source   string // "zones_dir" or "state"
	loadedAt time.Time
}

// New checks the configuration; Run starts the work.
func New(cfg Config) (*Daemon, error) {
	if cfg.Engine == nil || cfg.Kernel == nil || cfg.Inventory == nil || cfg.Log == nil {
		return nil, errors.New("daemon: Engine, Kernel, Inventory and Log are required")
	}
	cfg.setDefaults()
	d := &Daemon{
		cfg:         cfg,
		log:         cfg.Log,
		started:     time.Now(),
		dirty:       make(chan struct{}, 1),
		reload:      make(chan struct{}, 1),
		needFull:    true, // the first apply of a daemon is always a full rebuild
		drops:       newDropLog(cfg.DropBuffer),
		recordLimit: newRecordLimiter(cfg.DropRecordRate, cfg.DropRecordBurst),
		obs:         &observer{store: observe.New(cfg.ObserveCap)},
	}
	if cfg.Store != nil {
		d.saver = newSaver(cfg.Store, cfg.Log)
		d.obs.path = observationsPath(cfg.Store.Dir())
	}
	return d, nil
}

// Changed marks the desired state dirty (a Docker event, a drift, ...).
// It never blocks; bursts coalesce into one apply.
func (d *Daemon) Changed() {
	select {
	case d.dirty <- struct{}{}:
	default:
	}
}

// Reload asks for the zone files to be read again (SIGHUP, fsnotify).
func (d *Daemon) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// Run enforces until ctx ends. On return the ruleset stays in the kernel:
// enforcement continues while the daemon restarts.
func (d *Daemon) Run(ctx context.Context) error {
	// The saved ruleset goes back into the kernel before anything else is
	// read (zone files, Docker, sysctls): whatever those inputs do, a host
	// that was enforcing before a reboot is enforcing again first.
	d.bootFromState()
	d.checkBridgeNetfilter()
	// Watch before the first read, so no change falls between the two.
	if d.cfg.WatchZonesDir {
		if err := d.watchZonesDir(ctx); err != nil {
			d.log.Warn("zone files are not watched; send SIGHUP after changing them", "dir", d.cfg.ZonesDir, "err", err)
		}
	}
	d.loadInitialPolicy()
	d.loadObservations()
	d.updateObserving(ctx)
	go d.saveObservations(ctx)
	if d.saver != nil {
		go d.saver.run(ctx)
	}
	d.loop(ctx)
	d.cfg.Notify.Stopping()
	d.stopObserving()
	d.flushObservations()
	if d.saver != nil {
		d.saver.flush()
	}
	d.log.Info("stopped; the ruleset stays in the kernel")
	return nil
}

func (d *Daemon) checkBridgeNetfilter() {
	st := "unknown"
	if d.cfg.BridgeNetfilter != nil {
		var err error
		if st, err = d.cfg.BridgeNetfilter(); err != nil {
			st = "off: " + err.Error()
			d.log.Error("br_netfilter is off: traffic between containers on one bridge is NOT filtered", "err", err)
		}
	}
	d.mu.Lock()
	d.brnf = st
	d.mu.Unlock()
}

// loop is the only goroutine that touches the kernel.
func (d *Daemon) loop(ctx context.Context) {
	verify := time.NewTicker(d.cfg.VerifyInterval)
	defer verify.Stop()
	var watchdog <-chan time.Time
	if iv := d.cfg.Notify.WatchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		watchdog = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	dirty := true // the first full inventory may already be there
	reloadPending := false
	limit := newBurstLimiter(d.cfg.MinInterval, d.cfg.Burst)
	var notBefore time.Time
	for {
		now := time.Now()
		if dirty {
			at := limit.next(now)
			if notBefore.After(at) {
				at = notBefore
			}
			if !now.Before(at) {
				if reloadPending {
					d.reloadPolicy()
					reloadPending = false
				}
				limit.take(now)
				res := d.sync(ctx)
				d.updateObserving(ctx) // the mode may have changed with the policy
				switch res {
				case syncDone:
					dirty, notBefore = false, time.Time{}
				case syncWaiting:
					// Docker not read yet: look again soon; its tracker also calls Changed.
					notBefore = now.Add(50 * time.Millisecond)
				case syncFailed:
					notBefore = now.Add(d.nextRetry())
				}
				continue
			}
			timer.Reset(at.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-d.dirty:
			dirty = true
		case <-d.reload:
			dirty, reloadPending = true, true
		case <-verify.C:
			if d.verify() {
				dirty = true
			}
		case <-watchdog:
			d.cfg.Notify.Watchdog()
		case <-timer.C:
		}
		timer.Stop()
	}
}

// nextRetry backs off exponentially between failed applies.
func (d *Daemon) nextRetry() time.Duration {
	if d.retryDelay == 0 {
		d.retryDelay = d.cfg.RetryMin
	} else if d.retryDelay *= 2; d.retryDelay > d.cfg.RetryMax {
		d.retryDelay = d.cfg.RetryMax
	}
	return d.retryDelay
}

// verify checks for drift; true means a rebuild is needed.
func (d *Daemon) verify() bool {
	if !d.enforcing {
		return false // nothing of ours is expected in the kernel yet
	}
	drift, err := d.cfg.Kernel.Verify()
	if err != nil {
		d.mu.Lock()
		d.verifyFails++
		d.mu.Unlock()
		d.log.Warn("drift check failed", "err", err)
		return false
	}
	if drift == nil {
		return false
	}
	d.mu.Lock()
	d.drifts++
	d.mu.Unlock()
	d.cfg.Metrics.DriftRepaired()
	d.log.Warn("ruleset drift: our tables were changed by someone else; rebuilding", "drift", drift)
	d.needFull = true
	return true
}

type syncResult int

const (
	syncDone syncResult = iota
	syncWaiting
	syncFailed
)

// sync compiles the desired state and applies it.
func (d *Daemon) sync(ctx context.Context) syncResult {
	d.mu.Lock()
	pol := d.policy
	d.mu.Unlock()
	if pol == nil {
		d.readyWithoutPolicy()
		return syncDone
	}
	if !d.cfg.Inventory.Synced() {
		// A baseline follows policy reloads (audit mode changes its drops);
		// a ruleset restored from state stays until Docker is read.
		if !d.enforcing || (d.baselineOf != nil && d.baselineOf != pol.p) {
			if err := d.applyBaseline(pol); err != nil {
				return syncFailed
			}
		}
		return syncWaiting
	}
	inv, rev := d.snapshot()
	if !d.needFull && d.applied.policy == pol.p && d.sameInventory(inv, rev) {
		// Compile is pure: same input, same ruleset. Events that change
		// nothing we enforce (health checks, exec, ...) cost no apply.
		d.stopHostNetwork(ctx, pol.p, inv)
		return syncDone
	}
	rs, findings := d.cfg.Engine.Compile(pol.p, inv)
	// Apply first: a new container's first packet waits on it. The
	// bookkeeping below only serves status, explain and drops.
	var err error
	if d.kernelHolds(rs) {
		d.skipApply(rs)
	} else {
		err = d.apply(rs, "sync")
	}
	if err == nil {
		d.applied.policy, d.applied.inv, d.applied.rev = pol.p, inv, rev
		d.baselineOf = nil
		d.enforceNames(pol.p, rs)
	}

	v := d.buildView(pol.p, inv)
	d.mu.Lock()
	d.synced, d.findings, d.view = true, findings, v
	d.mu.Unlock()
	d.cfg.Metrics.ZoneMembers(v.zoneCounts())
	d.cfg.Metrics.Reported(len(findings))
	d.cfg.Metrics.SetReported(findingsByKind(findings))
	d.stopHostNetwork(ctx, pol.p, inv)
	if err != nil {
		return syncFailed
	}
	if d.saver != nil {
		d.saver.save(state.Applied{Policy: pol.files, Inventory: inv, AppliedAt: time.Now()}, rs)
	}
	return syncDone
}

// apply programs rs, recording the outcome for status and metrics.
func (d *Daemon) apply(rs Ruleset, reason string) error {
	full := d.needFull
	start := time.Now()
	stats, err := d.cfg.Kernel.Apply(rs, full)
	dur := time.Since(start)
	st := &control.ApplyStatus{At: start, Duration: dur, Full: full || stats.Full, Reason: reason, Counts: stats.Counts}
	d.cfg.Metrics.Applied(st.Full, dur, err)
	d.mu.Lock()
	d.applies++
	if err != nil {
		d.applyFails++
		st.Error = err.Error()
	} else {
		d.lastOK, d.lastRuleset = start, rs
	}
	st.LastSuccess = d.lastOK
	d.lastApply = st
	d.mu.Unlock()
	if err != nil {
		d.needFull = true // a failed batch leaves us unsure of the kernel's state
		d.log.Error("apply failed; the next apply is a full rebuild", "reason", reason, "full", full, "err", err)
		if d.log.Enabled(context.Background(), slog.LevelDebug) {
			d.log.Debug("rejected ruleset", "nft", numberLines(rs.String()))
		}
		return fmt.Errorf("apply: %w", err)
	}
	d.needFull = false
	d.retryDelay = 0
	d.log.Debug("applied", "reason", reason, "full", st.Full, "duration", dur, "counts", stats.Counts)
	if st.Full && d.log.Enabled(context.Background(), slog.LevelDebug) {
		d.log.Debug("ruleset", "nft", rs.String()) // rendering costs; only when someone reads it
	}
	if !d.enforcing {
		d.enforcing = true
		d.log.Info("enforcing", "reason", reason, "full", st.Full, "duration", dur)
	}
	d.notifyReady()
	return nil
}
