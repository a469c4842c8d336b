package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/revocation"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// roomy is a budget no test spends.
var roomy = ratelimit.Rule{Name: "roomy", Max: 1000, Window: time.Hour}

// limits returns rate limits on l with every budget roomy except those
// edit changes.
func limits(l httpapi.Limiter, edit func(*httpapi.RateLimits)) httpapi.RateLimits {
	rl := httpapi.RateLimits{Limiter: l, General: roomy, Login: roomy, Reset: roomy}
	rl.General.Name, rl.Login.Name, rl.Reset.Name = "api", "login", "reset"
	if edit != nil {
		edit(&rl)
	}
	return rl
}

func withRateLimits(rl httpapi.RateLimits) func(*envConfig) {
	return func(c *envConfig) { c.server.RateLimits = rl }
}

func withTrustedProxies(cidrs ...string) func(*envConfig) {
	return func(c *envConfig) {
		for _, s := range cidrs {
			c.server.TrustedProxies = append(c.server.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// wantBudget checks the RateLimit-* headers of r.
func wantBudget(t *testing.T, r response, limit, remaining int) {
	t.Helper()
	got := [2]string{r.Header.Get("RateLimit-Limit"), r.Header.Get("RateLimit-Remaining")}
	want := [2]string{strconv.Itoa(limit), strconv.Itoa(remaining)}
	if got != want {
		t.Errorf("RateLimit-Limit, -Remaining = %q; want %q", got, want)
	}
	if reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset")); err != nil || reset < 0 {
		t.Errorf("RateLimit-Reset = %q; want seconds", r.Header.Get("RateLimit-Reset"))
	}
}

// wantRetryAfter checks that r tells the client to wait about d.
func wantRetryAfter(t *testing.T, r response, d time.Duration) {
	t.Helper()
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || time.Duration(secs)*time.Second < d-time.Minute ||
		time.Duration(secs)*time.Second > d {
		t.Errorf("Retry-After = %q; want about %v", r.Header.Get("Retry-After"), d)
	}
}

func TestGeneralLimitRefusesWith429AndDescribesTheBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t), withRateLimits(limits(ratelimit.NewMemoryLimiter(nil),
		func(rl *httpapi.RateLimits) { rl.General.Max = 3 })))
	b := e.browser()

	for i := range 3 {
		r := b.do("GET", "/api/auth/profile", nil)
		wantError(t, r, http.StatusUnauthorized, "invalid_token")
		wantBudget(t, r, 3, 2-i)
	}
	r := b.do("GET", "/api/auth/profile", nil)
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantBudget(t, r, 3, 0)
	// One request comes back every window/max: twenty minutes.
	wantRetryAfter(t, r, 20*time.Minute)

	if r := b.do("GET", "/healthz", nil); r.Status != http.StatusOK ||
		r.Header.Get("RateLimit-Limit") != "" {
		t.Errorf("/healthz = %d with RateLimit-Limit %q; want 200 without limits",
			r.Status, r.Header.Get("RateLimit-Limit"))
	}
}

// eachLimiter runs f with the in-memory limiter and with one on Redis.
func eachLimiter(t *testing.T, f func(t *testing.T, l httpapi.Limiter)) {
	t.Helper()
	t.Run("in memory", func(t *testing.T) {
		t.Parallel()
		f(t, ratelimit.NewMemoryLimiter(nil))
	})
	t.Run("on Redis", func(t *testing.T) {
		t.Parallel()
		c := redistest.Client(t)
		f(t, ratelimit.NewRedis(c, redistest.Prefix(t, c), nil))
	})
}

func TestLoginLimitCountsFailedLoginsOnly(t *testing.T) {
	t.Parallel()
	eachLimiter(t, testLoginLimitCountsFailedLoginsOnly)
}

func testLoginLimitCountsFailedLoginsOnly(t *testing.T, l httpapi.Limiter) {
	e := newEnv(t, storetest.SQLite(t), withRateLimits(limits(l,
		func(rl *httpapi.RateLimits) { rl.Login.Max = 3 })))
	b := e.browser()
	b.register("limited@example.com")

	steps := []struct {
		password  string
		status    int
		remaining int
	}{
		{"wrong-password", http.StatusUnauthorized, 2},
		{strongPassword, http.StatusOK, 2},
		{strongPassword, http.StatusOK, 2},
		{"wrong-password", http.StatusUnauthorized, 1},
		{"wrong-password", http.StatusUnauthorized, 0},
	}
	for i, st := range steps {
		r := b.login("limited@example.com", st.password)
		if r.Status != st.status {
			t.Fatalf("attempt %d: status %d (%s); want %d", i+1, r.Status, r.Raw, st.status)
		}
		wantBudget(t, r, 3, st.remaining)
	}

	// Over the limit the attempt is refused before the password is looked
	// at, so even the right one gets 429.
	r := b.login("limited@example.com", strongPassword)
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantRetryAfter(t, r, 20*time.Minute)

	// Another client still may.
	other := e.browser()
	if r := other.do("POST", "/api/auth/login", map[string]string{
		"email": "limited@example.com", "password": strongPassword,
	}, "X-Forwarded-For", "198.51.100.1"); r.Status != http.StatusTooManyRequests {
		t.Errorf("a spoofed X-Forwarded-For got a fresh budget: status %d", r.Status)
	}
}

