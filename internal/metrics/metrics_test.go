package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// exposition returns what the metrics handler serves.
func exposition(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	return rec.Body.String()
}

func TestEachMeasureReachesItsSeries(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ObserveRequest("POST /api/auth/login", 401, 30*time.Millisecond)
	m.ObserveRequest("", 404, time.Millisecond)
	m.ObserveRefresh(true)
	m.ObserveRefresh(false)
	m.ObserveRefresh(false)
	for _, typ := range []string{auth.EventLocked, auth.EventReuseDetected, auth.EventMFAEnabled} {
		m.Record(t.Context(), auth.Event{Type: typ})
	}
	m.RateLimited("login")
	m.WatchMail(func() metrics.MailStats {
		return metrics.MailStats{Sent: 2, Failed: 1, Dropped: 4, Backlog: 5}
	})
	m.SetActiveSessions(42)
	m.WatchReady("database", func(context.Context) error { return nil })
	m.WatchReady("redis", func(ctx context.Context) error { return context.DeadlineExceeded })
	var inFlight atomic.Int64
	inFlight.Store(3)
	m.WatchHashes(func() int { return int(inFlight.Load()) })

	body := exposition(t, m)
	want := []string{
		`latchkey_http_requests_total{route="POST /api/auth/login",status="401"} 1`,
		`latchkey_http_requests_total{route="unmatched",status="404"} 1`,
		`latchkey_http_request_duration_seconds_bucket{route="POST /api/auth/login",` +
			`status="401",le="0.05"} 1`,
		`latchkey_refreshes_total{outcome="success"} 1`,
		`latchkey_refreshes_total{outcome="failure"} 2`,
		`latchkey_lockouts_total 1`,
		`latchkey_refresh_reuse_detected_total 1`,
		`latchkey_security_events_total{type="mfa.enabled"} 1`,
		`latchkey_logins_total{outcome="failure"} 0`,
		`latchkey_rate_limited_total{limit="login"} 1`,
		`latchkey_mails_sent_total 2`,
		`latchkey_mails_failed_total 1`,
		`latchkey_mails_dropped_total 4`,
		`latchkey_mail_backlog 5`,
		`latchkey_active_sessions 42`,
		`latchkey_password_hashes_in_flight 3`,
		`latchkey_ready{check="database"} 1`,
		`latchkey_ready{check="redis"} 0`,
	}
	for _, line := range want {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

func TestANilMetricsIgnoresEverything(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.ObserveRequest("GET /healthz", 200, time.Millisecond)
	m.ObserveRefresh(true)
	m.Record(t.Context(), auth.Event{Type: auth.EventLocked})
	m.RateLimited("api")
	m.WatchMail(func() metrics.MailStats { return metrics.MailStats{} })
	m.SetActiveSessions(1)
	m.WatchHashes(func() int { return 0 })
	m.WatchReady("database", nil)
	if l := m.CountRefusals(nil); l != nil {
		t.Errorf("CountRefusals(nil) = %v; want nil", l)
	}
	m.SampleActiveSessions(t.Context(), time.Millisecond, nil, nil)
}

func TestActiveSessionsAreSampledUntilCancelled(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	count := func(ctx context.Context) (int64, error) {
		now := time.Now()
		return st.CountActiveSessions(ctx, now, now.Add(-time.Hour))
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.SampleActiveSessions(ctx, time.Millisecond, count, log)
	}()

	u := store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "s@example.com",
		PasswordHash: "x", Role: store.RoleUser, Active: true,
		CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		now := time.Now().UTC()
		sess := store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID,
			CreatedAt: now, LastActivity: now, ExpiresAt: now.Add(time.Hour)}
		tok := store.RefreshToken{ID: uuid.Must(uuid.NewV7()).String(), SessionID: sess.ID,
			UserID: u.ID, TokenHash: sess.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(t.Context(), sess, tok); err != nil {
			t.Fatal(err)
		}
		line := "latchkey_active_sessions " + strconv.Itoa(want) + "\n"
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(exposition(t, m), line) {
			if time.Now().After(deadline) {
				t.Fatalf("the gauge never showed %d sessions", want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	<-done
}

func TestRefusalsAreCountedByRule(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	l := m.CountRefusals(ratelimit.NewMemoryLimiter(nil))
	login := ratelimit.Rule{Name: "login", Max: 2, Window: time.Hour}
	api := ratelimit.Rule{Name: "api", Max: 1, Window: time.Hour}

	steps := []struct {
		name    string
		call    func() (ratelimit.Result, error)
		allowed bool
	}{
		{"first login spent", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), login, "k")
		}, true},
		{"second login spent", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), login, "k")
		}, true},
		{"third login refused", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), login, "k")
		}, false},
		{"second login given back", func() (ratelimit.Result, error) {
			return l.Refund(t.Context(), login, "k")
		}, true},
		{"third login spent", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), login, "k")
		}, true},
		{"fourth login refused", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), login, "k")
		}, false},
		{"first request", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), api, "k")
		}, true},
		{"second request", func() (ratelimit.Result, error) {
			return l.Allow(t.Context(), api, "k")
		}, false},
	}
	for _, st := range steps {
		res, err := st.call()
		if err != nil || res.Allowed != st.allowed {
			t.Fatalf("%s: allowed %v, %v; want %v", st.name, res.Allowed, err, st.allowed)
		}
	}
	body := exposition(t, m)
	for _, line := range []string{`latchkey_rate_limited_total{limit="login"} 2`,
		`latchkey_rate_limited_total{limit="api"} 1`} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("exposition lacks %q", line)
		}
	}
}
