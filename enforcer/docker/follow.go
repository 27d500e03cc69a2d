package docker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// watchedActions are the events that change the inventory.
var watchedActions = []events.Action{
	events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionDestroy,
	events.ActionRename, events.ActionConnect, events.ActionDisconnect,
}

// follow runs one subscription: subscribe first (so nothing is missed),
// list everything, then apply events until the stream breaks.
func (t *Tracker) follow(ctx context.Context, changed func(), bridges <-chan string, healthy func()) error {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()

	args := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("type", string(events.NetworkEventType)))
	for _, a := range watchedActions {
		args.Add("event", string(a))
	}
	opts := events.ListOptions{Filters: args}
	t.mu.RLock()
	if t.lastEvent > 0 {
		// Replay what happened while we were away; handlers are idempotent.
		opts.Since = strconv.FormatInt(t.lastEvent/1e9, 10) + "." + fmt.Sprintf("%09d", t.lastEvent%1e9)
	}
	t.mu.RUnlock()
	msgs, errs := t.eng.Events(sub, opts)
	// Inspects of connect events report here (connect.go); results of an
	// earlier subscription are dropped with its channel.
	t.inspected = make(chan inspectResult, 64)
	defer func() { t.inspected = nil }()
	inspected := t.inspected

	if err := t.fullSync(ctx); err != nil {
		return err
	}
	if !t.synced.Swap(true) {
		t.log.Info("docker inventory synced", "networks", len(t.networks), "containers", len(t.containers))
	} else {
		t.log.Info("docker reconnected and resynced")
	}
	healthy()
	changed()

	// Endpoints whose veth is not visible yet are retried on link updates
	// and, as a fallback, on this timer.
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	retryWait := 10 * time.Millisecond
	armRetry := func() {
		// A withheld endpoint is published when its grace ends.
		released, graceEnd := t.releaseExpired(time.Now())
		if released {
			changed()
		}
		if t.pendingBridges() == nil {
			retryWait = 10 * time.Millisecond
			if !graceEnd.IsZero() {
				retry.Reset(time.Until(graceEnd))
			}
			return
		}
		wait := retryWait
		if !graceEnd.IsZero() {
			wait = min(wait, time.Until(graceEnd))
		}
		retry.Reset(wait)
		retryWait = min(retryWait*2, 2*time.Second)
	}
	armRetry()
	// An event or an inspect result may ask for a full resync (a gap in
	// what we know); it runs before the next message.
	resyncIfAsked := func() error {
		if !t.needResync.Swap(false) {
			return nil
		}
		if err := t.fullSync(ctx); err != nil {
			return err
		}
		changed()
		return nil
	}

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err == nil {
				err = errStreamEnded
			}
			return fmt.Errorf("docker events: %w", err)
		case m, ok := <-msgs:
			if !ok {
				return errStreamEnded
			}
			if t.handle(sub, m) { // sub: inspects still running when the stream ends are cancelled
				changed()
			}
			if err := resyncIfAsked(); err != nil {
				return err
			}
			armRetry()
		case r := <-inspected:
			if t.applyInspect(r) {
				changed()
			}
			if err := resyncIfAsked(); err != nil {
				return err
			}
			armRetry()
		case br := <-bridges:
			if t.resolvePorts(br) {
				changed()
			}
			armRetry()
		case <-retry.C:
			if t.resolvePorts("") {
				changed()
			}
			armRetry()
		case reply := <-t.resync:
			err := t.fullSync(ctx)
			reply <- err
			changed()
			if err != nil {
				return err
			}
			armRetry()
		}
	}
}
