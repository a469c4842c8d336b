package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/smtptest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// publicURL is PUBLIC_URL in these tests: another host than the test
// server's, and a path, so that a link built from anything else shows.
const publicURL = "https://auth.example.test/accounts"

const newPassword = "Another-horse7!"

// mailEnv is a server whose mail goes over real SMTP, with STARTTLS, to an
// SMTP server in the test.
type mailEnv struct {
	*env
	smtp   *smtptest.Server
	mailer *mail.Mailer
}

// withMailer sends the flows' mail through m, with links on publicURL.
func withMailer(m *mail.Mailer) envOption {
	return func(c *envConfig) {
		c.mailer = m
		u, err := url.Parse(publicURL)
		if err != nil {
			panic(err)
		}
		c.auth.PublicURL = u
	}
}

// startMailer starts a mailer over sender, stopped when the test ends.
func startMailer(t *testing.T, sender mail.Sender, log *slog.Logger) *mail.Mailer {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := mail.New(sender, mail.Options{From: "Latchkey <no-reply@auth.example.test>"}, log)
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close mailer: %v", err)
		}
	})
	return m
}

func newMailEnv(t *testing.T, st store.Store, options ...envOption) *mailEnv {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{STARTTLS: true})
	sender, err := mail.NewSMTP(srv.URL, mail.SMTPOptions{TLSConfig: srv.ClientTLS,
		Backoff: time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	m := startMailer(t, sender, nil)
	e := newEnv(t, st, append([]envOption{withMailer(m)}, options...)...)
	return &mailEnv{env: e, smtp: srv, mailer: m}
}

// handed is how many mails the flows have handed to the mailer so far.
// Flows hand mail over before they answer, so comparing it across a
// request tells whether the request sent any.
func (m *mailEnv) handed() uint64 {
	st := m.mailer.Stats()
	return st.Queued + st.Dropped
}

// nextMail waits for the next delivered mail and checks its recipient and
// subject.
func (m *mailEnv) nextMail(t *testing.T, to, subject string) smtptest.Message {
	t.Helper()
	d := m.smtp.Next(t, 15*time.Second)
	if !d.TLS {
		t.Errorf("mail to %v travelled unencrypted though the server offers STARTTLS", d.To)
	}
	if len(d.To) != 1 || d.To[0] != to {
		t.Fatalf("mail went to %v, want %s", d.To, to)
	}
	msg := d.Parse(t)
	if msg.Subject != subject {
		t.Errorf("subject = %q, want %q", msg.Subject, subject)
	}
	return msg
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// followLink finds the one link of a mail, checks that it leads to page
// under publicURL in both bodies, and returns its token.
func followLink(t *testing.T, msg smtptest.Message, page string) string {
	t.Helper()
	links := linkPattern.FindAllString(msg.Text, -1)
	if len(links) != 1 {
		t.Fatalf("text body has links %v, want exactly one:\n%s", links, msg.Text)
	}
	link := links[0]
	prefix := publicURL + "/" + page + "#token="
	if !strings.HasPrefix(link, prefix) {
		t.Fatalf("link %q does not start with %q", link, prefix)
	}
	if !strings.Contains(msg.HTML, `href="`+link+`"`) {
		t.Errorf("HTML body does not link to %s:\n%s", link, msg.HTML)
	}
	return strings.TrimPrefix(link, prefix)
}

// requestVerification asks for a verification mail as b and returns the
// mailed token.
func (m *mailEnv) requestVerification(t *testing.T, b *browser, email string) string {
	t.Helper()
	r := b.do("POST", "/api/auth/email/verify/send", nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("verify/send: %d %s", r.Status, r.Raw)
	}
	return followLink(t, m.nextMail(t, email, "Confirm your email address"), "verify-email")
}

// requestReset asks for a reset mail for the address typed and returns the
// mailed token.
func (m *mailEnv) requestReset(t *testing.T, typed string) string {
	t.Helper()
	r := m.browser().do("POST", "/api/auth/password/forgot", map[string]string{"email": typed})
	if r.Status != http.StatusAccepted {
		t.Fatalf("forgot: %d %s", r.Status, r.Raw)
	}
	to := strings.ToLower(strings.TrimSpace(typed))
	return followLink(t, m.nextMail(t, to, "Reset your password"), "reset-password")
}

func (b *browser) verifyEmail(tok string) response {
	b.e.t.Helper()
	return b.do("POST", "/api/auth/email/verify", map[string]string{"token": tok})
}

func (b *browser) resetPassword(tok, pw string) response {
	b.e.t.Helper()
	return b.do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": pw})
}

func (b *browser) changePassword(current, next string) response {
	b.e.t.Helper()
	return b.do("POST", "/api/auth/password/change", map[string]string{
		"currentPassword": current, "newPassword": next})
}

func wantVerified(t *testing.T, b *browser, want bool) {
	t.Helper()
	r := b.do("GET", "/api/auth/profile", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.Status, r.Raw)
	}
	if got := r.obj("user")["emailVerified"]; got != want {
		t.Errorf("emailVerified = %v, want %v", got, want)
	}
}

func TestEmailVerificationByMailedLink(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		b := m.browser()
		b.register("Ada@Example.com")
		wantVerified(t, b, false)

		first := m.requestVerification(t, b, "ada@example.com")
		second := m.requestVerification(t, b, "ada@example.com")
		anon := m.browser()
		wantError(t, anon.verifyEmail(first), http.StatusUnauthorized, "invalid_token")
		wantVerified(t, b, false)

		r := anon.verifyEmail(second)
		if r.Status != http.StatusOK || r.obj("user")["emailVerified"] != true {
			t.Fatalf("verify: %d %s; want 200 and a verified user", r.Status, r.Raw)
		}
		wantVerified(t, b, true)
		wantError(t, anon.verifyEmail(second), http.StatusUnauthorized, "invalid_token")

		before := m.handed()
		r = b.do("POST", "/api/auth/email/verify/send", nil)
		if r.Status != http.StatusOK || m.handed() != before {
			t.Errorf("verify/send when verified: %d %s, %d mails; want 200 and none",
				r.Status, r.Raw, m.handed()-before)
		}
	})
}

