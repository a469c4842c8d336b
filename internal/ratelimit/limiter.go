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

// Result is the state of a key's budget after an Allow or a Peek.
type Result struct {
	// Allowed reports whether the event was allowed (Allow) or would be
	// (Peek).
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
	return m.take(r, key, true), nil
}

// Peek reports whether key's budget under r allows one more event, without
// spending it.
func (m *MemoryLimiter) Peek(_ context.Context, r Rule, key string) (Result, error) {
	return m.take(r, key, false), nil
}

func (m *MemoryLimiter) take(r Rule, key string, spend bool) Result {
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
		return Result{Limit: r.Max, RetryAfter: -diff, ResetAfter: tat.Sub(now)}
	}
	res := Result{Allowed: true, Limit: r.Max, ResetAfter: tat.Sub(now)}
	if !spend {
		res.Remaining = int((diff + t) / t)
		return res
	}
	tat = tat.Add(t)
	m.tats[k] = tat
	res.Remaining = int(diff / t)
	res.ResetAfter = tat.Sub(now)
	return res
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
