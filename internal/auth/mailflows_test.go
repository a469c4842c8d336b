package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

// sentMail is one mail a flow handed over.
type sentMail struct {
	kind mail.Kind
	to   string
	data mail.Data
}

// mailbox is a Mailer that keeps what it is given; delivery itself is
// tested over real SMTP in the mail and httpapi packages.
type mailbox struct {
	mu   sync.Mutex
	sent []sentMail
}

func (m *mailbox) Send(_ context.Context, kind mail.Kind, to string, d mail.Data) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{kind, to, d})
}

func (m *mailbox) last(t *testing.T, kind mail.Kind) sentMail {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 || m.sent[len(m.sent)-1].kind != kind {
		t.Fatalf("mails %v; want the last to be %s", m.sent, kind)
	}
	return m.sent[len(m.sent)-1]
}

// tokenOf returns the token of a mailed link to page under the public URL.
func tokenOf(t *testing.T, m sentMail, page string) string {
	t.Helper()
	prefix := "https://id.example.org/base/" + page + "#token="
	if !strings.HasPrefix(m.data.Link, prefix) {
		t.Fatalf("link %q does not start with %q", m.data.Link, prefix)
	}
	return strings.TrimPrefix(m.data.Link, prefix)
}

type mailFixture struct {
	*fixture
	box *mailbox
}

func newMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	st := storetest.SQLite(t)
	clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	hasher, err := password.NewHasher(password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
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
	public, err := url.Parse("https://id.example.org/base")
	if err != nil {
		t.Fatal(err)
	}
	rec, box := &recorder{}, &mailbox{}
	policy := password.DefaultPolicy()
	policy.MaxBytes = hasher.MaxBytes()
	svc := auth.New(auth.Deps{
		Store: st, Hasher: hasher, Policy: policy, Access: access, Keyed: keyed,
		Attempts: ratelimit.NewMemory(clk.Now), Audit: rec, Now: clk.Now, Mailer: box,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, auth.Options{
		RefreshTTL: 24 * time.Hour, ReuseGrace: 10 * time.Second,
		IdleTimeout: 24 * time.Hour, MaxAge: 48 * time.Hour,
		MaxLoginAttempts: 3, LockoutDuration: time.Minute,
		PublicURL: public, ResetLimitWindow: time.Hour, ResetLimitMax: 2,
	})
	return &mailFixture{fixture: &fixture{svc: svc, store: st, clock: clk, audit: rec}, box: box}
}

func TestMailFlowsReportTheirEventsToTheAuditor(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "ev@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.svc.SendVerification(ctx, p); err != nil {
		t.Fatal(err)
	}
	verify := f.box.last(t, mail.VerifyEmail)
	if verify.to != "ev@example.com" || verify.data.ValidFor != 24*time.Hour {
		t.Errorf("verification mail to %q valid %s; want ev@example.com, 24h", verify.to,
			verify.data.ValidFor)
	}
	if _, err := f.svc.VerifyEmail(ctx, tokenOf(t, verify, "verify-email"), client); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChangePassword(ctx, p, "Wrong-pass1!", "Another-horse7!", client); code(err) !=
		auth.CodeInvalidPassword {
		t.Fatalf("change with a wrong password: %v; want invalid_password", err)
	}
	if err := f.svc.ChangePassword(ctx, p, pw, "Another-horse7!", client); err != nil {
		t.Fatal(err)
	}
	changed := f.box.last(t, mail.PasswordChanged)
	if changed.data.Reset || changed.data.IP != client.IP || changed.data.Link != "" {
		t.Errorf("change notice data = %+v; want a change from %s without a link", changed.data,
			client.IP)
	}
	if err := f.svc.ForgotPassword(ctx, "nobody@example.com", client); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ForgotPassword(ctx, "EV@example.com", client); err != nil {
		t.Fatal(err)
	}
	reset := f.box.last(t, mail.ResetPassword)
	if reset.data.ValidFor != time.Hour {
		t.Errorf("reset link valid %s, want 1h", reset.data.ValidFor)
	}
	err = f.svc.ResetPassword(ctx, tokenOf(t, reset, "reset-password"), "Third-horse5!", client)
	if err != nil {
		t.Fatal(err)
	}
	if !f.box.last(t, mail.PasswordChanged).data.Reset {
		t.Error("reset notice does not say it was a reset")
	}

	want := []string{auth.EventRegistered, auth.EventEmailVerified, auth.EventPasswordRefused,
		auth.EventPasswordChanged, auth.EventResetRequested, auth.EventResetRequested,
		auth.EventPasswordReset}
	if got := f.audit.types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v; want %v", got, want)
	}
	for i, e := range f.audit.events {
		wantUser := g.User.ID
		if i == 4 {
			wantUser = "" // the reset asked for an unknown address
		}
		if e.UserID != wantUser {
			t.Errorf("%s names user %q, want %q", e.Type, e.UserID, wantUser)
		}
		for k, v := range e.Detail {
			if strings.Contains(v, "horse") || strings.Contains(v, "nobody") {
				t.Errorf("%s detail %s=%q carries what the client typed", e.Type, k, v)
			}
		}
	}
	if got := f.audit.events[6].Detail["sessions_revoked"]; got != "1" {
		t.Errorf("reset event sessions_revoked = %q, want 1 (the session that changed it)", got)
	}
}

func TestMailRequestsFollowTheConfiguredLimit(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "lim@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.svc.ForgotPassword(ctx, "lim@example.com", client); err != nil {
			t.Fatalf("forgot #%d: %v", i+1, err)
		}
		if _, err := f.svc.SendVerification(ctx, p); err != nil {
			t.Fatalf("verification #%d: %v", i+1, err)
		}
	}
	if err := f.svc.ForgotPassword(ctx, "lim@example.com", client); code(err) !=
		auth.CodeRateLimited {
		t.Errorf("third forgot: %v; want rate_limited", err)
	}
	if _, err := f.svc.SendVerification(ctx, p); code(err) != auth.CodeRateLimited {
		t.Errorf("third verification: %v; want rate_limited", err)
	}
	f.clock.Advance(time.Hour)
	if err := f.svc.ForgotPassword(ctx, "lim@example.com", client); err != nil {
		t.Errorf("forgot in the next window: %v", err)
	}
}

func TestAChangeCheckedBeforeAResetCommittedDoesNotUndoIt(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	ctx := t.Context()
	g, err := f.svc.Register(ctx, auth.RegisterInput{Email: "race@example.com", Password: pw},
		client)
	if err != nil {
		t.Fatal(err)
	}
	// The change authenticates, and so reads the hash it will check the
	// current password against, before the reset commits.
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ForgotPassword(ctx, "race@example.com", client); err != nil {
		t.Fatal(err)
	}
	reset := tokenOf(t, f.box.last(t, mail.ResetPassword), "reset-password")
	if err := f.svc.ResetPassword(ctx, reset, "Reset-horse5!", client); err != nil {
		t.Fatal(err)
	}

	err = f.svc.ChangePassword(ctx, p, pw, "Changed-horse7!", client)
	if code(err) != auth.CodePasswordChanged {
		t.Fatalf("change checked against the replaced hash: %v; want %s", err,
			auth.CodePasswordChanged)
	}
	if _, err := f.svc.Login(ctx, "race@example.com", "Reset-horse5!", client); err != nil {
		t.Errorf("login with the reset password: %v; want it to work", err)
	}
	_, err = f.svc.Login(ctx, "race@example.com", "Changed-horse7!", client)
	if code(err) != auth.CodeInvalidCredentials {
		t.Errorf("login with the refused new password: %v; want invalid_credentials", err)
	}
}