func TestVerificationLinksExpireAfterADay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		early, late := m.browser(), m.browser()
		early.register("early@example.com")
		late.register("late@example.com")
		lateToken := m.requestVerification(t, late, "late@example.com")
		earlyToken := m.requestVerification(t, early, "early@example.com")

		m.clock.Advance(24*time.Hour - time.Second)
		if r := m.browser().verifyEmail(earlyToken); r.Status != http.StatusOK {
			t.Errorf("verify a second before expiry: %d %s", r.Status, r.Raw)
		}
		m.clock.Advance(time.Second)
		wantError(t, m.browser().verifyEmail(lateToken), http.StatusUnauthorized, "invalid_token")
	})
}

func TestVerificationTokensTravelOnlyInBodies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		b := m.browser()
		b.register("ada@example.com")
		tok := m.requestVerification(t, b, "ada@example.com")

		cases := []struct {
			name   string
			path   string
			body   any
			status int
			code   string
		}{
			{"a token in the query string is ignored",
				"/api/auth/email/verify?token=" + tok, map[string]string{}, 401, "invalid_token"},
			{"a malformed token is refused", "/api/auth/email/verify",
				map[string]string{"token": "not-a-token"}, 401, "invalid_token"},
			{"a token of another flow is refused", "/api/auth/password/reset",
				map[string]string{"token": tok, "password": newPassword}, 401, "invalid_token"},
			{"asking for a mail needs a bearer token", "/api/auth/email/verify/send", nil, 401,
				"invalid_token"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, m.browser().do("POST", tc.path, tc.body), tc.status, tc.code)
			})
		}
		wantVerified(t, b, false)
		if r := m.browser().verifyEmail(tok); r.Status != http.StatusOK {
			t.Errorf("the token after the refusals: %d %s", r.Status, r.Raw)
		}
	})
}

