// Package testserver starts a real Latchkey server for tests: the real
// flows and transport over a real store, on a loopback port, with a clock
// the test controls and a mailbox that keeps what the flows mail. Tests of
// the public packages (client, verify), of the examples and of the OpenAPI
// document use it, so that they exercise what a deployment runs.
package testserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/web"
)

// Test secrets; never used outside tests.
var (
	AccessSecret  = []byte("testserver-access-secret-0123456789abcdef")
	refreshSecret = []byte("testserver-refresh-secret-0123456789abcdef")
	mfaKey        = []byte("testserver-mfa-key-0123456789ab!")
)

// The claims every test server issues.
const (
	Issuer   = "latchkey"
	Audience = "latchkey-users"
)

// Options configure a Server. The zero value is an HS256 server on a fresh
// SQLite store with the default lifetimes.
type Options struct {
	// Store is the store to serve; a fresh SQLite file when nil.
	Store store.Store
	// Keys signs access tokens asymmetrically; HS256 with AccessSecret when
	// nil.
	Keys *token.KeySet
	// AccessTTL is the access token lifetime; 15 minutes when zero.
	AccessTTL time.Duration
	// Auth adjusts the flows' options after the defaults are set.
	Auth func(*auth.Options)
	// HTTP are the transport options; Ready, Metrics and MetricsHandler
	// are filled in.
	HTTP httpapi.Options
	// Wrap, when set, wraps the API handler, to count or record requests.
	Wrap func(http.Handler) http.Handler
	// Web mounts the hosted pages and the browser client (package web) at
	// WebPrefix, as `latchkey serve` does.
	Web       bool
	WebPrefix string
}

// Server is a running Latchkey.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL     string
	Clock   *Clock
	Store   store.Store
	Service *auth.Service
	API     *httpapi.Server
	Access  *token.Access
	Mailbox *Mailbox

	close func()
}

// Start starts a server that stops when the test ends. Without a store in
// o, it serves a fresh SQLite file under t.TempDir().
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Store == nil {
		o.Store = storetest.SQLite(t)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server outside a test, for Example functions; Close stops
// it. Without a store in o, it serves a fresh SQLite file of its own,
// removed by Close.
func New(o Options) (*Server, error) {
	var closers []func()
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	if o.Store == nil {
		dir, err := os.MkdirTemp("", "latchkey-testserver-")
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { os.RemoveAll(dir) })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := sqlite.Open(ctx, filepath.Join(dir, "latchkey.db"))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("testserver: open SQLite: %w", err)
		}
		closers = append(closers, func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			closeAll()
			return nil, fmt.Errorf("testserver: migrate SQLite: %w", err)
		}
		o.Store = db
	}
	if o.AccessTTL == 0 {
		o.AccessTTL = 15 * time.Minute
	}
	clk := NewClock(time.Now())

	// Cheap bcrypt: tests spend their time on the flows, not on hashing.
	hasher, err := password.NewHasher(password.Options{Algorithm: password.Bcrypt,
		BcryptCost: 4})
	if err != nil {
		closeAll()
		return nil, err
	}
	policy := password.DefaultPolicy()
	policy.MaxBytes = hasher.MaxBytes()
	access, err := token.NewAccess(token.AccessOptions{Secret: AccessSecret, Keys: o.Keys,
		Issuer: Issuer, Audience: Audience, TTL: o.AccessTTL})
	if err != nil {
		closeAll()
		return nil, err
	}
	keyed, err := token.NewKeyed(refreshSecret)
	if err != nil {
		closeAll()
		return nil, err
	}

	publicURL, _ := url.Parse("http://latchkey.test")
	authOpts := auth.Options{
		RefreshTTL:       7 * 24 * time.Hour,
		ReuseGrace:       10 * time.Second,
		IdleTimeout:      7 * 24 * time.Hour,
		MaxAge:           30 * 24 * time.Hour,
		MaxLoginAttempts: 5,
		LockoutDuration:  15 * time.Minute,
		PublicURL:        publicURL,
	}
	if o.WebPrefix != "" {
		authOpts.PagesURL = publicURL.JoinPath(o.WebPrefix)
	}
	if o.Auth != nil {
		o.Auth(&authOpts)
	}

	log := slog.New(httpapi.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	m := metrics.New()
	box := &Mailbox{}
	svc := auth.New(auth.Deps{
		Store:    o.Store,
		Hasher:   hasher,
		Policy:   policy,
		Access:   access,
		Keyed:    keyed,
		Attempts: ratelimit.NewMemory(clk.Now),
		Audit:    audit.Multi(m, audit.New(o.Store, log)),
		Now:      clk.Now,
		Log:      log,
		MFAKey:   mfaKey,
		Mailer:   box,
	}, authOpts)

	httpOpts := o.HTTP
	httpOpts.Ready = o.Store.Ping
	httpOpts.Metrics = m
	if httpOpts.MetricsHandler == nil {
		httpOpts.MetricsHandler = m.Handler()
	}
	if httpOpts.PublicURL == nil {
		httpOpts.PublicURL = publicURL
	}
	if o.Web {
		pages, err := web.New(svc, web.Options{Prefix: o.WebPrefix,
			PublicURL: httpOpts.PublicURL, Secret: refreshSecret, Log: log})
		if err != nil {
			closeAll()
			return nil, err
		}
		httpOpts.Pages = pages
	}
	api := httpapi.New(svc, httpOpts, log)
	var h http.Handler = api
	if o.Wrap != nil {
		h = o.Wrap(api)
	}
	srv := httptest.NewServer(h)
	closers = append(closers, srv.Close)

	return &Server{URL: srv.URL, Clock: clk, Store: o.Store, Service: svc, API: api,
		Access: access, Mailbox: box, close: closeAll}, nil
}

// Close stops the server and removes what New made for it.
func (s *Server) Close() { s.close() }

// CreateUser creates an account directly, as `latchkey user create` does.
func (s *Server) CreateUser(t testing.TB, email, pw, role string) store.User {
	t.Helper()
	u, err := s.Service.CreateUser(context.Background(), auth.RegisterInput{Email: email,
		Password: pw}, role)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// Clock is a time source the test moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock {
	return &Clock{t: t.UTC().Truncate(time.Millisecond)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Mail is one message the flows sent.
type Mail struct {
	Kind mail.Kind
	To   string
	Data mail.Data
}

// Token returns the single-use token of the mail's link, or "".
func (m Mail) Token() string {
	_, frag, ok := strings.Cut(m.Data.Link, "#")
	if !ok {
		return ""
	}
	v, err := url.ParseQuery(frag)
	if err != nil {
		return ""
	}
	return v.Get("token")
}

// Mailbox keeps every mail the flows send. It implements auth.Mailer.
type Mailbox struct {
	mu    sync.Mutex
	mails []Mail
}

// Send records a mail.
func (b *Mailbox) Send(_ context.Context, kind mail.Kind, to string, d mail.Data) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mails = append(b.mails, Mail{Kind: kind, To: to, Data: d})
}

// Last returns the newest mail of kind sent to to.
func (b *Mailbox) Last(kind mail.Kind, to string) (Mail, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range slices.Backward(b.mails) {
		if m.Kind == kind && strings.EqualFold(m.To, to) {
			return m, true
		}
	}
	return Mail{}, false
}
