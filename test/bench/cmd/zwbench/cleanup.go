package main

import (
	"log/slog"
	"sync"
)

// cleanups undo, in reverse order, everything the benchmark created. They
// run at the end of each scenario and again (idempotently) on exit or
// interrupt, so a failed or interrupted run leaves nothing behind.
type cleanups struct {
	mu  sync.Mutex
	fns []namedCleanup
}

type namedCleanup struct {
	what string
	fn   func() error
}

func (c *cleanups) add(what string, fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, namedCleanup{what, fn})
}

// run undoes everything registered so far, newest first.
func (c *cleanups) run(log *slog.Logger) {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i].fn(); err != nil {
			log.Warn("cleanup failed", "what", fns[i].what, "err", err)
		}
	}
}
