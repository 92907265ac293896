package auth

import (
	"sync"
	"time"
)

// Throttle slows down password guessing: after Limit failed logins for one key (an account
// name, or a client IP) within Window, further attempts with that key are refused until the
// oldest failure leaves the window. It is kept in memory: restarting the server forgets it,
// which is acceptable because a restart takes longer than a few guesses are worth.
type Throttle struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
}

// NewThrottle returns a throttle allowing limit failures per key in window.
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{Limit: limit, Window: window, Now: now, failures: map[string][]time.Time{}}
}

// Blocked reports whether key has used up its failures, and if so how long until it may try
// again.
func (t *Throttle) Blocked(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fs := t.prune(key)
	if len(fs) < t.Limit {
		return false, 0
	}
	return true, fs[0].Add(t.Window).Sub(t.Now())
}

// Fail records a failed attempt for key.
func (t *Throttle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures[key] = append(t.prune(key), t.Now())
	if len(t.failures) > 100_000 {
		// A flood of made-up names: forget everything rather than grow without bound.
		t.failures = map[string][]time.Time{}
	}
}

// Reset forgets the failures of key, after a successful login.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, key)
}

// prune drops failures older than the window; t.mu is held.
func (t *Throttle) prune(key string) []time.Time {
	fs := t.failures[key]
	cutoff := t.Now().Add(-t.Window)
	i := 0
	for i < len(fs) && !fs[i].After(cutoff) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.failures, key)
		return nil
	}
	t.failures[key] = fs
	return fs
}
