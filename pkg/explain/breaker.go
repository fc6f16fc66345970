package explain

import (
	"sync"
	"time"
)

// breaker is a circuit breaker over the model server. It opens after
// threshold consecutive failures and refuses calls for cooldown; then it
// lets one probe through (half open), which closes it on success and opens
// it again on failure. It is safe for concurrent use.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu       sync.Mutex
	fails    int       // consecutive failures
	openedAt time.Time // zero when closed
	probing  bool      // a half-open probe is in flight
}

// Breaker states, the values of the state gauge.
const (
	breakerClosed   = 0
	breakerHalfOpen = 1
	breakerOpen     = 2
)

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown}
}

// allow reports whether a call may be sent at now. When it lets a
// half-open probe through, the caller must report its outcome.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openedAt.IsZero():
		return true
	case b.probing || now.Sub(b.openedAt) < b.cooldown:
		return false
	}
	b.probing = true
	return true
}

// success closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	b.fails, b.openedAt, b.probing = 0, time.Time{}, false
	b.mu.Unlock()
}

// failure counts a failure at now, opening the breaker at the threshold
// or when a probe failed.
func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails++
	if b.probing || b.fails >= b.threshold {
		b.openedAt, b.probing = now, false
	}
}

// neutral ends a probe whose outcome says nothing about the server's
// health (the caller gave up), leaving the breaker as it was.
func (b *breaker) neutral() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// state returns breakerClosed, breakerHalfOpen or breakerOpen at now.
func (b *breaker) state(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openedAt.IsZero():
		return breakerClosed
	case b.probing || now.Sub(b.openedAt) >= b.cooldown:
		return breakerHalfOpen
	}
	return breakerOpen
}
