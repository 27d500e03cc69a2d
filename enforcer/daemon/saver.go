package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer/state"
)

// saver writes the last applied ruleset to state_dir off the loop: an fsync
// must not delay the next container's apply. Only the newest value matters,
// so a pending save is replaced rather than queued, and saves are at least
// saveInterval apart: during a burst every sync would otherwise encode the
// whole inventory (about 2 MB of JSON and garbage at 10,000 containers).
// The state only serves the next boot until Docker answers, when a resync
// corrects anything it missed; a second of lag costs nothing then.
type saver struct {
	store    *state.Store
	log      *slog.Logger
	interval time.Duration // saveInterval; tests shorten or lengthen it

	mu      sync.Mutex
	pending *savedApply
	wake    chan struct{}
	busy    sync.Mutex // held while writing
}

// saveInterval is the least time between two writes of the state.
const saveInterval = time.Second

type savedApply struct {
	a  state.Applied
	rs Ruleset
}

func newSaver(st *state.Store, log *slog.Logger) *saver {
	return &saver{store: st, log: log, interval: saveInterval, wake: make(chan struct{}, 1)}
}

func (s *saver) save(a state.Applied, rs Ruleset) {
	s.mu.Lock()
	s.pending = &savedApply{a: a, rs: rs}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *saver) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			s.flush()
			select { // newer values wait here, the newest is written next
			case <-ctx.Done():
				return
			case <-time.After(s.interval):
			}
		}
	}
}

// flush writes the pending value, if any (also called on shutdown).
func (s *saver) flush() {
	s.busy.Lock()
	defer s.busy.Unlock()
	s.mu.Lock()
	p := s.pending
	s.pending = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	if err := s.store.SaveApplied(p.a, p.rs.String()); err != nil {
		s.log.Error("cannot save the applied ruleset to state", "err", err)
	}
}
