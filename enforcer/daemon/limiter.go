package daemon

import "time"

// burstLimiter is the token bucket of kube-proxy's BoundedFrequencyRunner:
// up to burst applies run back to back (one container start brings several
// Docker events, and each must reach the kernel at once), then at most one
// per interval while changes keep coming.
type burstLimiter struct {
	interval time.Duration
	burst    float64
	tokens   float64
	last     time.Time
}

func newBurstLimiter(interval time.Duration, burst int) *burstLimiter {
	return &burstLimiter{interval: interval, burst: float64(burst), tokens: float64(burst)}
}

func (l *burstLimiter) refill(now time.Time) {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.last))/float64(l.interval))
	}
	l.last = now
}

// next is when the next run may start (now, or later).
func (l *burstLimiter) next(now time.Time) time.Time {
	l.refill(now)
	if l.tokens >= 1 {
		return now
	}
	return now.Add(time.Duration((1 - l.tokens) * float64(l.interval)))
}

// take records a run starting now.
func (l *burstLimiter) take(now time.Time) {
	l.refill(now)
	l.tokens--
}