func TestPasswordResetByMailedLink(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		first := m.browser()
		first.register("ada@example.com")
		second := m.browser()
		if r := second.login("ada@example.com", strongPassword); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}
		for range m.opts.MaxLoginAttempts {
			m.browser().login("ada@example.com", "Wrong-password1!")
		}
		wantError(t, m.browser().login("ada@example.com", strongPassword),
			http.StatusTooManyRequests, "account_locked")

		tok := m.requestReset(t, " ADA@example.com ")
		anon := m.browser()
		wantError(t, anon.resetPassword(tok, "short"), http.StatusBadRequest, "weak_password")
		r := anon.resetPassword(tok, newPassword)
		if r.Status != http.StatusOK {
			t.Fatalf("reset: %d %s", r.Status, r.Raw)
		}
		if strings.Contains(r.Raw, newPassword) {
			t.Errorf("reset answer echoes the password: %s", r.Raw)
		}
		wantError(t, anon.resetPassword(tok, "Yet-another-horse5!"), http.StatusUnauthorized,
			"invalid_token")

		for i, b := range []*browser{first, second} {
			wantError(t, b.do("GET", "/api/auth/profile", nil), http.StatusUnauthorized,
				"invalid_token")
			wantError(t, b.do("POST", "/api/auth/refresh", nil), http.StatusUnauthorized,
				"invalid_token")
			if t.Failed() {
				t.Fatalf("session %d outlived the reset", i+1)
			}
		}
		wantError(t, m.browser().login("ada@example.com", strongPassword),
			http.StatusUnauthorized, "invalid_credentials")
		after := m.browser()
		if r := after.login("ada@example.com", newPassword); r.Status != http.StatusOK {
			t.Fatalf("login with the new password (lockout lifted): %d %s", r.Status, r.Raw)
		}
		wantVerified(t, after, true)

		notice := m.nextMail(t, "ada@example.com", "Your password was reset")
		if strings.Contains(notice.Text, newPassword) || strings.Contains(notice.HTML, newPassword) {
			t.Error("the notice carries the new password")
		}
		if !strings.Contains(notice.Text, "Every session") {
			t.Errorf("notice does not say the sessions ended:\n%s", notice.Text)
		}
	})
}

func TestResetLinksDieWhenSupersededExpiredOrThePasswordChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		m.browser().register("ada@example.com")
		anon := m.browser()

		older := m.requestReset(t, "ada@example.com")
		newer := m.requestReset(t, "ada@example.com")
		wantError(t, anon.resetPassword(older, newPassword), http.StatusUnauthorized,
			"invalid_token")

		m.clock.Advance(time.Hour)
		wantError(t, anon.resetPassword(newer, newPassword), http.StatusUnauthorized,
			"invalid_token")

		mailed := m.requestReset(t, "ada@example.com")
		b := m.browser()
		if r := b.login("ada@example.com", strongPassword); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}
		if r := b.changePassword(strongPassword, newPassword); r.Status != http.StatusOK {
			t.Fatalf("change: %d %s", r.Status, r.Raw)
		}
		wantError(t, anon.resetPassword(mailed, "Yet-another-horse5!"), http.StatusUnauthorized,
			"invalid_token")
		if r := m.browser().login("ada@example.com", newPassword); r.Status != http.StatusOK {
			t.Errorf("the refused reset changed the password: login %d %s", r.Status, r.Raw)
		}
	})
}

func TestPasswordChangeKeepsOnlyTheCurrentSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		current := m.browser()
		current.register("ada@example.com")
		other := m.browser()
		if r := other.login("ada@example.com", strongPassword); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}

		refused := []struct {
			name          string
			current, next string
			status        int
			code          string
		}{
			{"a wrong current password", "Wrong-password1!", newPassword, 400, "invalid_password"},
			{"a missing current password", "", newPassword, 400, "invalid_request"},
			{"a weak new password", strongPassword, "password", 400, "weak_password"},
			{"the same password again", strongPassword, strongPassword, 400, "invalid_request"},
		}
		for _, tc := range refused {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				wantError(t, current.changePassword(tc.current, tc.next), tc.status, tc.code)
			})
		}
		wantError(t, m.browser().changePassword(strongPassword, newPassword),
			http.StatusUnauthorized, "invalid_token")

		if r := current.changePassword(strongPassword, newPassword); r.Status != http.StatusOK {
			t.Fatalf("change: %d %s", r.Status, r.Raw)
		}
		if r := current.do("GET", "/api/auth/profile", nil); r.Status != http.StatusOK {
			t.Errorf("current session after the change: %d %s", r.Status, r.Raw)
		}
		if r := current.do("POST", "/api/auth/refresh", nil); r.Status != http.StatusOK {
			t.Errorf("current session's refresh after the change: %d %s", r.Status, r.Raw)
		}
		wantError(t, other.do("GET", "/api/auth/profile", nil), http.StatusUnauthorized,
			"invalid_token")
		wantError(t, other.do("POST", "/api/auth/refresh", nil), http.StatusUnauthorized,
			"invalid_token")
		wantError(t, m.browser().login("ada@example.com", strongPassword),
			http.StatusUnauthorized, "invalid_credentials")
		if r := m.browser().login("ada@example.com", newPassword); r.Status != http.StatusOK {
			t.Errorf("login with the new password: %d %s", r.Status, r.Raw)
		}

		notice := m.nextMail(t, "ada@example.com", "Your password was changed")
		if !strings.Contains(notice.Text, "Every other session") {
			t.Errorf("notice does not say the other sessions ended:\n%s", notice.Text)
		}
	})
}

