// Package ratelimit counts events per key in fixed windows, for lockout and
// request limits. Memory keeps the counts in this process; a shared backend
// lets every instance see the same counts.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process fixed-window counter. It is safe for concurrent
// use. Expired windows are dropped lazily, a bounded amount per call, so
// memory follows the number of live keys.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	windows map[string]window
	sweep   int // calls since the last sweep
}

type window struct {
	count int64
	ends  time.Time
}

// sweepEvery is how many calls pass between scans for expired windows; a
// scan costs O(keys), so doing it on every call would be quadratic.
const sweepEvery = 1024

// NewMemory returns an empty counter that reads time from now (time.Now when
// nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, windows: make(map[string]window)}
}

// Incr adds one to key's count. The first hit opens a window of the given
// length; Incr returns the count within the window and the time until it
// ends.
func (m *Memory) Incr(_ context.Context, key string, length time.Duration) (int64, time.Duration, error) {
	now := m.now()

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep(now)

	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		w = window{ends: now.Add(length)}
	}
	w.count++
	m.windows[key] = w
	return w.count, w.ends.Sub(now), nil
}

// Get returns key's count in its current window and the time until the
// window ends; zero and zero when there is none.
func (m *Memory) Get(_ context.Context, key string) (int64, time.Duration, error) {
	now := m.now()

	m.mu.Lock()
	defer m.mu.Unlock()

	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		return 0, 0, nil
	}
	return w.count, w.ends.Sub(now), nil
}

// Reset forgets key's window.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.windows, key)
	return nil
}

// Release takes one back from key's count in its current window, if it has
// one above zero; the window keeps its end.
func (m *Memory) Release(_ context.Context, key string) error {
	now := m.now()

	m.mu.Lock()
	defer m.mu.Unlock()

	w, ok := m.windows[key]
	if ok && now.Before(w.ends) && w.count > 0 {
		w.count--
		m.windows[key] = w
	}
	return nil
}

func (m *Memory) maybeSweep(now time.Time) {
	m.sweep++
	if m.sweep < sweepEvery {
		return
	}
	m.sweep = 0
	for k, w := range m.windows {
		if !now.Before(w.ends) {
			delete(m.windows, k)
		}
	}
}
