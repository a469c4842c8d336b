package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
)

// limiter is what both budget stores offer.
type limiter interface {
	Allow(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
	Refund(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
}

// eachLimiter runs f against the in-memory limiter and the Redis one.
func eachLimiter(t *testing.T, f func(t *testing.T, l limiter)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, ratelimit.NewMemoryLimiter(nil))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		c := redistest.Client(t)
		f(t, ratelimit.NewRedis(c, redistest.Prefix(t, c), nil))
	})
}

var hourly = ratelimit.Rule{Name: "test", Max: 3, Window: time.Hour}

func allow(t *testing.T, l limiter, r ratelimit.Rule, key string) ratelimit.Result {
	t.Helper()
	res, err := l.Allow(context.Background(), r, key)
	if err != nil {
		t.Fatalf("Allow(%s, %q): %v", r.Name, key, err)
	}
	return res
}

func refund(t *testing.T, l limiter, r ratelimit.Rule, key string) ratelimit.Result {
	t.Helper()
	res, err := l.Refund(context.Background(), r, key)
	if err != nil {
		t.Fatalf("Refund(%s, %q): %v", r.Name, key, err)
	}
	return res
}

func TestLimiterAllowsTheBudgetThenRefusesWithARetryTime(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		for i, want := range []int{2, 1, 0} {
			res := allow(t, l, hourly, "client")
			if !res.Allowed || res.Remaining != want || res.Limit != 3 {
				t.Fatalf("event %d = %+v; want allowed, remaining %d, limit 3", i+1, res, want)
			}
		}
		res := allow(t, l, hourly, "client")
		if res.Allowed || res.Remaining != 0 {
			t.Fatalf("event over the budget = %+v; want refused with nothing remaining", res)
		}
		// One event comes back every window/max, twenty minutes here.
		if res.RetryAfter <= 19*time.Minute || res.RetryAfter > 20*time.Minute {
			t.Errorf("RetryAfter = %v; want just under 20m", res.RetryAfter)
		}
		if res.ResetAfter <= 59*time.Minute || res.ResetAfter > time.Hour {
			t.Errorf("ResetAfter = %v; want just under 1h", res.ResetAfter)
		}
	})
}

func TestLimiterRefundGivesOneEventBack(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		for range 3 {
			allow(t, l, hourly, "client")
		}
		res := refund(t, l, hourly, "client")
		if !res.Allowed || res.Remaining != 1 || res.Limit != 3 {
			t.Fatalf("refund on a spent budget = %+v; want allowed, remaining 1, limit 3", res)
		}
		if res.ResetAfter <= 39*time.Minute || res.ResetAfter > 40*time.Minute {
			t.Errorf("refund ResetAfter = %v; want just under 40m", res.ResetAfter)
		}
		if res := allow(t, l, hourly, "client"); !res.Allowed || res.Remaining != 0 {
			t.Fatalf("event after a refund = %+v; want allowed, remaining 0", res)
		}
		if res := allow(t, l, hourly, "client"); res.Allowed {
			t.Fatalf("second event after one refund = %+v; want refused", res)
		}

		for i, want := range []int{1, 2, 3} {
			if res := refund(t, l, hourly, "client"); res.Remaining != want {
				t.Fatalf("refund %d = %+v; want remaining %d", i+1, res, want)
			}
		}
		if res := refund(t, l, hourly, "client"); !res.Allowed || res.Remaining != 3 ||
			res.ResetAfter != 0 {
			t.Errorf("refund on a whole budget = %+v; want remaining 3, reset 0", res)
		}
	})
}

func TestLimiterRefundNeverGrowsTheBudgetPastItsMax(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		for range 2 {
			if res := refund(t, l, hourly, "fresh"); res.Remaining != 3 {
				t.Fatalf("refund on a fresh budget = %+v; want remaining 3", res)
			}
		}
		for i, want := range []int{2, 1, 0} {
			if res := allow(t, l, hourly, "fresh"); !res.Allowed || res.Remaining != want {
				t.Fatalf("event %d = %+v; want allowed, remaining %d", i+1, res, want)
			}
		}
		if res := allow(t, l, hourly, "fresh"); res.Allowed {
			t.Errorf("fourth event after refunds on a fresh budget was allowed")
		}
	})
}

