package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mfa"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/verify"
)

const (
	strongPassword = "Correct-horse9!"
	newPassword    = "Battery-staple7@"
)

// counter counts the requests to one route that reach the server.
type counter struct {
	route string
	n     atomic.Int64
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method+" "+r.URL.Path == c.route {
			c.n.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// setup starts a server on a fresh SQLite store whose refreshes are
// counted.
func setup(t *testing.T) (*testserver.Server, *counter) {
	t.Helper()
	return setupOn(t, nil)
}

// setupOn is setup over st.
func setupOn(t *testing.T, st store.Store) (*testserver.Server, *counter) {
	t.Helper()
	refreshes := &counter{route: "POST /api/auth/refresh"}
	srv := testserver.Start(t, testserver.Options{Store: st, Wrap: refreshes.wrap})
	return srv, refreshes
}

// newClient returns a client of srv that reads the server's clock.
func newClient(t *testing.T, srv *testserver.Server, o *client.Options) *client.Client {
	t.Helper()
	if o == nil {
		o = &client.Options{}
	}
	if o.Now == nil {
		o.Now = srv.Clock.Now
	}
	c, err := client.New(srv.URL, o)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

func register(t *testing.T, c *client.Client, email string) *client.User {
	t.Helper()
	u, err := c.Register(context.Background(), client.RegisterInput{Email: email,
		Password: strongPassword})
	if err != nil {
		t.Fatalf("Register(%s): %v", email, err)
	}
	return u
}

// wantCode checks that err is an *client.Error with status and code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("error = %v; want an *Error %d %s with a message", err, status, code)
	}
}

// totp returns the authenticator's code at the server's time, and moves the
// clock to the next step so that the next code differs: a code is accepted
// once.
func totp(t *testing.T, srv *testserver.Server, secret string) string {
	t.Helper()
	code, err := mfa.Code(secret, mfa.Step(srv.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(mfa.Period)
	return code
}

func TestFullFlowWithTwoFactor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, testFullFlowWithTwoFactor)
}

func testFullFlowWithTwoFactor(t *testing.T, st store.Store) {
	srv, _ := setupOn(t, st)
	ctx := context.Background()
	c := newClient(t, srv, nil)

	u := register(t, c, "ada@example.com")
	if u.Email != "ada@example.com" || u.Role != "USER" || u.TwoFactorEnabled {
		t.Errorf("registered user = %+v", u)
	}
	if tok := c.Tokens(); tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatal("after Register the client holds no tokens; the body transport failed")
	}

	setup, err := c.SetupTOTP(ctx)
	if err != nil {
		t.Fatalf("SetupTOTP: %v", err)
	}
	if setup.Secret == "" || !strings.HasPrefix(setup.OTPAuthURL, "otpauth://") ||
		!strings.HasPrefix(setup.QRCode, "data:image/png;base64,") {
		t.Errorf("SetupTOTP = %+v", setup)
	}
	_, err = c.EnableTOTP(ctx, "000000")
	wantCode(t, err, http.StatusBadRequest, client.CodeInvalidCode)
	backup, err := c.EnableTOTP(ctx, totp(t, srv, setup.Secret))
	if err != nil || len(backup) != 10 {
		t.Fatalf("EnableTOTP = %v, %v; want ten backup codes", backup, err)
	}
	if p, err := c.Profile(ctx); err != nil || !p.TwoFactorEnabled {
		t.Fatalf("Profile after enabling 2FA = %+v, %v", p, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if c.SignedIn() {
		t.Fatal("signed in after Logout")
	}
	if _, err := c.Profile(ctx); !errors.Is(err, client.ErrNotSignedIn) {
		t.Fatalf("Profile after Logout = %v, want ErrNotSignedIn", err)
	}

	// The password alone is no longer enough.
	res, err := c.Login(ctx, "ada@example.com", strongPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if res.MFA == nil || res.User != nil || res.MFA.Token == "" ||
		len(res.MFA.Methods) == 0 || res.MFA.ExpiresIn <= 0 {
		t.Fatalf("Login with 2FA on = %+v, want a challenge and no user", res)
	}
	if c.SignedIn() {
		t.Fatal("the client holds tokens after the password step alone")
	}
	if s := fmt.Sprintf("%v %+v %#v", *res.MFA, *res.MFA, *res.MFA); strings.Contains(s,
		res.MFA.Token) {
		t.Errorf("a formatted challenge shows its token: %s", s)
	}
	_, err = c.LoginMFA(ctx, res.MFA.Token, "000000")
	wantCode(t, err, http.StatusUnauthorized, client.CodeInvalidCredentials)
	done, err := c.LoginMFA(ctx, res.MFA.Token, totp(t, srv, setup.Secret))
	if err != nil || done.User == nil || done.User.Email != "ada@example.com" {
		t.Fatalf("LoginMFA = %+v, %v; want Ada signed in", done, err)
	}
	if _, err := c.Profile(ctx); err != nil {
		t.Fatalf("Profile after LoginMFA: %v", err)
	}

	// A backup code finishes a login once.
	other := newClient(t, srv, nil)
	res, err = other.Login(ctx, "ada@example.com", strongPassword)
	if err != nil || res.MFA == nil {
		t.Fatalf("second Login = %+v, %v", res, err)
	}
	done, err = other.LoginBackupCode(ctx, res.MFA.Token, backup[0])
	if err != nil || done.BackupCodesRemaining == nil || *done.BackupCodesRemaining != 9 {
		t.Fatalf("LoginBackupCode = %+v, %v; want 9 codes left", done, err)
	}
	res, err = other.Login(ctx, "ada@example.com", strongPassword)
	if err != nil || res.MFA == nil {
		t.Fatalf("third Login = %+v, %v", res, err)
	}
	_, err = other.LoginBackupCode(ctx, res.MFA.Token, backup[0])
	wantCode(t, err, http.StatusUnauthorized, client.CodeInvalidCredentials)

	sessions, err := c.Sessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("Sessions = %v, %v; want two", sessions, err)
	}
	var otherID string
	for _, s := range sessions {
		if !s.Current {
			otherID = s.ID
		}
	}
	if err := c.RevokeSession(ctx, otherID); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if _, err := other.Profile(ctx); !errors.Is(err, client.ErrNotSignedIn) {
		t.Errorf("Profile of a revoked session = %v, want ErrNotSignedIn", err)
	}
	err = c.RevokeSession(ctx, "no-such-session")
	wantCode(t, err, http.StatusNotFound, client.CodeNotFound)

	history, err := c.LoginHistory(ctx)
	if err != nil || len(history) == 0 {
		t.Fatalf("LoginHistory = %v, %v", history, err)
	}

	fresh, err := c.RegenerateBackupCodes(ctx, totp(t, srv, setup.Secret))
	if err != nil || len(fresh) != 10 || fresh[0] == backup[0] {
		t.Fatalf("RegenerateBackupCodes = %v, %v", fresh, err)
	}
	err = c.DisableTOTP(ctx, "wrong-password", totp(t, srv, setup.Secret))
	if client.ErrorCode(err) == "" {
		t.Fatalf("DisableTOTP with a wrong password = %v, want an API error", err)
	}
	if !c.SignedIn() {
		t.Fatal("a wrong password signed the client out; only invalid_token may")
	}
	if err := c.DisableTOTPWithBackupCode(ctx, strongPassword, fresh[0]); err != nil {
		t.Fatalf("DisableTOTPWithBackupCode: %v", err)
	}
	if err := c.LogoutAll(ctx); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	res, err = c.Login(ctx, "ada@example.com", strongPassword)
	if err != nil || res.User == nil {
		t.Fatalf("Login with 2FA off = %+v, %v; want signed in", res, err)
	}
}

// TestFiftyGoroutinesRefreshOnce covers both ways a client finds its token
// expired: by its own clock before sending, and by a 401 from the server
// when the clocks disagree. Either way, one refresh serves everyone.
func TestFiftyGoroutinesRefreshOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// clientClock is the client's clock; nil shares the server's.
		clientClock func() time.Time
	}{
		{"when the client sees the token expire", nil},
		{"when only the server sees the token expire", time.Now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st store.Store) {
				fiftyGoroutines(t, st, tt.clientClock)
			})
		})
	}
}

