package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/zonewall/zonewall/enforcer"
)

// Tracker keeps a live enforcer.Inventory of one Docker Engine.
type Tracker struct {
	eng      engine
	log      *slog.Logger
	ports    portFinder // nil until Run opens it (or injected by tests)
	netnsDir string
	backoff  time.Duration // first retry delay while Docker is unreachable
	maxWait  time.Duration // longest retry delay
	// vethGrace is how long an endpoint without a veth is withheld from
	// snapshots (withheld.go); 0 publishes it at once.
	vethGrace time.Duration

	synced  atomic.Bool
	downErr atomic.Pointer[string] // why Docker does not answer; nil while it does
	resync  chan chan error        // Resync requests served by Run's loop
	syncMu  sync.Mutex             // one full listing at a time
	// needResync is set when an event could not be applied (an API call
	// failed): only a full listing can make up for it.
	needResync atomic.Bool

	mu         sync.RWMutex
	networks   map[string]enforcer.Network // by ID
	containers map[string]*tracked         // by ID
	lastEvent  int64                       // unix nanoseconds of the newest event seen

	// Snapshot bookkeeping (snapshot.go), under mu: what changed since the
	// last snapshot, and the last snapshot itself.
	netsDirty    bool // networks map written
	membersDirty bool // containers removed (or the map replaced)
	revCounter   uint64
	snap         snapCache
	awaiting     map[string]*tracked // containers with withheld endpoints (withheld.go)

	// Connect events (connect.go): the loop's channel for inspect results
	// (nil: no loop runs, inspect at once) and the generation counter.
	inspected chan inspectResult
	connects  uint64
}

// tracked is one container; its endpoints are kept by network ID because
// they change through their own events.
type tracked struct {
	c           enforcer.Container // Endpoints unused here
	eps         map[string]enforcer.Endpoint
	provisional map[string]bool // network IDs whose veth is not verified by MAC yet
	dirty       bool            // changed since the last snapshot (c or eps)
	// vethWait holds when an endpoint announced by "network connect"
	// without a known veth was seen; snapshots leave it out for a grace
	// period (withheld.go).
	vethWait map[string]time.Time
	// pending: connects waiting for their inspect (or the kernel);
	// unconfirmed: endpoints read from the kernel, by the generation of
	// the connect whose inspect will confirm them (connect.go).
	pending     map[string]pendingConnect
	unconfirmed map[string]uint64
}

// setFromList takes a ContainerList entry. Attached endpoints mean Docker
// is starting the container (the list says "created" until the start
// completes), and its process may send packets before the start event.
func (tc *tracked) setFromList(s container.Summary) {
	tc.c = toContainer(s)
	tc.c.Running = tc.c.Running || len(tc.eps) > 0 || len(tc.pending) > 0
	tc.dirty = true
}

func newTracked(c enforcer.Container) *tracked {
	return &tracked{c: c, eps: map[string]enforcer.Endpoint{}, provisional: map[string]bool{}, dirty: true}
}

// Option configures a Tracker.
type Option func(*Tracker)

// WithNetNSDir sets where Docker's sandbox namespaces are (DefaultNetNSDir).
func WithNetNSDir(dir string) Option { return func(t *Tracker) { t.netnsDir = dir } }

// WithRetry sets the first and the longest delay between reconnection
// attempts while Docker is unreachable (100ms and 5s by default).
func WithRetry(first, longest time.Duration) Option {
	return func(t *Tracker) { t.backoff, t.maxWait = first, longest }
}

// WithVethGrace sets how long an endpoint whose veth is not known yet is
// left out of snapshots (DefaultVethGrace; 0: never).
func WithVethGrace(d time.Duration) Option { return func(t *Tracker) { t.vethGrace = d } }

// NewTracker returns a Tracker reading from cli. Call Run to start it.
func NewTracker(cli *client.Client, log *slog.Logger, opts ...Option) *Tracker {
	return newTracker(cli, log, nil, opts...)
}

func newTracker(eng engine, log *slog.Logger, ports portFinder, opts ...Option) *Tracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		eng: eng, log: log, ports: ports,
		netnsDir: DefaultNetNSDir, backoff: 100 * time.Millisecond, maxWait: 5 * time.Second,
		vethGrace:  DefaultVethGrace,
		resync:     make(chan chan error),
		networks:   map[string]enforcer.Network{},
		containers: map[string]*tracked{},
		// Revisions of different trackers (processes, one-shot reads)
		// must not collide: start from the clock.
		revCounter: uint64(time.Now().UnixNano()),
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Synced reports whether the first full inventory has been read. It stays
// true while Docker is unreachable: the last inventory remains the best
// knowledge, and the enforcer keeps enforcing it.
func (t *Tracker) Synced() bool { return t.synced.Load() }

// Resync re-lists every network and container. While Run is running the
// request is served by its loop, so it never races with event handling.
func (t *Tracker) Resync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case t.resync <- reply:
		select {
		case err := <-reply:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	case <-ctx.Done():
		return ctx.Err()
	default:
		return t.fullSync(ctx) // Run is not looping (not started, or reconnecting)
	}
}

// Run lists everything, then follows Docker's events and link updates until
// ctx ends, calling changed after every change of the inventory. Losing the
// event stream (dockerd restarts) leads to a re-subscription from the last
// event seen and a full resync, retried with backoff while Docker is down.
func (t *Tracker) Run(ctx context.Context, changed func()) error {
	if changed == nil {
		changed = func() {}
	}
	if t.ports == nil {
		p, err := newNetlinkPorts(t.netnsDir)
		if err != nil {
			return fmt.Errorf("docker tracker: %w", err)
		}
		t.ports = p
		defer p.Close()
	}
	bridges := make(chan string, 64)
	go t.watchPorts(ctx, bridges)

	wait := t.backoff
	for {
		err := t.follow(ctx, changed, bridges, func() { wait = t.backoff; t.downErr.Store(nil) })
		if ctx.Err() != nil {
			return nil
		}
		msg := fmt.Sprint(err)
		t.downErr.Store(&msg)
		t.log.Warn("docker unreachable or event stream lost; retrying", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, t.maxWait)
	}
}

// watchPorts forwards link updates (bridge names) to the loop, restarting the
// subscription if the kernel ends it.
func (t *Tracker) watchPorts(ctx context.Context, bridges chan<- string) {
	for ctx.Err() == nil {
		err := t.ports.Watch(ctx, func(bridge string) {
			select {
			case bridges <- bridge:
			default: // the loop is behind; its retry timer catches up
			}
		})
		if ctx.Err() != nil {
			return
		}
		t.log.Warn("link update subscription ended; resubscribing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// errStreamEnded marks the event stream closing without an error.
var errStreamEnded = errors.New("event stream ended")

// Unreachable says why Docker does not answer ("" while it does): the
// error of the last failed subscription or listing, until one succeeds.
func (t *Tracker) Unreachable() string {
	if p := t.downErr.Load(); p != nil {
		return *p
	}
	return ""
}
