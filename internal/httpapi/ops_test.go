package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// scrape reads /metrics and returns every sample by its series, such as
// `latchkey_logins_total{outcome="success"}`.
func scrape(t *testing.T, e *env) map[string]float64 {
	t.Helper()
	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("unparsable sample line %q", line)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return samples
}

func TestMetricsCountALoginAndAFailedLoginExactly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.createUser("counted@example.com", store.RoleUser)
		// Touch every series once, so that the deltas below are not the
		// creation of a series.
		e.browser().login("warmup@example.com", "Wrong-password1!")
		before := scrape(t, e)

		if r := e.browser().login("counted@example.com", strongPassword); r.Status != 200 {
			t.Fatalf("login = %d %s", r.Status, r.Raw)
		}
		wantError(t, e.browser().login("counted@example.com", "Wrong-password1!"),
			http.StatusUnauthorized, "invalid_credentials")
		after := scrape(t, e)

		deltas := []struct {
			series string
			want   float64
		}{
			{`latchkey_logins_total{outcome="success"}`, 1},
			{`latchkey_logins_total{outcome="failure"}`, 1},
			{`latchkey_security_events_total{type="login.succeeded"}`, 1},
			{`latchkey_security_events_total{type="login.failed"}`, 1},
			{`latchkey_http_requests_total{route="POST /api/auth/login",status="200"}`, 1},
			{`latchkey_http_requests_total{route="POST /api/auth/login",status="401"}`, 1},
			{`latchkey_http_request_duration_seconds_count{route="POST /api/auth/login",` +
				`status="200"}`, 1},
			{`latchkey_http_request_duration_seconds_count{route="POST /api/auth/login",` +
				`status="401"}`, 1},
			{`latchkey_lockouts_total`, 0},
			{`latchkey_refreshes_total{outcome="success"}`, 0},
			{`latchkey_refresh_reuse_detected_total`, 0},
		}
		for _, d := range deltas {
			a, ok := after[d.series]
			if !ok {
				t.Errorf("no series %s", d.series)
				continue
			}
			if got := a - before[d.series]; got != d.want {
				t.Errorf("%s moved by %v; want %v", d.series, got, d.want)
			}
		}
		for _, name := range []string{"latchkey_password_hashes_in_flight",
			"latchkey_active_sessions", "go_goroutines"} {
			if _, ok := after[name]; !ok {
				t.Errorf("no series %s", name)
			}
		}
	})
}

func TestMetricsCountRefreshesReuseAndLockouts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *envConfig) { c.auth.MaxLoginAttempts = 2 })
		before := scrape(t, e)

		b := e.browser()
		b.register("cycle@example.com")
		first := b.refreshCookie()
		if r := b.do("POST", "/api/auth/refresh", nil); r.Status != http.StatusOK {
			t.Fatalf("refresh = %d %s", r.Status, r.Raw)
		}
		e.clock.Advance(e.opts.ReuseGrace + time.Second)
		wantError(t, e.browser().do("POST", "/api/auth/refresh",
			map[string]string{"refreshToken": first}), http.StatusUnauthorized, "invalid_token")
		for range 2 {
			e.browser().login("cycle@example.com", "Wrong-password1!")
		}
		after := scrape(t, e)

		deltas := []struct {
			series string
			want   float64
		}{
			{`latchkey_refreshes_total{outcome="success"}`, 1},
			{`latchkey_refreshes_total{outcome="failure"}`, 1},
			{`latchkey_refresh_reuse_detected_total`, 1},
			{`latchkey_lockouts_total`, 1},
			{`latchkey_logins_total{outcome="failure"}`, 2},
			{`latchkey_logins_total{outcome="success"}`, 0},
		}
		for _, d := range deltas {
			if got := after[d.series] - before[d.series]; got != d.want {
				t.Errorf("%s moved by %v; want %v", d.series, got, d.want)
			}
		}
	})
}

