package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// lastActivity reads the session's last activity straight from the store.
func lastActivity(t *testing.T, st store.Store, sessionID string) time.Time {
	t.Helper()
	su, err := st.SessionUser(t.Context(), sessionID)
	if err != nil {
		t.Fatalf("session %s: %v", sessionID, err)
	}
	return su.Session.LastActivity
}

func TestRequestsSlideTheSessionWithThrottledWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		// A five-minute idle timeout writes the last activity at most every
		// twenty seconds (a fifteenth of it).
		e := newEnv(t, st, func(c *envConfig) { c.auth.IdleTimeout = 5 * time.Minute })
		b, idle := e.browser(), e.browser()
		sess := sessionOf(t, e, b.register("slide@example.com").str("accessToken"))
		idle.register("idle@example.com")
		start := e.clock.Now()

		steps := []struct {
			name    string
			advance time.Duration
			want    time.Time // the stored last activity after the request
		}{
			{"a request soon after the last write writes nothing", 10 * time.Second, start},
			{"a request past the write interval writes the activity", 15 * time.Second,
				start.Add(25 * time.Second)},
			{"a request inside the idle timeout slides it", 4 * time.Minute,
				start.Add(4*time.Minute + 25*time.Second)},
			{"a request after the original idle deadline still works, having slid",
				4 * time.Minute, start.Add(8*time.Minute + 25*time.Second)},
		}
		// The steps build on each other, so they run in order in one test.
		for _, step := range steps {
			e.clock.Advance(step.advance)
			if r := b.do("GET", "/api/auth/profile", nil); r.Status != http.StatusOK {
				t.Fatalf("%s: profile = %d %s; want 200", step.name, r.Status, r.Raw)
			}
			if got := lastActivity(t, st, sess); !got.Equal(step.want) {
				t.Errorf("%s: last activity = %v; want %v", step.name, got, step.want)
			}
		}
		// Meanwhile the session without requests ended at its idle timeout.
		wantError(t, idle.do("GET", "/api/auth/profile", nil),
			http.StatusUnauthorized, "invalid_token")
		wantError(t, idle.do("POST", "/api/auth/refresh", nil),
			http.StatusUnauthorized, "invalid_token")
	})
}

func TestProductionMarksTheRefreshCookieSecureAndSendsHSTS(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), func(c *envConfig) { c.server.Production = true })
	r := e.browser().register("prod@example.com")

	res := http.Response{Header: r.Header}
	var found bool
	for _, c := range res.Cookies() {
		if c.Name != "refreshToken" {
			continue
		}
		found = true
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
			c.Path != "/api/auth" || c.MaxAge != 7*24*3600 {
			t.Errorf("refresh cookie = %+v; want Secure, HttpOnly, Strict, /api/auth, 7d", c)
		}
	}
	if !found {
		t.Fatal("no refreshToken cookie set")
	}
	if got := r.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q; want a max-age", got)
	}
}
