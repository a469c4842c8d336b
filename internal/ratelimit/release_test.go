package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
)

// counter is what both lockout counters offer.
type counter interface {
	Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	Get(ctx context.Context, key string) (int64, time.Duration, error)
	Release(ctx context.Context, key string) error
}

// eachCounter runs f against the in-memory counter and the Redis one.
func eachCounter(t *testing.T, f func(t *testing.T, c counter)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, ratelimit.NewMemory(nil))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		c := redistest.Client(t)
		f(t, ratelimit.NewRedis(c, redistest.Prefix(t, c), nil))
	})
}

func TestReleaseTakesOneBackAndKeepsTheWindow(t *testing.T) {
	t.Parallel()
	eachCounter(t, func(t *testing.T, c counter) {
		ctx := context.Background()
		for range 3 {
			if _, _, err := c.Incr(ctx, "k", time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Release(ctx, "k"); err != nil {
			t.Fatalf("Release: %v", err)
		}
		n, left, err := c.Get(ctx, "k")
		if err != nil || n != 2 || left <= 59*time.Minute || left > time.Hour {
			t.Errorf("after one release = %d, %v, %v; want 2, about 1h, nil", n, left, err)
		}
		if n, _, err := c.Incr(ctx, "k", time.Hour); err != nil || n != 3 {
			t.Errorf("Incr after a release = %d, %v; want 3, nil", n, err)
		}
	})
}

func TestReleaseNeverGoesBelowZeroNorMakesAWindow(t *testing.T) {
	t.Parallel()
	eachCounter(t, func(t *testing.T, c counter) {
		ctx := context.Background()
		if err := c.Release(ctx, "none"); err != nil {
			t.Fatalf("Release of an unknown key: %v", err)
		}
		if n, left, err := c.Get(ctx, "none"); err != nil || n != 0 || left != 0 {
			t.Errorf("unknown key after a release = %d, %v, %v; want 0, 0, nil", n, left, err)
		}

		if _, _, err := c.Incr(ctx, "one", time.Hour); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := c.Release(ctx, "one"); err != nil {
				t.Fatalf("Release: %v", err)
			}
		}
		if n, _, err := c.Incr(ctx, "one", time.Hour); err != nil || n != 1 {
			t.Errorf("Incr after releasing more than was counted = %d, %v; want 1, nil", n, err)
		}
	})
}