func TestMetricsCountRateLimitedRequestsUnderTheirRoute(t *testing.T) {
	t.Parallel()
	roomy := ratelimit.Rule{Name: "api", Max: 1000, Window: time.Hour}
	e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
		c.server.RateLimits = httpapi.RateLimits{
			Limiter: ratelimit.NewMemoryLimiter(nil),
			General: roomy,
			Login:   ratelimit.Rule{Name: "login", Max: 2, Window: time.Hour},
			Reset:   ratelimit.Rule{Name: "reset", Max: 1000, Window: time.Hour},
		}
	})
	before := scrape(t, e)
	for range 2 {
		wantError(t, e.browser().login("nobody@example.com", "Wrong-password1!"),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantError(t, e.browser().login("nobody@example.com", "Wrong-password1!"),
		http.StatusTooManyRequests, "rate_limited")
	after := scrape(t, e)

	deltas := []struct {
		series string
		want   float64
	}{
		{`latchkey_rate_limited_total{limit="login"}`, 1},
		{`latchkey_rate_limited_total{limit="api"}`, 0},
		{`latchkey_http_requests_total{route="POST /api/auth/login",status="429"}`, 1},
		{`latchkey_http_requests_total{route="POST /api/auth/login",status="401"}`, 2},
		{`latchkey_logins_total{outcome="failure"}`, 2},
	}
	for _, d := range deltas {
		if got := after[d.series] - before[d.series]; got != d.want {
			t.Errorf("%s moved by %v; want %v", d.series, got, d.want)
		}
	}
}

func TestReadyzChecksEveryDependency(t *testing.T) {
	t.Parallel()
	blocked := func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.9:6379: refused") }
	up := func(context.Context) error { return nil }

	tests := []struct {
		name   string
		checks []httpapi.ReadyCheck
		status int
		want   map[string]any
	}{
		{"the database alone answers", nil, http.StatusOK,
			map[string]any{"database": "ok"}},
		{"every dependency answers", []httpapi.ReadyCheck{{Name: "redis", Check: up}},
			http.StatusOK, map[string]any{"database": "ok", "redis": "ok"}},
		{"one dependency is down", []httpapi.ReadyCheck{{Name: "redis", Check: down}},
			http.StatusServiceUnavailable,
			map[string]any{"database": "ok", "redis": "unavailable"}},
		{"a dependency the server can do without is down", []httpapi.ReadyCheck{{Name: "redis",
			Check: down, Degrades: true}}, http.StatusOK,
			map[string]any{"database": "ok", "redis": "unavailable"}},
		{"one dependency does not answer in time", []httpapi.ReadyCheck{{Name: "redis",
			Check: blocked}}, http.StatusServiceUnavailable,
			map[string]any{"database": "ok", "redis": "timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
				c.server.ReadyChecks = tc.checks
			})
			r := e.browser().do("GET", "/readyz", nil)
			if r.Status != tc.status {
				t.Errorf("status = %d, want %d (%s)", r.Status, tc.status, r.Raw)
			}
			wantStatus := "ok"
			switch {
			case tc.status != http.StatusOK:
				wantStatus = "unavailable"
			case tc.want["redis"] != "ok" && tc.want["redis"] != nil:
				wantStatus = "degraded"
			}
			if r.str("status") != wantStatus || !equalMaps(r.obj("checks"), tc.want) {
				t.Errorf("body = %s; want status %q and checks %v", r.Raw, wantStatus, tc.want)
			}
			if strings.Contains(r.Raw, "10.0.0.9") {
				t.Errorf("body leaks the error text: %s", r.Raw)
			}
		})
	}

	t.Run("a closed database makes the server unready", func(t *testing.T) {
		t.Parallel()
		st := storetest.SQLite(t)
		e := newEnv(t, st)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.browser().do("GET", "/readyz", nil)
		if r.Status != http.StatusServiceUnavailable ||
			r.obj("checks")["database"] != "unavailable" {
			t.Errorf("readyz = %d %s; want 503 with the database unavailable", r.Status, r.Raw)
		}
	})
}

func equalMaps(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// logLines is a slog destination that keeps every JSON record.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the records logged so far.
func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.buf.Bytes()))
	for {
		var rec map[string]any
		if err := dec.Decode(&rec); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("log is not JSON lines: %v", err)
		}
		out = append(out, rec)
	}
}

func TestRequestIDsComeFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		sent    string
		kept    bool
	}{
		{"a trusted proxy's id is kept", loopback, "3f2c1a9e-5d4b-4c7a-9e8f-0a1b2c3d4e5f", true},
		{"a trusted proxy's id with dots and colons is kept", loopback, "lb-1:req.42_a", true},
		{"a client's own id is replaced", nil, "3f2c1a9e-5d4b-4c7a-9e8f-0a1b2c3d4e5f", false},
		{"an id with spaces is replaced", loopback, "forged id", false},
		{"an id with a quote is replaced", loopback, `x" level=ERROR msg="forged`, false},
		{"an id over 128 characters is replaced", loopback, strings.Repeat("a", 129), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
				c.server.TrustedProxies = tc.trusted
			})
			r := e.browser().do("GET", "/healthz", nil, "X-Request-Id", tc.sent)
			got := r.Header.Get("X-Request-Id")
			if kept := got == tc.sent; kept != tc.kept || got == "" {
				t.Errorf("X-Request-Id = %q for %q; want kept = %v", got, tc.sent, tc.kept)
			}
		})
	}
}

func TestEveryLogLineOfARequestCarriesItsID(t *testing.T) {
	t.Parallel()
	logs := &logLines{}
	e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
		c.auth.MaxLoginAttempts = 1
		c.log = slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	})
	e.createUser("locked@example.com", store.RoleUser)

	// The failure that locks the account makes the flow log, then the
	// access record follows.
	r := e.browser().login("locked@example.com", "Wrong-password1!")
	wantError(t, r, http.StatusTooManyRequests, "account_locked")
	id := r.Header.Get("X-Request-Id")

	var mine, flow int
	for _, rec := range logs.records(t) {
		if rec["request_id"] != id {
			continue
		}
		mine++
		if rec["msg"] != "request" {
			flow++
		}
	}
	if flow == 0 || mine < 2 {
		t.Fatalf("%d records carry request_id %s, %d of them from the flow; want the flow's "+
			"and the access record:\n%s", mine, id, flow, logs.buf.String())
	}
	for _, rec := range logs.records(t) {
		if _, ok := rec["request_id"]; !ok && rec["msg"] == "request" {
			t.Errorf("access record without request_id: %v", rec)
		}
	}
}
