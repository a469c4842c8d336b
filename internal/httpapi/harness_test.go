package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// clock is a controllable time source shared by the server under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	accessSecret  = []byte("test-access-secret-0123456789abcdef")
	refreshSecret = []byte("test-refresh-secret-0123456789abcdef")
)

const strongPassword = "Correct-horse9!"

// env is a real server on a loopback port backed by a real store.
type env struct {
	t      *testing.T
	clock  *clock
	store  store.Store
	svc    *auth.Service
	srv    *httptest.Server
	opts   auth.Options
	access *token.Access
	// metrics counts what the server does; the audit trail goes to store.
	metrics *metrics.Metrics
}

type envOption func(*envConfig)

type envConfig struct {
	auth   auth.Options
	hash   password.Options
	server httpapi.Options
	log    slog.Handler // where the server and flows log; discarded when nil
	mailer auth.Mailer  // delivers the flows' mail; none is sent when nil

	// attempts holds lockout counters; in memory on the test clock when nil.
	attempts auth.Counter
	// revocations makes the flows cache sessions; nothing is cached when nil.
	revocations auth.RevocationFeed
}

// newEnv starts a server over st. Passwords hash with cheap bcrypt unless an
// option says otherwise, so that tests spend their time on the flows.
func newEnv(t *testing.T, st store.Store, options ...envOption) *env {
	t.Helper()
	cfg := envConfig{
		auth: auth.Options{
			RefreshTTL:       7 * 24 * time.Hour,
			ReuseGrace:       10 * time.Second,
			IdleTimeout:      7 * 24 * time.Hour,
			MaxAge:           30 * 24 * time.Hour,
			MaxLoginAttempts: 5,
			LockoutDuration:  15 * time.Minute,
		},
		hash: password.Options{Algorithm: password.Bcrypt, BcryptCost: 4},
	}
	for _, o := range options {
		o(&cfg)
	}

	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	hasher, err := password.NewHasher(cfg.hash)
	if err != nil {
		t.Fatal(err)
	}
	access, err := token.NewAccess(token.AccessOptions{
		Secret: accessSecret, Issuer: "latchkey", Audience: "latchkey-users",
		TTL: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := token.NewKeyed(refreshSecret)
	if err != nil {
		t.Fatal(err)
	}
	policy := password.DefaultPolicy()
	policy.MaxBytes = hasher.MaxBytes()
	logTo := cfg.log
	if logTo == nil {
		logTo = slog.NewTextHandler(io.Discard, nil)
	}
	log := slog.New(httpapi.LogHandler(logTo))
	m := metrics.New()
	m.WatchHashes(hasher.InFlight)
	if cfg.attempts == nil {
		cfg.attempts = ratelimit.NewMemory(clk.Now)
	}
	svc := auth.New(auth.Deps{
		Audit: audit.Multi(m, audit.New(st, log)),
		Store: st, Hasher: hasher, Policy: policy, Access: access, Keyed: keyed,
		Attempts: cfg.attempts, Now: clk.Now, Log: log, MFAKey: mfaKey,
		Mailer: cfg.mailer, Revocations: cfg.revocations,
	}, cfg.auth)

	srvOpts := cfg.server
	srvOpts.Ready = st.Ping
	srvOpts.Metrics = m
	// As serve does: the refusals of the request limits are counted.
	srvOpts.RateLimits.Limiter = m.CountRefusals(srvOpts.RateLimits.Limiter)
	if srvOpts.MetricsHandler == nil {
		srvOpts.MetricsHandler = m.Handler()
	}
	srv := httptest.NewServer(httpapi.New(svc, srvOpts, log))
	t.Cleanup(srv.Close)
	return &env{t: t, clock: clk, store: st, svc: svc, srv: srv, opts: cfg.auth, access: access,
		metrics: m}
}

// browser is an HTTP client with its own cookie jar, like one browser.
type browser struct {
	e      *env
	client *http.Client
	token  string // the last access token received
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// response is a decoded API answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

func (r response) obj(key string) map[string]any {
	m, _ := r.Body[key].(map[string]any)
	return m
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
func (b *browser) do(method, path string, body any, header ...string) response {
	b.e.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			b.e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.e.srv.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			b.e.t.Fatalf("%s %s: response is not JSON: %q", method, path, raw)
		}
	}
	if tok := out.str("accessToken"); tok != "" {
		b.token = tok
	}
	return out
}

func (b *browser) register(email string) response {
	b.e.t.Helper()
	r := b.do("POST", "/api/auth/register", map[string]string{
		"email": email, "password": strongPassword,
	})
	if r.Status != http.StatusCreated {
		b.e.t.Fatalf("register %s: status %d, body %s", email, r.Status, r.Raw)
	}
	return r
}

func (b *browser) login(email, pw string) response {
	b.e.t.Helper()
	return b.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw})
}

// refreshCookie returns the refresh token the jar holds for the auth routes.
func (b *browser) refreshCookie() string {
	u, _ := url.Parse(b.e.srv.URL + "/api/auth/refresh")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "refreshToken" {
			return c.Value
		}
	}
	return ""
}

// wantError checks an error response's status and code.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("code") != code {
		t.Fatalf("got %d %q (%s); want %d %q", r.Status, r.str("code"), r.Raw, status, code)
	}
	if r.str("error") == "" {
		t.Errorf("error response without a message: %s", r.Raw)
	}
}