func TestWrongCurrentPasswordsCountTowardTheLockout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		b := m.browser()
		b.register("ada@example.com")
		for i := 1; i < m.opts.MaxLoginAttempts; i++ {
			wantError(t, b.changePassword("Wrong-password1!", newPassword), http.StatusBadRequest,
				"invalid_password")
		}
		wantError(t, b.changePassword("Wrong-password1!", newPassword),
			http.StatusTooManyRequests, "account_locked")
		wantError(t, b.changePassword(strongPassword, newPassword),
			http.StatusTooManyRequests, "account_locked")
		wantError(t, m.browser().login("ada@example.com", strongPassword),
			http.StatusTooManyRequests, "account_locked")
	})
}

// forged sends a POST whose Host and forwarding headers name another
// server, as an attacker poisoning reset links would.
func forged(t *testing.T, e *env, path, bearer string, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.srv.URL+path,
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", "host=evil.example;proto=http")
	req.Header.Set("X-Original-Host", "evil.example")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestForgedHostHeadersLeaveLinksOnThePublicURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		b := m.browser()
		b.register("ada@example.com")

		if got := forged(t, m.env, "/api/auth/password/forgot",
			"", `{"email":"ada@example.com"}`); got != http.StatusAccepted {
			t.Fatalf("forgot with forged host: status %d", got)
		}
		reset := m.nextMail(t, "ada@example.com", "Reset your password")
		followLink(t, reset, "reset-password")

		if got := forged(t, m.env, "/api/auth/email/verify/send", b.token, ""); got !=
			http.StatusAccepted {
			t.Fatalf("verify/send with forged host: status %d", got)
		}
		verify := m.nextMail(t, "ada@example.com", "Confirm your email address")
		followLink(t, verify, "verify-email")

		for _, msg := range []smtptest.Message{reset, verify} {
			if strings.Contains(msg.Text+msg.HTML, "evil.example") {
				t.Errorf("mail names the forged host:\n%s", msg.Text)
			}
		}
	})
}

func TestForgotAnswersAlikeAndMailsOnlyRealAccounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		m.browser().register("ada@example.com")
		m.browser().register("gone@example.com")
		if _, err := st.UpdateUserAccess(t.Context(), userIDOf(t, st, "gone@example.com"),
			store.RoleUser, false, m.clock.Now()); err != nil {
			t.Fatalf("deactivate: %v", err)
		}

		forgot := func(email string) response {
			t.Helper()
			return m.browser().do("POST", "/api/auth/password/forgot",
				map[string]string{"email": email})
		}
		before := m.handed()
		unknown := forgot("nobody@example.com")
		inactive := forgot("gone@example.com")
		if m.handed() != before {
			t.Errorf("forgot for an unknown or deactivated address handed %d mails to the mailer",
				m.handed()-before)
		}
		known := forgot("ada@example.com")
		if m.handed() != before+1 {
			t.Errorf("forgot for a real account handed %d mails, want 1", m.handed()-before)
		}
		m.nextMail(t, "ada@example.com", "Reset your password")

		for name, r := range map[string]response{"unknown": unknown, "deactivated": inactive} {
			if r.Status != known.Status || r.Raw != known.Raw ||
				r.Header.Get("Content-Type") != known.Header.Get("Content-Type") {
				t.Errorf("%s address answered %d %s; a real account %d %s", name, r.Status, r.Raw,
					known.Status, known.Raw)
			}
		}
		if known.Status != http.StatusAccepted {
			t.Errorf("forgot answered %d, want 202", known.Status)
		}
		wantError(t, forgot("not an address"), http.StatusBadRequest, "invalid_request")
	})
}