func fiftyGoroutines(t *testing.T, st store.Store, clientClock func() time.Time) {
	srv, refreshes := setupOn(t, st)
	c := newClient(t, srv, &client.Options{Now: clientClock})
	register(t, c, "many@example.com")
	before := c.Tokens()
	srv.Clock.Advance(16 * time.Minute)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if _, err := c.Profile(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Profile: %v", err)
	}
	if got := refreshes.n.Load(); got != 1 {
		t.Errorf("%d refreshes reached the server, want exactly 1", got)
	}
	after := c.Tokens()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("the tokens did not change")
	}
}

func TestRefreshesAheadOfExpiry(t *testing.T) {
	t.Parallel()
	srv, refreshes := setup(t)
	c := newClient(t, srv, &client.Options{RefreshAhead: time.Minute})
	register(t, c, "ahead@example.com")
	ctx := context.Background()

	srv.Clock.Advance(13 * time.Minute)
	if _, err := c.Profile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := refreshes.n.Load(); got != 0 {
		t.Errorf("%d refreshes two minutes before expiry, want 0", got)
	}
	srv.Clock.Advance(90 * time.Second)
	if _, err := c.Profile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := refreshes.n.Load(); got != 1 {
		t.Errorf("%d refreshes thirty seconds before expiry, want 1", got)
	}
	if exp := c.Tokens().Expiry; !exp.Equal(srv.Clock.Now().Add(15 * time.Minute)) {
		t.Errorf("Expiry = %v, want 15 minutes from the refresh at %v", exp, srv.Clock.Now())
	}
}

