package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrUnavailable wraps every failure to reach the shared store that keeps
// counters and budgets. Callers guarding a sensitive action refuse it (fail
// closed); the others may let the request through.
var ErrUnavailable = errors.New("ratelimit: shared store unavailable")

// Rule is a request budget: at most Max events per Window for one key. The
// budget refills evenly over the window (the generic cell rate algorithm),
// one event every Window/Max, so a client that spent it all waits for one
// slot rather than for a whole window to end.
type Rule struct {
	// Name separates the budgets of different rules for the same key.
	Name   string
	Max    int
	Window time.Duration
}

// interval is the time in which one spent event is refunded.
func (r Rule) interval() time.Duration {
	return r.Window / time.Duration(r.Max)
}

// Result is the state of a key's budget after an Allow or a Refund.
type Result struct {
	// Allowed reports whether the event was allowed (Allow), or whether
	// one more would be (Refund).
	Allowed bool
	// Limit is the rule's Max.
	Limit int
	// Remaining is how many more events are allowed right now.
	Remaining int
	// RetryAfter is how long until the next event is allowed; zero while
	// Remaining is above zero.
	RetryAfter time.Duration
	// ResetAfter is how long until the budget is full again.
	ResetAfter time.Duration
}

// standing describes a budget under r whose spent events take reset to
// come back, without spending one.
func standing(r Rule, reset time.Duration) Result {
	t := r.interval()
	reset = max(reset, 0)
	res := Result{Limit: r.Max, ResetAfter: reset}
	res.Remaining = max(r.Max-int((reset+t-1)/t), 0)
	res.Allowed = res.Remaining > 0
	if !res.Allowed {
		res.RetryAfter = max(reset+t-r.Window, 0)
	}
	return res
}

// MemoryLimiter keeps request budgets in this process, for a single
// instance without Redis. It is safe for concurrent use and follows the
// same algorithm as the Redis limiter, so both answer alike.
type MemoryLimiter struct {
	now func() time.Time

	mu    sync.Mutex
	tats  map[string]time.Time // theoretical arrival time of each key's next event
	sweep int
}

// NewMemoryLimiter returns a limiter that reads time from now (time.Now
// when nil).
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, tats: make(map[string]time.Time)}
}

// Allow spends one event of key's budget under r if there is one left.
func (m *MemoryLimiter) Allow(_ context.Context, r Rule, key string) (Result, error) {
	now := m.now()
	k := r.Name + ":" + key
	t := r.interval()

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep(now)

	tat, ok := m.tats[k]
	if !ok || tat.Before(now) {
		tat = now
	}
	// The budget is spent up to tat; it has room for one more event while
	// tat+t lies within one window of now.
	diff := now.Sub(tat.Add(t).Add(-r.Window))
	if diff < 0 {
		return Result{Limit: r.Max, RetryAfter: -diff, ResetAfter: tat.Sub(now)}, nil
	}
	tat = tat.Add(t)
	m.tats[k] = tat
	return Result{Allowed: true, Limit: r.Max, Remaining: int(diff / t),
		ResetAfter: tat.Sub(now)}, nil
}

// Refund gives back one event of key's budget under r that Allow spent,
// for an event that turned out not to count. The budget never grows past
// r.Max: what has refilled since the event was spent is not given twice.
func (m *MemoryLimiter) Refund(_ context.Context, r Rule, key string) (Result, error) {
	now := m.now()
	k := r.Name + ":" + key

	m.mu.Lock()
	defer m.mu.Unlock()

	tat, ok := m.tats[k]
	if !ok {
		return standing(r, 0), nil
	}
	tat = tat.Add(-r.interval())
	if !tat.After(now) {
		delete(m.tats, k)
		return standing(r, 0), nil
	}
	m.tats[k] = tat
	return standing(r, tat.Sub(now)), nil
}

// maybeSweep drops, every sweepEvery calls, the keys whose budget is full
// again and which therefore mean the same as no entry.
func (m *MemoryLimiter) maybeSweep(now time.Time) {
	m.sweep++
	if m.sweep < sweepEvery {
		return
	}
	m.sweep = 0
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
		}
	}
}