func TestLimiterRefundsAndSpendsExactlyUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		rule := ratelimit.Rule{Name: "churn", Max: 5, Window: time.Hour}
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				res, err := l.Allow(context.Background(), rule, "client")
				if err == nil && res.Allowed {
					_, err = l.Refund(context.Background(), rule, "client")
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range 5 {
			if res := allow(t, l, rule, "client"); !res.Allowed {
				t.Fatalf("event %d after every spent event was refunded = %+v; want allowed",
					i+1, res)
			}
		}
		if res := allow(t, l, rule, "client"); res.Allowed {
			t.Errorf("sixth event = %+v; want refused", res)
		}
	})
}

func TestLimiterKeepsKeysAndRulesApart(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		for range 3 {
			allow(t, l, hourly, "a")
		}
		if res := allow(t, l, hourly, "a"); res.Allowed {
			t.Fatalf("a's fourth event was allowed")
		}
		if res := allow(t, l, hourly, "b"); !res.Allowed || res.Remaining != 2 {
			t.Errorf("b after a spent its budget = %+v; want allowed, remaining 2", res)
		}
		other := hourly
		other.Name = "other"
		if res := allow(t, l, other, "a"); !res.Allowed || res.Remaining != 2 {
			t.Errorf("a under another rule = %+v; want allowed, remaining 2", res)
		}
	})
}

func TestLimiterAllowsExactlyTheBudgetUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l limiter) {
		rule := ratelimit.Rule{Name: "burst", Max: 10, Window: time.Hour}
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				res, err := l.Allow(context.Background(), rule, "client")
				if err != nil {
					t.Error(err)
				}
				if res.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != 10 {
			t.Errorf("allowed %d of 30 concurrent events; want 10", got)
		}
	})
}

func TestMemoryLimiterRefillsOneEventPerInterval(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := ratelimit.NewMemoryLimiter(clock.Now)
	for range 3 {
		allow(t, l, hourly, "client")
	}

	clock.Advance(19 * time.Minute)
	if res := allow(t, l, hourly, "client"); res.Allowed {
		t.Fatalf("allowed after 19m; want refused until 20m")
	}
	clock.Advance(time.Minute)
	if res := allow(t, l, hourly, "client"); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 20m = %+v; want one event allowed", res)
	}
	clock.Advance(time.Hour)
	if res := allow(t, l, hourly, "client"); res.Remaining != 2 || res.ResetAfter != 20*time.Minute {
		t.Errorf("after a full window = %+v; want the whole budget back", res)
	}
}

func TestRedisLimiterRefillsOnRedisTime(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	l := ratelimit.NewRedis(c, redistest.Prefix(t, c), nil)
	rule := ratelimit.Rule{Name: "fast", Max: 2, Window: 600 * time.Millisecond}
	allow(t, l, rule, "client")
	allow(t, l, rule, "client")
	res := allow(t, l, rule, "client")
	if res.Allowed {
		t.Fatalf("third event in the window was allowed")
	}
	time.Sleep(res.RetryAfter + 20*time.Millisecond)
	if res := allow(t, l, rule, "client"); !res.Allowed {
		t.Errorf("event after RetryAfter = %+v; want allowed", res)
	}
}