func TestAnEndedSessionSignsTheClientOut(t *testing.T) {
	t.Parallel()
	srv, refreshes := setup(t)
	var mu sync.Mutex
	var seen []client.Tokens
	c := newClient(t, srv, &client.Options{OnTokens: func(tok client.Tokens) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, tok)
	}})
	u := register(t, c, "ended@example.com")
	admin := newClient(t, srv, nil)
	srv.CreateUser(t, "root@example.com", strongPassword, "ADMIN")
	if _, err := admin.Login(context.Background(), "root@example.com", strongPassword); err != nil {
		t.Fatal(err)
	}
	if err := admin.RevokeUserSessions(context.Background(), u.ID); err != nil {
		t.Fatalf("RevokeUserSessions: %v", err)
	}

	_, err := c.Profile(context.Background())
	if !errors.Is(err, client.ErrNotSignedIn) || client.ErrorCode(err) != client.CodeInvalidToken {
		t.Fatalf("Profile after the sessions were revoked = %v; want ErrNotSignedIn "+
			"wrapping the refresh's invalid_token", err)
	}
	if c.SignedIn() {
		t.Error("the client still holds tokens")
	}
	if got := refreshes.n.Load(); got != 1 {
		t.Errorf("%d refreshes, want the one that found the session ended", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0].AccessToken == "" || seen[1] != (client.Tokens{}) {
		t.Errorf("OnTokens saw %v, want the registration's tokens, then none", seen)
	}
}

func TestTokensCarryOverToANewClient(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	var kept client.Tokens
	first := newClient(t, srv, &client.Options{OnTokens: func(tok client.Tokens) {
		kept = tok
	}})
	u := register(t, first, "kept@example.com")

	second := newClient(t, srv, nil)
	second.SetTokens(kept)
	p, err := second.Profile(context.Background())
	if err != nil || p.ID != u.ID {
		t.Fatalf("Profile with restored tokens = %+v, %v", p, err)
	}
}

func TestErrorsCarryStatusAndCode(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	ctx := context.Background()
	c := newClient(t, srv, nil)
	register(t, c, "taken@example.com")

	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
		field  string
	}{
		{"a wrong password", func() error {
			_, err := newClient(t, srv, nil).Login(ctx, "taken@example.com", "Wrong-pass1!")
			return err
		}, 401, client.CodeInvalidCredentials, ""},
		{"an unknown email", func() error {
			_, err := newClient(t, srv, nil).Login(ctx, "nobody@example.com", strongPassword)
			return err
		}, 401, client.CodeInvalidCredentials, ""},
		{"a taken email", func() error {
			_, err := newClient(t, srv, nil).Register(ctx, client.RegisterInput{
				Email: "taken@example.com", Password: strongPassword})
			return err
		}, 409, client.CodeEmailTaken, "email"},
		{"a weak password", func() error {
			_, err := newClient(t, srv, nil).Register(ctx, client.RegisterInput{
				Email: "weak@example.com", Password: "short"})
			return err
		}, 400, client.CodeWeakPassword, "password"},
		{"a user at the admin route", func() error {
			_, err := c.AdminMessage(ctx)
			return err
		}, 403, client.CodeInsufficientRole, ""},
		{"a user at the admin API", func() error {
			_, err := c.ListUsers(ctx, client.UserQuery{})
			return err
		}, 403, client.CodeInsufficientRole, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantCode(t, err, tt.status, tt.code)
			var e *client.Error
			errors.As(err, &e)
			if tt.field != "" && e.Fields[tt.field] == "" {
				t.Errorf("Fields = %v, want a message for %s", e.Fields, tt.field)
			}
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("Error() = %q, want the code in it", err.Error())
			}
		})
	}
}

