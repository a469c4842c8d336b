package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

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

// recorder is an Auditor that keeps the events it is given.
type recorder struct {
	mu     sync.Mutex
	events []auth.Event
}

func (r *recorder) Record(_ context.Context, e auth.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

type fixture struct {
	svc   *auth.Service
	store store.Store
	clock *clock
	audit *recorder
}

const pw = "Correct-horse9!"

var client = auth.Client{IP: "192.0.2.1", UserAgent: "auth-test"}

func newFixture(t *testing.T, hash password.Options) *fixture {
	t.Helper()
	rec := &recorder{}
	f := newFixtureAuditedBy(t, hash, rec)
	f.audit = rec
	return f
}

// newFixtureAuditedBy is newFixture with the auditor given, nil for none.
func newFixtureAuditedBy(t *testing.T, hash password.Options, auditor auth.Auditor) *fixture {
	t.Helper()
	st := storetest.SQLite(t)
	clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	hasher, err := password.NewHasher(hash)
	if err != nil {
		t.Fatal(err)
	}
	access, err := token.NewAccess(token.AccessOptions{
		Secret: []byte(strings.Repeat("a", 32)), Issuer: "latchkey",
		Audience: "latchkey-users", TTL: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := token.NewKeyed([]byte(strings.Repeat("r", 32)))
	if err != nil {
		t.Fatal(err)
	}
	policy := password.DefaultPolicy()
	policy.MaxBytes = hasher.MaxBytes()
	svc := auth.New(auth.Deps{
		Store: st, Hasher: hasher, Policy: policy, Access: access, Keyed: keyed,
		Attempts: ratelimit.NewMemory(clk.Now), Audit: auditor, Now: clk.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, auth.Options{
		RefreshTTL: 24 * time.Hour, ReuseGrace: 10 * time.Second,
		IdleTimeout: 24 * time.Hour, MaxAge: 48 * time.Hour,
		MaxLoginAttempts: 3, LockoutDuration: time.Minute,
	})
	return &fixture{svc: svc, store: st, clock: clk}
}

func code(err error) string {
	var e *auth.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestLoginUpgradesAForeignBcryptHashToArgon2id(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Argon2id})
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run("from "+prefix, func(t *testing.T) {
			u, err := f.svc.CreateUser(t.Context(), auth.RegisterInput{
				Email: strings.Trim(prefix, "$") + "@example.com", Password: pw,
			}, store.RoleUser)
			if err != nil {
				t.Fatal(err)
			}
			legacy, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			imported := prefix + string(legacy[4:])
			if err := f.store.UpdatePasswordHash(t.Context(), u.ID, imported, f.clock.Now()); err != nil {
				t.Fatal(err)
			}

			if _, err := f.svc.Login(t.Context(), u.Email, pw, client); err != nil {
				t.Fatalf("login with an imported %s hash: %v", prefix, err)
			}
			got, err := f.store.UserByID(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
				t.Errorf("hash after login = %.12s…; want it rehashed to argon2id", got.PasswordHash)
			}
			if _, err := f.svc.Login(t.Context(), u.Email, pw, client); err != nil {
				t.Errorf("login after the rehash: %v", err)
			}
		})
	}
}

func TestTwoLoginsUpgradingOneHashAtOnceBothSucceed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Argon2id})
	u, err := f.svc.CreateUser(t.Context(), auth.RegisterInput{
		Email: "twice@example.com", Password: pw,
	}, store.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	// Both logins check the same bcrypt hash and race to upgrade it: one
	// upgrade loses its compare-and-set, and that login must still succeed
	// since the password did not change.
	for round := range 5 {
		err := f.store.UpdatePasswordHash(t.Context(), u.ID, string(legacy), f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				<-start
				_, err := f.svc.Login(t.Context(), u.Email, pw, client)
				errs <- err
			}()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("round %d: login with the right password: %v (code %q), want success",
					round, err, code(err))
			}
		}
	}
}

func TestAChangeCheckedBeforeALoginUpgradedTheHashGoesThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Argon2id})
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "up@example.com", Password: pw},
		client)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.UpdatePasswordHash(ctx, g.User.ID, string(legacy), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The change reads the bcrypt hash; a login then upgrades it to
	// argon2id before the change writes.
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(ctx, "up@example.com", pw, client); err != nil {
		t.Fatal(err)
	}

	const next = "Changed-horse7!"
	if err := f.svc.ChangePassword(ctx, p, pw, next, client); err != nil {
		t.Fatalf("change after the hash of the same password was upgraded: %v (code %q), "+
			"want success", err, code(err))
	}
	if _, err := f.svc.Login(ctx, "up@example.com", next, client); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}