func userIDOf(t *testing.T, st store.Store, email string) string {
	t.Helper()
	u, err := st.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("UserByEmail(%s): %v", email, err)
	}
	return u.ID
}

func TestForgotIsLimitedPerAddressKnownOrNot(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		m.browser().register("ada@example.com")
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			for i := range 3 {
				r := m.browser().do("POST", "/api/auth/password/forgot",
					map[string]string{"email": email})
				if r.Status != http.StatusAccepted {
					t.Fatalf("forgot #%d for %s: %d %s", i+1, email, r.Status, r.Raw)
				}
			}
			r := m.browser().do("POST", "/api/auth/password/forgot",
				map[string]string{"email": email})
			wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("429 for %s without Retry-After", email)
			}
		}
		m.clock.Advance(time.Hour)
		r := m.browser().do("POST", "/api/auth/password/forgot",
			map[string]string{"email": "ada@example.com"})
		if r.Status != http.StatusAccepted {
			t.Errorf("forgot after the window: %d %s", r.Status, r.Raw)
		}
	})
}

// logBuffer collects the log lines of a server and its mailer.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestADownMailServerNeitherFailsNorDelaysRequests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		hole := smtptest.StartBlackhole(t)
		logs := &logBuffer{}
		handler := slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
		sender, err := mail.NewSMTP(hole.URL, mail.SMTPOptions{Timeout: time.Minute,
			Attempts: 2, Backoff: time.Millisecond}, slog.New(handler))
		if err != nil {
			t.Fatalf("NewSMTP: %v", err)
		}
		mailer := startMailer(t, sender, slog.New(handler))
		e := newEnv(t, st, withMailer(mailer), func(c *envConfig) { c.log = handler })
		b := e.browser()
		b.register("ada@example.com")

		// The server accepts the connection and never answers: until it is
		// taken down, no delivery can finish, so an answer that arrives
		// meanwhile did not wait for one.
		r := e.browser().do("POST", "/api/auth/password/forgot",
			map[string]string{"email": "ada@example.com"})
		if r.Status != http.StatusAccepted {
			t.Fatalf("forgot with the mail server hanging: %d %s", r.Status, r.Raw)
		}
		hole.WaitAccepted(t, 15*time.Second)
		r = b.changePassword(strongPassword, newPassword)
		if r.Status != http.StatusOK {
			t.Fatalf("change with the mail server hanging: %d %s", r.Status, r.Raw)
		}
		hole.WaitAccepted(t, 15*time.Second)
		if st := mailer.Stats(); st.Sent != 0 || st.Failed != 0 {
			t.Fatalf("mail stats while the server hangs = %+v; want nothing finished", st)
		}

		hole.Close()
		deadline := time.Now().Add(30 * time.Second)
		for mailer.Stats().Failed < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("mail stats = %+v; want both mails failed", mailer.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		out := logs.String()
		for _, kind := range []string{"reset_password", "password_changed"} {
			logged := false
			for line := range strings.Lines(out) {
				logged = logged || strings.Contains(line, "mail delivery failed") &&
					strings.Contains(line, "kind="+kind)
			}
			if !logged {
				t.Errorf("the failed %s mail was not logged:\n%s", kind, out)
			}
		}
		for _, secret := range []string{newPassword, strongPassword, "#token="} {
			if strings.Contains(out, secret) {
				t.Errorf("log carries %q:\n%s", secret, out)
			}
		}
		if r := e.browser().login("ada@example.com", newPassword); r.Status != http.StatusOK {
			t.Errorf("the change did not stand without its mail: login %d %s", r.Status, r.Raw)
		}
	})
}
