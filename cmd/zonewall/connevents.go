package main

import (
	"context"
	"time"

	"github.com/zonewall/zonewall/enforcer/ctevents"
	"github.com/zonewall/zonewall/enforcer/daemon"
)

// openConnEvents subscribes to the kernel's new-connection events for the
// daemon's observations in audit mode.
func openConnEvents() (daemon.ConnReader, error) {
	r, err := ctevents.Open(ctevents.Options{})
	if err != nil {
		return nil, err
	}
	return connEvents{r}, nil
}

type connEvents struct{ r *ctevents.Reader }

func (c connEvents) Read(ctx context.Context) (daemon.ConnEvent, error) {
	ev, err := c.r.Read(ctx)
	if err != nil {
		return daemon.ConnEvent{}, err
	}
	// Reply.Src is the real destination after DNAT (published ports).
	return daemon.ConnEvent{Time: time.Now(), Proto: ev.Proto, Src: ev.Orig.Src, Dst: ev.Reply.Src, DstPort: ev.Reply.SrcPort}, nil
}

func (c connEvents) Close() error { return c.r.Close() }
