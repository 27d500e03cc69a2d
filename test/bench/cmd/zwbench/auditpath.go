package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/zonewall/zonewall/enforcer/ctevents"
)

// auditPathVariant is zonewall's ruleset in audit mode with what the daemon
// adds to record observations for `zonewall learn`: a listener on the
// kernel's new-connection events in the router's namespace, read and
// counted as the daemon reads them. Against the enforce variant of the same
// run it shows the recording's cost on the packet path.
// With observing false, the listener is left out: the audit ruleset alone.
func auditPathVariant(topo *topology, members int, observing bool) (*pathVariant, error) {
	inv := topo.inventory(members)
	p := synthPolicy()
	p.Settings.Mode = "audit"
	cr, err := zwCompile(p, inv, nil)
	if err != nil {
		return nil, err
	}
	var app zwApplier
	var reader *ctevents.Reader
	var events atomic.Uint64
	done := make(chan struct{})
	name := fmt.Sprintf("zonewall audit %d members, observing", members)
	if !observing {
		name = fmt.Sprintf("zonewall audit %d members, not observing", members)
	}
	v := &pathVariant{name: name, tracks: true}
	v.install = func() error {
		a, err := zwNewApplier(int(topo.routerFd.Fd()))
		if err != nil {
			return err
		}
		app = a
		if _, err := app.Apply(cr); err != nil {
			return err
		}
		if !observing {
			return nil
		}
		if reader, err = ctevents.Open(ctevents.Options{NetNS: int(topo.routerFd.Fd())}); err != nil {
			return fmt.Errorf("connection events: %w", err)
		}
		done = make(chan struct{})
		go func(r *ctevents.Reader, done chan struct{}) {
			defer close(done)
			for {
				if _, err := r.Read(context.Background()); err != nil {
					return
				}
				events.Add(1)
			}
		}(reader, done)
		return nil
	}
	v.remove = func() error {
		var errs []error
		if reader != nil {
			reader.Close()
			<-done
			reader = nil
			if events.Load() == 0 {
				errs = append(errs, errors.New("no connection event was read: the recorder is not in the path"))
			}
			events.Store(0)
		}
		if app != nil {
			errs = append(errs, app.Cleanup())
			app.Close()
			app = nil
		}
		return errors.Join(errs...)
	}
	return v, nil
}
