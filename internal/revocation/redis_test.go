package revocation_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/revocation"
)

// follower runs a feed's Follow until the test ends and records what it
// delivers.
type follower struct {
	got   chan auth.Revocation
	state chan bool
}

func follow(t *testing.T, f auth.RevocationFeed) *follower {
	t.Helper()
	fl := &follower{got: make(chan auth.Revocation, 16), state: make(chan bool, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.Follow(ctx, func(r auth.Revocation) { fl.got <- r },
			func(up bool) { fl.state <- up })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Follow returned %v after its context ended; want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Follow did not return within 5s of its context ending")
		}
	})
	return fl
}

func (fl *follower) wantState(t *testing.T, want bool) {
	t.Helper()
	select {
	case up := <-fl.state:
		if up != want {
			t.Fatalf("connected(%v); want connected(%v)", up, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no connected(%v) within 10s", want)
	}
}

func (fl *follower) wantRevocation(t *testing.T, want auth.Revocation) {
	t.Helper()
	select {
	case got := <-fl.got:
		if !slices.Equal(got.Sessions, want.Sessions) || !slices.Equal(got.Users, want.Users) {
			t.Fatalf("delivered %+v; want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%+v not delivered within 5s", want)
	}
}

func TestFeedDeliversToEveryFollowerIncludingThePublisher(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	channel := redistest.Prefix(t, c) + "revocations"
	a := revocation.NewRedis(c, channel, nil)
	b := revocation.NewRedis(c, channel, nil)
	fa, fb := follow(t, a), follow(t, b)
	fa.wantState(t, true)
	fb.wantState(t, true)

	r := auth.Revocation{Sessions: []string{"s1", "s2"}, Users: []string{"u1"}}
	if err := a.Publish(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	fa.wantRevocation(t, r)
	fb.wantRevocation(t, r)
}

func TestFeedReportsAnOutageAndReconnectsByItself(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	f := revocation.NewRedis(c, "revocations", nil)
	fl := follow(t, f)
	fl.wantState(t, true)

	srv.Stop()
	fl.wantState(t, false)
	if err := f.Publish(context.Background(), auth.Revocation{Users: []string{"u"}}); err == nil {
		t.Error("Publish with Redis down succeeded; want an error")
	}

	srv.Start()
	fl.wantState(t, true)
	r := auth.Revocation{Sessions: []string{"after"}}
	if err := f.Publish(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	fl.wantRevocation(t, r)
}

func TestFeedTreatsAnUnreadableMessageAsAMissedRevocation(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t)
	channel := redistest.Prefix(t, c) + "revocations"
	fl := follow(t, revocation.NewRedis(c, channel, nil))
	fl.wantState(t, true)

	if err := c.Publish(context.Background(), channel, "not json").Err(); err != nil {
		t.Fatal(err)
	}
	// The cache behind the feed is told to start over.
	fl.wantState(t, false)
	fl.wantState(t, true)
}
