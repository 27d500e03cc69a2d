package dnsproxy

import (
	"net/netip"
	"sync"
	"time"
)

// limiter is a token bucket per source address, so one container's flood
// cannot starve the others. The table is bounded: when full, idle buckets
// are dropped first and a new source starts with a full bucket.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int
	buckets map[netip.Addr]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: burst, max: max, buckets: map[netip.Addr]*bucket{}, now: now}
}

// allow takes one token from src's bucket.
func (l *limiter) allow(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[src]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[src] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evict drops buckets that have refilled (their sources are idle); if none
// has, it drops all, which only ever makes the limit looser for a moment.
func (l *limiter) evict(now time.Time) {
	for a, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, a)
		}
	}
	if len(l.buckets) >= l.max {
		clear(l.buckets)
	}
}