func TestABurstOfWrongLoginsFromOneClientGetsOnlyTheLoginBudgetChecked(t *testing.T) {
	t.Parallel()
	eachLimiter(t, func(t *testing.T, l httpapi.Limiter) {
		const budget, n = 5, 30
		st := storetest.SQLite(t)
		e := newEnv(t, st, withRateLimits(limits(l, func(rl *httpapi.RateLimits) {
			rl.Login.Max, rl.Login.Window = budget, 15*time.Minute
		})), func(c *envConfig) {
			// Each check takes a while, as in production, so that the
			// burst is all in flight while the first passwords are
			// checked; and none is turned away for want of a hashing slot.
			c.hash.BcryptCost, c.hash.MaxWait = 9, time.Minute
		})
		b := e.browser()
		b.register("burst-owner@example.com")

		// Successful logins cost nothing, however many.
		for i := range budget + 2 {
			r := b.login("burst-owner@example.com", strongPassword)
			if r.Status != http.StatusOK {
				t.Fatalf("login %d: %d %s; want 200", i+1, r.Status, r.Raw)
			}
			wantBudget(t, r, budget, budget)
		}

		// Each wrong password is for another email, so that no account's
		// lockout plays a part: only the client's login budget stops them.
		rc := newRacer(t, e, n)
		answers := tally(t, n, func(i int) (int, string, error) {
			body := fmt.Sprintf(`{"email":"burst%d@example.com","password":"Wrong-pass1!"}`, i)
			res, err := rc.client.Post(e.srv.URL+"/api/auth/login", "application/json",
				strings.NewReader(body))
			if err != nil {
				return 0, "", err
			}
			defer res.Body.Close()
			var out struct{ Code string }
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				return 0, "", err
			}
			if res.StatusCode == http.StatusTooManyRequests {
				if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil ||
					secs < 1 || res.Header.Get("RateLimit-Remaining") != "0" {
					t.Errorf("429 with Retry-After %q, RateLimit-Remaining %q; "+
						"want seconds and 0", res.Header.Get("Retry-After"),
						res.Header.Get("RateLimit-Remaining"))
				}
			}
			return res.StatusCode, out.Code, nil
		})

		want := map[string]int{
			"401 invalid_credentials": budget,
			"429 rate_limited":        n - budget,
		}
		if !maps.Equal(answers, want) {
			t.Errorf("answers to %d simultaneous wrong logins = %v; want %v", n, answers, want)
		}
		events, err := st.AuditEvents(t.Context(), store.AuditQuery{
			Type: "login.failed", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != budget {
			t.Errorf("passwords checked = %d; want %d", len(events), budget)
		}

		// The budget is spent: now even the right password waits.
		r := b.login("burst-owner@example.com", strongPassword)
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		wantRetryAfter(t, r, 3*time.Minute)
	})
}

func TestPasswordResetRequestsHaveABudgetOfTheirOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t), withRateLimits(limits(ratelimit.NewMemoryLimiter(nil),
		func(rl *httpapi.RateLimits) { rl.Reset.Max = 2 })))
	b := e.browser()

	for i, path := range []string{"/api/auth/password/forgot", "/api/auth/password/reset"} {
		r := b.do("POST", path, map[string]string{"email": "nobody@example.com"})
		if r.Status == http.StatusTooManyRequests {
			t.Fatalf("request %d to %s refused: %s", i+1, path, r.Raw)
		}
		wantBudget(t, r, 2, 1-i)
	}
	r := b.do("POST", "/api/auth/password/forgot", map[string]string{"email": "x@example.com"})
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantRetryAfter(t, r, 30*time.Minute)

	if r := b.do("GET", "/api/auth/profile", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("another route after the reset budget was spent: %d; want 401", r.Status)
	}
}

func TestClientAddressDecidesTheBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted []string
		spend   string // X-Forwarded-For of the requests that spend the budget
		next    string // X-Forwarded-For of the request after them
		fresh   bool   // whether that request has a fresh budget
	}{
		{"a spoofed X-Forwarded-For from an untrusted peer gets no fresh budget",
			nil, "198.51.100.1", "198.51.100.2", false},
		{"a trusted proxy's forwarded address is the client",
			[]string{"127.0.0.0/8"}, "198.51.100.1", "198.51.100.2", true},
		{"a trusted proxy's client keeps its own budget",
			[]string{"127.0.0.0/8"}, "198.51.100.1", "198.51.100.1", false},
		{"an address in the same IPv6 /64 shares the budget",
			[]string{"127.0.0.0/8", "::1/128"}, "2001:db8:0:1::1", "2001:db8:0:1::abcd", false},
		{"an address in another IPv6 /64 does not",
			[]string{"127.0.0.0/8", "::1/128"}, "2001:db8:0:1::1", "2001:db8:0:2::1", true},
		{"an IPv4-mapped address shares its IPv4 budget",
			[]string{"127.0.0.0/8"}, "198.51.100.1", "::ffff:198.51.100.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.SQLite(t), withTrustedProxies(tc.trusted...),
				withRateLimits(limits(ratelimit.NewMemoryLimiter(nil),
					func(rl *httpapi.RateLimits) { rl.General.Max = 2 })))
			b := e.browser()
			for range 2 {
				b.do("GET", "/api/auth/profile", nil, "X-Forwarded-For", tc.spend)
			}
			r := b.do("GET", "/api/auth/profile", nil, "X-Forwarded-For", tc.next)
			if fresh := r.Status != http.StatusTooManyRequests; fresh != tc.fresh {
				t.Errorf("status %d: fresh budget = %v; want %v", r.Status, fresh, tc.fresh)
			}
		})
	}
}

func TestRedisOutageClosesLoginAndResetAndKeepsTheRestWorking(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	shared := ratelimit.NewRedis(client, "latchkey:", nil)
	feed := revocation.NewRedis(client, "latchkey:revocations", nil)

	e := newEnv(t, storetest.SQLite(t),
		withRateLimits(limits(shared, nil)),
		func(c *envConfig) {
			c.attempts = shared
			c.revocations = feed
			c.server.ReadyChecks = []httpapi.ReadyCheck{
				{Name: "redis", Check: shared.Ping, Degrades: true}}
		})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.svc.FollowRevocations(ctx)

	b := e.browser()
	b.register("outage@example.com")
	if r := b.login("outage@example.com", strongPassword); r.Status != http.StatusOK {
		t.Fatalf("login with Redis up: %d %s", r.Status, r.Raw)
	}
	other := e.browser()
	if r := other.login("outage@example.com", strongPassword); r.Status != http.StatusOK {
		t.Fatalf("second login with Redis up: %d %s", r.Status, r.Raw)
	}

	srv.Stop()

	t.Run("login fails closed", func(t *testing.T) {
		r := e.browser().login("outage@example.com", strongPassword)
		wantError(t, r, http.StatusServiceUnavailable, "rate_limiter_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
	t.Run("password reset fails closed", func(t *testing.T) {
		r := e.browser().do("POST", "/api/auth/password/forgot",
			map[string]string{"email": "outage@example.com"})
		wantError(t, r, http.StatusServiceUnavailable, "rate_limiter_unavailable")
	})
	t.Run("signed-in requests keep working", func(t *testing.T) {
		if r := b.do("GET", "/api/auth/profile", nil); r.Status != http.StatusOK {
			t.Errorf("profile: %d %s; want 200", r.Status, r.Raw)
		}
		if r := b.do("POST", "/api/auth/refresh", nil); r.Status != http.StatusOK {
			t.Errorf("refresh: %d %s; want 200", r.Status, r.Raw)
		}
	})
	t.Run("revocation still holds at once", func(t *testing.T) {
		tok := other.token
		if r := other.do("POST", "/api/auth/logout", nil); r.Status != http.StatusOK {
			t.Fatalf("logout: %d %s", r.Status, r.Raw)
		}
		other.token = tok
		r := other.do("GET", "/api/auth/profile", nil)
		wantError(t, r, http.StatusUnauthorized, "invalid_token")
	})
	t.Run("readiness shows Redis down and the instance degraded", func(t *testing.T) {
		r := b.do("GET", "/readyz", nil)
		if r.Status != http.StatusOK || r.str("status") != "degraded" ||
			r.obj("checks")["redis"] != "unavailable" || r.obj("checks")["database"] != "ok" {
			t.Errorf("/readyz = %d %s; want 200, degraded, redis unavailable", r.Status, r.Raw)
		}
	})

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.browser().login("outage@example.com", strongPassword)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login 10s after Redis returned: %d %s; want 200", r.Status, r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := b.do("GET", "/readyz", nil); r.Status != http.StatusOK || r.str("status") != "ok" {
		t.Errorf("/readyz after recovery = %d %s; want 200 ok", r.Status, r.Raw)
	}
}