func TestCreateUserValidatesEmailAndUsername(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	tests := []struct {
		name, email, username, wantCode, wantEmail, wantUsername string
	}{
		{"trims and lower-cases", "  Mixed.Case@Example.ORG\t", " Ada_L ", "",
			"mixed.case@example.org", "ada_l"},
		{"refuses an address without a domain dot", "a@localhost", "", auth.CodeInvalidRequest, "", ""},
		{"refuses two addresses", "a@example.com, b@example.com", "", auth.CodeInvalidRequest, "", ""},
		{"refuses invalid UTF-8", "a\xff@example.com", "", auth.CodeInvalidRequest, "", ""},
		{"refuses a NUL byte", "a\x00b@example.com", "", auth.CodeInvalidRequest, "", ""},
		{"refuses an overlong address", strings.Repeat("a", 250) + "@example.com", "",
			auth.CodeInvalidRequest, "", ""},
		{"refuses a short username", "u1@example.com", "ab", auth.CodeInvalidRequest, "", ""},
		{"refuses a username with spaces", "u2@example.com", "a b c", auth.CodeInvalidRequest, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := f.svc.CreateUser(t.Context(), auth.RegisterInput{
				Email: tc.email, Password: pw, Username: tc.username,
			}, store.RoleUser)
			if got := code(err); got != tc.wantCode {
				t.Fatalf("code = %q (err %v); want %q", got, err, tc.wantCode)
			}
			if tc.wantCode == "" && (u.Email != tc.wantEmail || u.Username != tc.wantUsername) {
				t.Errorf("stored %q / %q; want %q / %q", u.Email, u.Username, tc.wantEmail,
					tc.wantUsername)
			}
		})
	}
}

func TestRefreshRetryInsideGraceFollowsTheFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	g, err := f.svc.Register(t.Context(), auth.RegisterInput{Email: "g@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	first := g.RefreshToken
	second, err := f.svc.Refresh(t.Context(), first, client)
	if err != nil {
		t.Fatal(err)
	}
	third, err := f.svc.Refresh(t.Context(), second.RefreshToken, client)
	if err != nil {
		t.Fatal(err)
	}

	// A client that missed both answers retries its first token: it gets
	// the live end of the family, not a fork.
	f.clock.Advance(5 * time.Second)
	retry, err := f.svc.Refresh(t.Context(), first, client)
	if err != nil {
		t.Fatalf("retry inside the grace window: %v", err)
	}
	if retry.RefreshToken != third.RefreshToken {
		t.Error("retry inside the grace window did not get the live token of the family")
	}
	family, err := f.store.SessionRefreshTokens(t.Context(), g.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(family) != 3 {
		t.Errorf("family has %d tokens; want 3 (no fork)", len(family))
	}
}

func TestRefreshRefusesExpiredAndGarbageTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	g, err := f.svc.Register(t.Context(), auth.RegisterInput{Email: "e@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "short", strings.Repeat("A", 43), g.RefreshToken + "x"} {
		if _, err := f.svc.Refresh(t.Context(), tok, client); code(err) != auth.CodeInvalidToken {
			t.Errorf("Refresh(%.10q…) error = %v; want invalid_token", tok, err)
		}
	}
	f.clock.Advance(24 * time.Hour)
	if _, err := f.svc.Refresh(t.Context(), g.RefreshToken, client); code(err) != auth.CodeInvalidToken {
		t.Errorf("expired refresh token error = %v; want invalid_token", err)
	}
}

func TestSecurityEventsReachTheAuditor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "ev@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.svc.Login(ctx, "nobody@example.com", "Wrong-pass1!", client)
	}
	if _, err := f.svc.Refresh(ctx, g.RefreshToken, client); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.svc.Refresh(ctx, g.RefreshToken, client); code(err) != auth.CodeInvalidToken {
		t.Fatalf("replay after the grace window: %v; want invalid_token", err)
	}

	want := []string{auth.EventRegistered, auth.EventLoginFailed, auth.EventLoginFailed,
		auth.EventLoginFailed, auth.EventLocked, auth.EventReuseDetected}
	if got := f.audit.types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v; want %v", got, want)
	}
	for _, e := range f.audit.events[1:5] {
		if e.UserID != "" {
			t.Errorf("%s for an unknown email names user %q", e.Type, e.UserID)
		}
		for k, v := range e.Detail {
			if strings.Contains(v, "nobody") || strings.Contains(v, "Wrong") {
				t.Errorf("%s detail %s=%q carries what the client typed", e.Type, k, v)
			}
		}
	}
	if last := f.audit.events[5]; last.UserID != g.User.ID || last.IP != client.IP ||
		last.Detail["session_id"] != g.SessionID {
		t.Errorf("reuse event = %+v; want user, IP and session", last)
	}
}

func TestWithoutAnAuditorTheLoginHistoryIsStillKept(t *testing.T) {
	t.Parallel()
	f := newFixtureAuditedBy(t, password.Options{Algorithm: password.Bcrypt, BcryptCost: 4}, nil)
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "kept@example.com", Password: pw},
		client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(ctx, "kept@example.com", "Wrong-pass1!", client); code(err) !=
		auth.CodeInvalidCredentials {
		t.Fatalf("login with a wrong password: %v; want invalid_credentials", err)
	}
	if _, err := f.svc.Login(ctx, "nobody@example.com", "Wrong-pass1!", client); code(err) !=
		auth.CodeInvalidCredentials {
		t.Fatalf("login with an unknown email: %v; want invalid_credentials", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.svc.Login(ctx, "kept@example.com", pw, client); err != nil {
		t.Fatal(err)
	}

	got, err := f.store.LoginHistory(ctx, g.User.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Success || got[1].Success ||
		got[1].Reason != "invalid_credentials" || got[0].UserAgent != client.UserAgent {
		t.Errorf("history = %+v; want the success over one invalid_credentials failure", got)
	}
}
