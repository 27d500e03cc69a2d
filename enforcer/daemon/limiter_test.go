package daemon

import (
	"testing"
	"time"
)

func TestBurstLimiter(t *testing.T) {
	l := newBurstLimiter(20*time.Millisecond, 3)
	t0 := time.Unix(1000, 0)
	// One container start: a few events back to back all run at once.
	for i := range 3 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		if at := l.next(now); !at.Equal(now) {
			t.Fatalf("run %d delayed to %v", i, at.Sub(t0))
		}
		l.take(now)
	}
	// The burst is used up: the next waits for a token.
	now := t0.Add(3 * time.Millisecond)
	if at := l.next(now); at.Sub(now) < 15*time.Millisecond || at.Sub(now) > 20*time.Millisecond {
		t.Fatalf("fourth run at +%v, want about one interval after the burst", at.Sub(now))
	}
	// After a quiet period the allowance is back.
	now = t0.Add(time.Second)
	if at := l.next(now); !at.Equal(now) {
		t.Fatal("idle limiter delays a run")
	}
}