func TestEmailAndPasswordFlows(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	ctx := context.Background()
	c := newClient(t, srv, nil)
	register(t, c, "mail@example.com")

	sent, err := c.SendVerificationEmail(ctx)
	if err != nil || !sent {
		t.Fatalf("SendVerificationEmail = %v, %v; want sent", sent, err)
	}
	m, ok := srv.Mailbox.Last(mail.VerifyEmail, "mail@example.com")
	if !ok || m.Token() == "" {
		t.Fatal("no verification mail with a token")
	}
	// The link works without a signed-in user, as on another device.
	u, err := newClient(t, srv, nil).VerifyEmail(ctx, m.Token())
	if err != nil || u == nil || !u.EmailVerified {
		t.Fatalf("VerifyEmail = %+v, %v; want a verified user", u, err)
	}
	_, err = newClient(t, srv, nil).VerifyEmail(ctx, m.Token())
	wantCode(t, err, http.StatusUnauthorized, client.CodeInvalidToken)
	if sent, err := c.SendVerificationEmail(ctx); err != nil || sent {
		t.Errorf("SendVerificationEmail when verified = %v, %v; want not sent", sent, err)
	}

	if err := c.ChangePassword(ctx, "Wrong-pass1!", newPassword); client.ErrorCode(err) == "" {
		t.Errorf("ChangePassword with a wrong current password = %v, want an API error", err)
	}
	if err := c.ChangePassword(ctx, strongPassword, newPassword); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := c.Profile(ctx); err != nil {
		t.Errorf("Profile after changing the password: %v; this session should go on", err)
	}

	stranger := newClient(t, srv, nil)
	if err := stranger.ForgotPassword(ctx, "nobody@example.com"); err != nil {
		t.Errorf("ForgotPassword for an unknown address = %v, want the same answer", err)
	}
	if err := stranger.ForgotPassword(ctx, "mail@example.com"); err != nil {
		t.Fatalf("ForgotPassword: %v", err)
	}
	m, ok = srv.Mailbox.Last(mail.ResetPassword, "mail@example.com")
	if !ok || m.Token() == "" {
		t.Fatal("no reset mail with a token")
	}
	if err := stranger.ResetPassword(ctx, m.Token(), strongPassword); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if _, err := c.Profile(ctx); !errors.Is(err, client.ErrNotSignedIn) {
		t.Errorf("Profile after a reset = %v, want ErrNotSignedIn: a reset ends every session",
			err)
	}
	if res, err := c.Login(ctx, "mail@example.com", strongPassword); err != nil ||
		res.User == nil {
		t.Errorf("Login with the reset password = %+v, %v", res, err)
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	ctx := context.Background()
	srv.CreateUser(t, "root@example.com", strongPassword, "ADMIN")
	admin := newClient(t, srv, nil)
	if _, err := admin.Login(ctx, "root@example.com", strongPassword); err != nil {
		t.Fatal(err)
	}
	if msg, err := admin.AdminMessage(ctx); err != nil || msg == "" {
		t.Errorf("AdminMessage = %q, %v", msg, err)
	}
	user := newClient(t, srv, nil)
	bob := register(t, user, "bob@example.com")
	register(t, newClient(t, srv, nil), "carol@example.com")

	page, err := admin.ListUsers(ctx, client.UserQuery{Limit: 2})
	if err != nil || len(page.Users) != 2 || page.NextCursor == "" {
		t.Fatalf("ListUsers(limit 2) = %+v, %v; want two users and a cursor", page, err)
	}
	rest, err := admin.ListUsers(ctx, client.UserQuery{Limit: 2, Cursor: page.NextCursor})
	if err != nil || len(rest.Users) != 1 || rest.NextCursor != "" {
		t.Fatalf("the second page = %+v, %v; want the last user and no cursor", rest, err)
	}
	found, err := admin.ListUsers(ctx, client.UserQuery{Query: "bob"})
	if err != nil || len(found.Users) != 1 || found.Users[0].ID != bob.ID {
		t.Errorf("ListUsers(q bob) = %+v, %v", found, err)
	}

	got, err := admin.GetUser(ctx, bob.ID)
	if err != nil || got.Email != "bob@example.com" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	_, err = admin.GetUser(ctx, "00000000-0000-0000-0000-000000000000")
	wantCode(t, err, http.StatusNotFound, client.CodeNotFound)

	role := "ADMIN"
	got, err = admin.UpdateUser(ctx, bob.ID, client.UserChange{Role: &role})
	if err != nil || got.Role != "ADMIN" {
		t.Fatalf("UpdateUser(role ADMIN) = %+v, %v", got, err)
	}
	inactive := false
	got, err = admin.UpdateUser(ctx, bob.ID, client.UserChange{Active: &inactive})
	if err != nil || got.Active {
		t.Fatalf("UpdateUser(active false) = %+v, %v", got, err)
	}
	if _, err := user.Profile(ctx); err == nil {
		t.Error("a deactivated user's client still works")
	}

	if err := admin.RevokeUserSessions(ctx, bob.ID); err != nil {
		t.Errorf("RevokeUserSessions: %v", err)
	}
	events, err := admin.AuditEvents(ctx, client.AuditQuery{UserID: bob.ID, Limit: 50})
	if err != nil || len(events.Events) == 0 {
		t.Fatalf("AuditEvents = %+v, %v", events, err)
	}
	for _, e := range events.Events {
		if e.UserID != bob.ID || e.Type == "" || e.CreatedAt.IsZero() {
			t.Errorf("event %+v, want one about Bob", e)
		}
	}
	logins, err := admin.AuditEvents(ctx, client.AuditQuery{Type: "login.succeeded"})
	if err != nil || len(logins.Events) == 0 {
		t.Fatalf("AuditEvents(type login.succeeded) = %+v, %v", logins, err)
	}
	for _, e := range logins.Events {
		if e.Type != "login.succeeded" {
			t.Errorf("event of type %s in a login.succeeded page", e.Type)
		}
	}
}

func TestTokensNeverShowTheirValues(t *testing.T) {
	t.Parallel()
	tok := client.Tokens{AccessToken: "access-secret-value", RefreshToken: "refresh-secret-value",
		Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("tokens", "t", tok)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok), logged.String()} {
		if strings.Contains(s, "secret-value") {
			t.Errorf("formatted tokens show a value: %s", s)
		}
	}
}

func TestNewRefusesABadBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "auth.example.com", "ftp://auth.example.com", "http://"} {
		if _, err := client.New(u, nil); err == nil {
			t.Errorf("New(%q) = nil error, want one", u)
		}
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	if err := newClient(t, srv, nil).Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

func TestTransportCallsAResourceServerAndRetriesOnceAfterRefresh(t *testing.T) {
	t.Parallel()
	srv, refreshes := setup(t)
	v, err := verify.New(verify.Options{Secret: testserver.AccessSecret,
		Issuer: testserver.Issuer, Audience: testserver.Audience, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	rs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		calls.Add(1)
		c, _ := verify.ClaimsFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s:%s", c.Email, body)
	})))
	t.Cleanup(rs.Close)

	// The client's clock does not move: only the resource server sees the
	// token expire, and answers 401.
	c := newClient(t, srv, &client.Options{Now: time.Now})
	register(t, c, "rs@example.com")
	hc := &http.Client{Transport: c.Transport(nil), Timeout: 10 * time.Second}
	srv.Clock.Advance(16 * time.Minute)

	res, err := hc.Post(rs.URL, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != "rs@example.com:payload" {
		t.Errorf("answer %d %q, want 200 with the email and the body sent again",
			res.StatusCode, body)
	}
	if got := refreshes.n.Load(); got != 1 {
		t.Errorf("%d refreshes, want 1", got)
	}

	signedOut := newClient(t, srv, nil)
	_, err = (&http.Client{Transport: signedOut.Transport(nil)}).Get(rs.URL)
	if !errors.Is(err, client.ErrNotSignedIn) {
		t.Errorf("a signed-out client's request = %v, want ErrNotSignedIn", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("the handler ran %d times, want once", got)
	}
}