func TestRedisCounterCountsWithinAWindowAndStartsAfreshAfterIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.Client(t)
	r := ratelimit.NewRedis(c, redistest.Prefix(t, c), nil)

	if n, left, err := r.Get(ctx, "k"); err != nil || n != 0 || left != 0 {
		t.Fatalf("Get of a new key = %d, %v, %v; want 0, 0, nil", n, left, err)
	}
	for want := int64(1); want <= 3; want++ {
		n, left, err := r.Incr(ctx, "k", time.Minute)
		if err != nil || n != want || left <= 59*time.Second || left > time.Minute {
			t.Fatalf("Incr #%d = %d, %v, %v; want %d, about 1m, nil", want, n, left, err, want)
		}
	}
	if n, left, err := r.Get(ctx, "k"); err != nil || n != 3 || left <= 59*time.Second {
		t.Errorf("Get = %d, %v, %v; want 3, about 1m, nil", n, left, err)
	}

	if _, _, err := r.Incr(ctx, "short", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, _, err := r.Get(ctx, "short"); err != nil || n != 0 {
		t.Errorf("Get after the window = %d, %v; want 0, nil", n, err)
	}
	if n, _, err := r.Incr(ctx, "short", time.Minute); err != nil || n != 1 {
		t.Errorf("Incr after the window = %d, %v; want 1, nil", n, err)
	}
}

func TestRedisCounterResetForgetsOnlyThatKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.Client(t)
	r := ratelimit.NewRedis(c, redistest.Prefix(t, c), nil)
	r.Incr(ctx, "a", time.Hour)
	r.Incr(ctx, "b", time.Hour)

	if err := r.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := r.Get(ctx, "a"); n != 0 {
		t.Errorf("a after reset = %d; want 0", n)
	}
	if n, _, _ := r.Get(ctx, "b"); n != 1 {
		t.Errorf("b after resetting a = %d; want 1", n)
	}
}

func TestRedisPrefixesKeepDeploymentsApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.Client(t)
	one := ratelimit.NewRedis(c, redistest.Prefix(t, c), nil)
	two := ratelimit.NewRedis(c, redistest.Prefix(t, c), nil)
	one.Incr(ctx, "k", time.Hour)
	for range 3 {
		allow(t, one, hourly, "client")
	}
	if n, _, _ := two.Get(ctx, "k"); n != 0 {
		t.Errorf("count under another prefix = %d; want 0", n)
	}
	if res := allow(t, two, hourly, "client"); !res.Allowed {
		t.Errorf("budget under another prefix was spent")
	}
}

func TestRedisAtADeadAddressIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	r := ratelimit.NewRedis(c, "x:", nil)

	calls := map[string]func() error{
		"Incr":   func() error { _, _, err := r.Incr(ctx, "k", time.Minute); return err },
		"Get":    func() error { _, _, err := r.Get(ctx, "k"); return err },
		"Reset":  func() error { return r.Reset(ctx, "k") },
		"Allow":  func() error { _, err := r.Allow(ctx, hourly, "k"); return err },
		"Refund": func() error { _, err := r.Refund(ctx, hourly, "k"); return err },
		"Ping":   func() error { return r.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ratelimit.ErrUnavailable) {
			t.Errorf("%s = %v; want an error wrapping ErrUnavailable", name, err)
		}
	}
}

func TestRedisRecoversByItselfWhenTheServerReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	r := ratelimit.NewRedis(c, "x:", nil)

	if _, err := r.Allow(ctx, hourly, "k"); err != nil {
		t.Fatalf("Allow while the server runs: %v", err)
	}
	srv.Stop()
	if _, err := r.Allow(ctx, hourly, "k"); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("Allow after the server stopped = %v; want ErrUnavailable", err)
	}
	if err := r.Ping(ctx); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("Ping after the server stopped = %v; want ErrUnavailable", err)
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The restarted server lost its data: the budget is whole again.
		res, err := r.Allow(ctx, hourly, "k")
		if err == nil {
			if res.Remaining != 2 {
				t.Errorf("first event after the restart = %+v; want remaining 2", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing 10s after the server returned: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	srv := redistest.StartServer(t)
	addr := srv.Addr()
	srv.Stop()
	return addr
}

// testClock is a controllable time source.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
