package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMemoryCountsWithinAWindowAndStartsAfreshAfterIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(clock.Now)

	for want := int64(1); want <= 3; want++ {
		n, left, err := m.Incr(ctx, "k", time.Minute)
		if err != nil || n != want || left != time.Minute {
			t.Fatalf("Incr #%d = %d, %v, %v; want %d, 1m0s, nil", want, n, left, err, want)
		}
	}

	clock.Advance(40 * time.Second)
	if n, left, _ := m.Get(ctx, "k"); n != 3 || left != 20*time.Second {
		t.Errorf("Get after 40s = %d, %v; want 3, 20s", n, left)
	}

	clock.Advance(20 * time.Second)
	if n, left, _ := m.Get(ctx, "k"); n != 0 || left != 0 {
		t.Errorf("Get at window end = %d, %v; want 0, 0", n, left)
	}
	if n, _, _ := m.Incr(ctx, "k", time.Minute); n != 1 {
		t.Errorf("Incr after window end = %d; want 1", n)
	}
}

func TestMemoryResetForgetsOnlyThatKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(nil)
	m.Incr(ctx, "a", time.Hour)
	m.Incr(ctx, "b", time.Hour)

	if err := m.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := m.Get(ctx, "a"); n != 0 {
		t.Errorf("a after reset = %d; want 0", n)
	}
	if n, _, _ := m.Get(ctx, "b"); n != 1 {
		t.Errorf("b after resetting a = %d; want 1", n)
	}
}

func TestMemorySweepDropsExpiredWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(clock.Now)
	for i := range sweepEvery - 1 {
		m.Incr(ctx, fmt.Sprint("old", i), time.Second)
	}
	clock.Advance(time.Minute)
	m.Incr(ctx, "new", time.Hour)

	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.windows) != 1 {
		t.Errorf("windows after sweep = %d; want 1", len(m.windows))
	}
}

func TestMemoryCountsEveryConcurrentHit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { m.Incr(ctx, "k", time.Hour) })
	}
	wg.Wait()
	if n, _, _ := m.Get(ctx, "k"); n != 50 {
		t.Errorf("count after 50 concurrent hits = %d; want 50", n)
	}
}
