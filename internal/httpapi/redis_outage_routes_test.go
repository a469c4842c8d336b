package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/smtptest"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/revocation"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// Route by route, what a Redis outage does: every route whose limit or
// lockout lives in Redis answers 503 rate_limiter_unavailable with
// Retry-After (never a 500, never unguarded), the others answer as usual,
// the outage is logged, and it all comes back by itself.
func TestRedisOutageRefusesEachGuardedRouteAndServesTheRest(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	logs := &logBuffer{}
	handler := slog.NewTextHandler(logs, nil)
	shared := ratelimit.NewRedis(client, redistest.Prefix(t, client), slog.New(handler))

	smtp := smtptest.Start(t, smtptest.Options{})
	sender, err := mail.NewSMTP(smtp.URL, mail.SMTPOptions{}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	e := newEnv(t, storetest.SQLite(t),
		withMailer(startMailer(t, sender, nil)),
		withRateLimits(limits(shared, nil)),
		func(c *envConfig) {
			c.log = handler
			c.attempts = shared
			c.revocations = revocation.NewRedis(client, "latchkey-test:revocations",
				slog.New(handler))
			c.server.ReadyChecks = []httpapi.ReadyCheck{
				{Name: "redis", Check: shared.Ping, Degrades: true}}
		})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.svc.FollowRevocations(ctx)

	b := e.browser()
	b.register("ada@example.com")
	verifyMail := func() string {
		t.Helper()
		if r := b.do("POST", "/api/auth/email/verify/send", nil); r.Status != 202 {
			t.Fatalf("verify/send with Redis up: %d %s", r.Status, r.Raw)
		}
		return followLink(t, smtp.Next(t, 15*time.Second).Parse(t), "verify-email")
	}
	verifyToken := verifyMail()

	srv.Stop()

	guarded := []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"login", "POST", "/api/auth/login",
			map[string]string{"email": "ada@example.com", "password": strongPassword}},
		{"the second factor", "POST", "/api/auth/login/mfa",
			map[string]string{"mfaToken": "x", "code": "123456"}},
		{"password forgot", "POST", "/api/auth/password/forgot",
			map[string]string{"email": "ada@example.com"}},
		{"password reset", "POST", "/api/auth/password/reset",
			map[string]string{"token": "x", "password": newPassword}},
		{"password change, whose wrong guesses count toward the lockout", "POST",
			"/api/auth/password/change",
			map[string]string{"currentPassword": strongPassword, "newPassword": newPassword}},
		{"verification mail, limited per address", "POST", "/api/auth/email/verify/send", nil},
	}
	for _, tc := range guarded {
		t.Run(tc.name+" answers 503 with Retry-After", func(t *testing.T) {
			r := b.do(tc.method, tc.path, tc.body)
			wantError(t, r, http.StatusServiceUnavailable, "rate_limiter_unavailable")
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}

	open := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"profile", "GET", "/api/auth/profile", nil, http.StatusOK},
		{"sessions", "GET", "/api/auth/sessions", nil, http.StatusOK},
		{"refresh", "POST", "/api/auth/refresh", nil, http.StatusOK},
		{"email verification by link", "POST", "/api/auth/email/verify",
			map[string]string{"token": verifyToken}, http.StatusOK},
		{"register", "POST", "/api/auth/register",
			map[string]string{"email": "grace@example.com", "password": strongPassword},
			http.StatusCreated},
	}
	for _, tc := range open {
		t.Run(tc.name+" keeps working", func(t *testing.T) {
			// Registering with b would replace its access token.
			c := b
			if tc.name == "register" {
				c = e.browser()
			}
			if r := c.do(tc.method, tc.path, tc.body); r.Status != tc.status {
				t.Errorf("%s %s: %d %s; want %d", tc.method, tc.path, r.Status, r.Raw, tc.status)
			}
		})
	}

	if n := strings.Count(logs.String(), "redis unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), strongPassword) {
		t.Errorf("log carries a password:\n%s", logs)
	}

	srv.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := b.changePassword(strongPassword, newPassword)
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("password change after Redis returned: %d %s; want 200", r.Status, r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := e.browser().login("ada@example.com", newPassword); r.Status != http.StatusOK {
		t.Errorf("login after recovery: %d %s", r.Status, r.Raw)
	}
	if !strings.Contains(logs.String(), "redis available again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}
