package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/revocation"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

// lookupCounter is a store that counts the session lookups reaching it.
type lookupCounter struct {
	store.Store
	n atomic.Int64
	// after, when set, runs once a lookup has read its row and before the
	// row is returned.
	after atomic.Pointer[func()]
}

func (c *lookupCounter) SessionUser(ctx context.Context, id string) (store.SessionUser, error) {
	c.n.Add(1)
	su, err := c.Store.SessionUser(ctx, id)
	if f := c.after.Load(); f != nil {
		(*f)()
	}
	return su, err
}

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

// instance is one server's flows over a shared database.
type instance struct {
	svc     *auth.Service
	lookups *lookupCounter
}

// newInstance starts the flows of one instance on st, with a revocation
// feed on channel of client (none when client is nil), following it until
// the test ends.
func newInstance(t *testing.T, st store.Store, client *redis.Client, channel string,
	clock *testClock) *instance {
	t.Helper()
	hasher, err := password.NewHasher(password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	access, err := token.NewAccess(token.AccessOptions{
		Secret: []byte("test-access-secret-0123456789abcdef"), Issuer: "latchkey",
		Audience: "latchkey-users", TTL: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := token.NewKeyed([]byte("test-refresh-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	policy := password.DefaultPolicy()
	policy.MaxBytes = hasher.MaxBytes()
	lookups := &lookupCounter{Store: st}
	d := auth.Deps{
		Store: lookups, Hasher: hasher, Policy: policy, Access: access, Keyed: keyed,
		Attempts: ratelimit.NewMemory(clock.Now), Now: clock.Now,
	}
	if client != nil {
		d.Revocations = revocation.NewRedis(client, channel, nil)
	}
	svc := auth.New(d, auth.Options{
		RefreshTTL: 24 * time.Hour, ReuseGrace: 10 * time.Second, IdleTimeout: 24 * time.Hour,
		MaxAge: 48 * time.Hour, MaxLoginAttempts: 5, LockoutDuration: 15 * time.Minute,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.FollowRevocations(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &instance{svc: svc, lookups: lookups}
}

// authenticate checks tok and reports whether it was accepted, failing the
// test on anything but acceptance or invalid_token.
func (in *instance) authenticate(t *testing.T, tok string) bool {
	t.Helper()
	_, err := in.svc.Authenticate(context.Background(), tok)
	if err == nil {
		return true
	}
	if auth.Public(err).Code != auth.CodeInvalidToken {
		t.Fatalf("Authenticate: %v", err)
	}
	return false
}

// waitCached authenticates with tok until a lookup is served from the
// cache, which happens once the instance's feed is connected.
func (in *instance) waitCached(t *testing.T, tok string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in.authenticate(t, tok)
		before := in.lookups.n.Load()
		in.authenticate(t, tok)
		if in.lookups.n.Load() == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("sessions are not cached 10s after start: the feed never connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRefused authenticates with tok until it is refused, and fails the
// test if that takes longer than a second.
func (in *instance) waitRefused(t *testing.T, tok string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for in.authenticate(t, tok) {
		if time.Now().After(deadline) {
			t.Fatal("token still accepted a second after its session was revoked")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func signUp(t *testing.T, in *instance, email string) auth.Grant {
	t.Helper()
	g, err := in.svc.Register(context.Background(), auth.RegisterInput{
		Email: email, Password: "Correct-horse9!",
	}, auth.Client{IP: "127.0.0.1"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return g
}

func sharedFeed(t *testing.T) (*redis.Client, string) {
	t.Helper()
	c := redistest.Client(t)
	return c, redistest.Prefix(t, c) + "revocations"
}

func newClock() *testClock {
	return &testClock{t: time.Now().UTC().Truncate(time.Millisecond)}
}

func TestSessionCacheServesTheSteadyStateWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	client, channel := sharedFeed(t)
	a := newInstance(t, storetest.SQLite(t), client, channel, newClock())
	g := signUp(t, a, "steady@example.com")
	a.waitCached(t, g.AccessToken)

	before := a.lookups.n.Load()
	for range 50 {
		if !a.authenticate(t, g.AccessToken) {
			t.Fatal("token refused")
		}
	}
	if got := a.lookups.n.Load() - before; got != 0 {
		t.Errorf("50 requests made %d session lookups; want 0", got)
	}
}

func TestSessionCacheIsNotUsedWithoutAFeed(t *testing.T) {
	t.Parallel()
	a := newInstance(t, storetest.SQLite(t), nil, "", newClock())
	g := signUp(t, a, "nofeed@example.com")
	before := a.lookups.n.Load()
	for range 5 {
		a.authenticate(t, g.AccessToken)
	}
	if got := a.lookups.n.Load() - before; got != 5 {
		t.Errorf("5 requests made %d session lookups; want 5", got)
	}
}

func TestSessionCacheEntriesExpire(t *testing.T) {
	t.Parallel()
	client, channel := sharedFeed(t)
	clock := newClock()
	a := newInstance(t, storetest.SQLite(t), client, channel, clock)
	g := signUp(t, a, "expiry@example.com")
	a.waitCached(t, g.AccessToken)

	before := a.lookups.n.Load()
	clock.Advance(time.Second)
	a.authenticate(t, g.AccessToken)
	a.authenticate(t, g.AccessToken)
	if got := a.lookups.n.Load() - before; got != 1 {
		t.Errorf("requests a second after the entry was cached made %d lookups; want 1", got)
	}
}

// unannounced is an instance whose session is about to be revoked behind
// the flows' back, so that nothing is announced, as when a publication
// fails: only the cached entry's lifetime can end it.
type unannounced struct {
	in    *instance
	st    store.Store
	clock *testClock
	p     auth.Principal
	token string
}

// revoke revokes the session in the database at the clock's time and
// returns that time.
func (u unannounced) revoke(t *testing.T) time.Time {
	t.Helper()
	at := u.clock.Now()
	if err := u.st.RevokeSession(context.Background(), u.p.User.ID, u.p.Session.ID,
		at); err != nil {
		t.Error(err)
	}
	return at
}

func TestARevocationNeverAnnouncedIsHonouredWithinASecond(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// revoke revokes the session while the instance holds its live row,
		// and returns when it did.
		revoke func(t *testing.T, u unannounced) time.Time
	}{
		{"after the live row was cached", func(t *testing.T, u unannounced) time.Time {
			at := u.revoke(t)
			if !u.in.authenticate(t, u.token) {
				t.Fatal("the token was refused at once: the revocation reached the cache " +
					"some other way, and this test shows nothing")
			}
			return at
		}},
		{"while a slow lookup returned the live row", func(t *testing.T,
			u unannounced) time.Time {
			u.clock.Advance(time.Second) // the cached entry has expired
			var at time.Time
			slow := func() {
				at = u.revoke(t)
				u.clock.Advance(600 * time.Millisecond)
			}
			u.in.lookups.after.Store(&slow)
			defer u.in.lookups.after.Store(nil)
			if !u.in.authenticate(t, u.token) || at.IsZero() {
				t.Fatal("the slow lookup did not return the live row, " +
					"and this test shows nothing")
			}
			return at
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, channel := sharedFeed(t)
			clock := newClock()
			st := storetest.SQLite(t)
			a := newInstance(t, st, client, channel, clock)
			g := signUp(t, a, "unannounced@example.com")
			a.waitCached(t, g.AccessToken)
			p, err := a.svc.Authenticate(context.Background(), g.AccessToken)
			if err != nil {
				t.Fatal(err)
			}

			at := tc.revoke(t, unannounced{in: a, st: st, clock: clock, p: p,
				token: g.AccessToken})
			clock.Advance(at.Add(999 * time.Millisecond).Sub(clock.Now()))
			if a.authenticate(t, g.AccessToken) {
				t.Error("the token is still accepted 999ms after its session was revoked; " +
					"want it refused within a second")
			}
		})
	}
}

func TestRevocationOnOneInstanceIsHonouredByTheOthers(t *testing.T) {
	t.Parallel()
	revocations := []struct {
		name   string
		revoke func(t *testing.T, svc *auth.Service, p auth.Principal)
	}{
		{"logout", func(t *testing.T, svc *auth.Service, p auth.Principal) {
			if err := svc.Logout(context.Background(), p, false, auth.Client{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"logout everywhere", func(t *testing.T, svc *auth.Service, p auth.Principal) {
			if err := svc.Logout(context.Background(), p, true, auth.Client{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"session revocation", func(t *testing.T, svc *auth.Service, p auth.Principal) {
			err := svc.RevokeSession(context.Background(), p, p.Session.ID, auth.Client{})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range revocations {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, channel := sharedFeed(t)
			st := storetest.SQLite(t)
			a := newInstance(t, st, client, channel, newClock())
			b := newInstance(t, st, client, channel, newClock())
			g := signUp(t, a, "revoked@example.com")
			a.waitCached(t, g.AccessToken)
			b.waitCached(t, g.AccessToken)

			p, err := a.svc.Authenticate(context.Background(), g.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			tc.revoke(t, a.svc, p)
			if a.authenticate(t, g.AccessToken) {
				t.Error("the revoking instance still accepts the token")
			}
			b.waitRefused(t, g.AccessToken)
		})
	}
}

func TestFeedOutageBypassesTheCacheUntilItReturns(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	st := storetest.SQLite(t)
	a := newInstance(t, st, client, "revocations", newClock())
	b := newInstance(t, st, client, "revocations", newClock())
	g := signUp(t, a, "outage@example.com")
	a.waitCached(t, g.AccessToken)
	b.waitCached(t, g.AccessToken)

	srv.Stop()
	// Once the feed notices, every request goes to the database.
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := b.lookups.n.Load()
		b.authenticate(t, g.AccessToken)
		if b.lookups.n.Load() > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still served from the cache 5s after Redis stopped")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A revocation that cannot be announced still holds everywhere.
	p, err := a.svc.Authenticate(context.Background(), g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Logout(context.Background(), p, false, auth.Client{}); err != nil {
		t.Fatalf("logout with Redis down: %v", err)
	}
	if b.authenticate(t, g.AccessToken) {
		t.Error("the other instance accepted a token revoked during the outage")
	}

	srv.Start()
	g2 := signUp(t, a, "after@example.com")
	b.waitCached(t, g2.AccessToken)
}
