package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// claimsOf decodes the payload of a JWT without verifying it.
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	return claims
}

// resign signs claims with the server's own HS256 secret: only the claims
// can make the server refuse the result.
func resign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(accessSecret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAccessTokensWithTheRightKeyButWrongClaimsAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		victim := e.browser()
		victim.register("claims@example.com")
		other := e.browser()
		otherID := other.register("other@example.com").obj("user")["id"].(string)
		now := e.clock.Now()

		tests := []struct {
			name   string
			edit   func(c jwt.MapClaims)
			status int
		}{
			{"the claims as issued are accepted", func(c jwt.MapClaims) {}, http.StatusOK},
			{"another issuer is refused", func(c jwt.MapClaims) { c["iss"] = "someone-else" },
				http.StatusUnauthorized},
			{"another audience is refused", func(c jwt.MapClaims) { c["aud"] = "another-app" },
				http.StatusUnauthorized},
			{"a token not valid before an hour from now is refused", func(c jwt.MapClaims) {
				c["nbf"] = now.Add(time.Hour).Unix()
			}, http.StatusUnauthorized},
			{"a token that expired a second ago is refused", func(c jwt.MapClaims) {
				c["iat"] = now.Add(-16 * time.Minute).Unix()
				c["exp"] = now.Add(-time.Second).Unix()
			}, http.StatusUnauthorized},
			{"a token without exp is refused", func(c jwt.MapClaims) { delete(c, "exp") },
				http.StatusUnauthorized},
			{"a token of a session that does not exist is refused", func(c jwt.MapClaims) {
				c["sid"] = uuid.NewString()
			}, http.StatusUnauthorized},
			{"a token naming another user in the victim's session is refused",
				func(c jwt.MapClaims) { c["sub"], c["userId"] = otherID, otherID },
				http.StatusUnauthorized},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				claims := claimsOf(t, victim.token)
				tc.edit(claims)
				b := e.browser()
				b.token = resign(t, claims)
				r := b.do("GET", "/api/auth/profile", nil)
				if tc.status == http.StatusOK {
					if r.Status != http.StatusOK {
						t.Fatalf("got %d %s; want 200", r.Status, r.Raw)
					}
					return
				}
				wantError(t, r, tc.status, "invalid_token")
				if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got,
					`error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q; want an invalid_token challenge", got)
				}
			})
		}
	})
}

// refreshWithCookie sends one refresh with the refresh cookie set by hand,
// as a browser tab holding it would, and returns the status and the
// refresh cookie of the answer.
func refreshWithCookie(e *env, client *http.Client, tok string) (int, string, error) {
	req, err := http.NewRequest("POST", e.srv.URL+"/api/auth/refresh", nil)
	if err != nil {
		return 0, "", err
	}
	req.AddCookie(&http.Cookie{Name: "refreshToken", Value: tok})
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	for _, c := range res.Cookies() {
		if c.Name == "refreshToken" {
			return res.StatusCode, c.Value, nil
		}
	}
	return res.StatusCode, "", nil
}

func TestTwentyTabsRefreshingOneCookieAtOnceShareOneSuccessor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		access := b.register("twenty-tabs@example.com").str("accessToken")
		tok := b.refreshCookie()
		sessID := sessionOf(t, e, access)

		const n = 20
		rc := newRacer(t, e, n)
		statuses := make([]int, n)
		cookies := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				var err error
				statuses[i], cookies[i], err = refreshWithCookie(e, rc.client, tok)
				if err != nil {
					t.Errorf("refresh %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()

		for i := range n {
			if statuses[i] != http.StatusOK || cookies[i] == "" || cookies[i] != cookies[0] {
				t.Errorf("tab %d: %d with cookie %.8q…; want 200 with the shared successor",
					i, statuses[i], cookies[i])
			}
		}
		if cookies[0] == tok {
			t.Fatal("the successor is the presented token")
		}
		toks, err := st.SessionRefreshTokens(t.Context(), sessID)
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != 2 {
			t.Errorf("family holds %d tokens after one rotation; want 2, the first and its "+
				"one successor", len(toks))
		}
		if live := liveTokens(t, st, sessID); live != 1 {
			t.Errorf("live tokens in the family = %d; want 1", live)
		}

		// The shared successor rotates on as usual.
		status, next, err := refreshWithCookie(e, rc.client, cookies[0])
		if err != nil || status != http.StatusOK || next == "" || next == cookies[0] {
			t.Fatalf("refresh with the successor = %d %v; want 200 and a new cookie", status, err)
		}
		if live := liveTokens(t, st, sessID); live != 1 {
			t.Errorf("live tokens after the next rotation = %d; want 1", live)
		}
	})
}

// chunked hides a reader's length so that the client sends it in chunks,
// without a Content-Length.
type chunked struct{ io.Reader }

func TestOddBodiesGetTheContractAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		creds := `{"email":"odd@example.com","password":"` + strongPassword + `"}`
		padding := strings.Repeat(" ", 70<<10)
		tests := []struct {
			name   string
			path   string
			body   io.Reader
			ctype  string
			status int
			code   string
		}{
			{"valid JSON padded past 64 KiB is too large", "/api/auth/register",
				strings.NewReader(creds + padding), "application/json", 413, "payload_too_large"},
			{"a chunked body past 64 KiB is too large", "/api/auth/login",
				chunked{strings.NewReader(`{"email":"` + strings.Repeat("a", 70<<10) + `"}`)},
				"application/json", 413, "payload_too_large"},
			{"a body without a content type is not JSON", "/api/auth/login",
				strings.NewReader(creds), "", 415, "unsupported_media_type"},
			{"a text/plain body is not JSON", "/api/auth/login",
				strings.NewReader(creds), "text/plain", 415, "unsupported_media_type"},
			{"malformed JSON at login", "/api/auth/login",
				strings.NewReader(`{"email":`), "application/json", 400, "invalid_request"},
			{"malformed JSON at the second step", "/api/auth/login/mfa",
				strings.NewReader(`{"mfaToken":"x",}`), "application/json", 400, "invalid_request"},
			{"malformed JSON at refresh", "/api/auth/refresh",
				strings.NewReader(`{"refreshToken":`), "application/json", 400, "invalid_request"},
			{"a number for the email", "/api/auth/register",
				strings.NewReader(`{"email":5,"password":"x"}`), "application/json", 400,
				"invalid_request"},
			{"JSON nested past the parser's depth", "/api/auth/login",
				strings.NewReader(strings.Repeat("[", 20000)), "application/json", 400,
				"invalid_request"},
			{"a NUL byte in the email at login", "/api/auth/login",
				strings.NewReader(`{"email":"odd\u0000@example.com","password":"x"}`),
				"application/json", 401, "invalid_credentials"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, err := http.NewRequest("POST", e.srv.URL+tc.path, tc.body)
				if err != nil {
					t.Fatal(err)
				}
				if tc.ctype != "" {
					req.Header.Set("Content-Type", tc.ctype)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
				if err := json.Unmarshal(raw, &r.Body); err != nil {
					t.Fatalf("answer is not JSON: %q", raw)
				}
				wantError(t, r, tc.status, tc.code)
				for _, leak := range []string{"json:", "invalid character", "unexpected", "EOF",
					"http:", "exceeded"} {
					if strings.Contains(r.Raw, leak) {
						t.Errorf("answer %s echoes the parser (%q)", r.Raw, leak)
					}
				}
			})
		}
		t.Run("JSON with a charset parameter is JSON", func(t *testing.T) {
			b := e.browser()
			r := b.do("POST", "/api/auth/register", creds,
				"Content-Type", "application/json; charset=utf-8")
			if r.Status != http.StatusCreated {
				t.Errorf("got %d %s; want 201", r.Status, r.Raw)
			}
		})
	})
}

func TestForwardedHeadersFromAnUntrustedPeerAreIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		b.register("spoof@example.com")
		spoof := []string{"X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.10",
			"Forwarded", "for=203.0.113.11"}
		wantError(t, e.browser().do("POST", "/api/auth/login", map[string]string{
			"email": "spoof@example.com", "password": "Wrong-password1!"}, spoof...),
			http.StatusUnauthorized, "invalid_credentials")
		if r := b.do("POST", "/api/auth/login", map[string]string{
			"email": "spoof@example.com", "password": strongPassword}, spoof...); r.Status != 200 {
			t.Fatalf("login = %d %s", r.Status, r.Raw)
		}

		sessions := b.do("GET", "/api/auth/sessions", nil)
		history := b.do("GET", "/api/auth/login-history", nil)
		for _, list := range []struct {
			name  string
			items any
		}{{"sessions", sessions.Body["sessions"]}, {"login history", history.Body["entries"]}} {
			items, _ := list.items.([]any)
			if len(items) < 2 {
				t.Fatalf("%s = %v; want at least two entries", list.name, list.items)
			}
			for _, it := range items {
				if ip := it.(map[string]any)["ipAddress"]; ip != "127.0.0.1" {
					t.Errorf("%s entry has ipAddress %v; want the peer, 127.0.0.1", list.name, ip)
				}
			}
		}
	})
}

func TestLoginRefusalsTellNothingAboutTheAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.browser().register("known@example.com")
		gone := e.browser().register("gone@example.com").obj("user")["id"].(string)
		if _, err := st.UpdateUserAccess(t.Context(), gone, store.RoleUser, false,
			e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		const wrong = "Wrong-password1!"

		t.Run("a wrong password, an unknown email and a deactivated account's wrong "+
			"password answer byte for byte alike", func(t *testing.T) {
			want := e.browser().login("nobody@example.com", wrong)
			wantError(t, want, http.StatusUnauthorized, "invalid_credentials")
			for _, email := range []string{"known@example.com", "gone@example.com"} {
				got := e.browser().login(email, wrong)
				if got.Status != want.Status || got.Raw != want.Raw {
					t.Errorf("%s: got %d %s; want %d %s", email, got.Status, got.Raw,
						want.Status, want.Raw)
				}
			}
		})
		t.Run("a locked account and a locked unknown email answer alike", func(t *testing.T) {
			for range 5 {
				e.browser().login("known@example.com", wrong)
				e.browser().login("nobody-else@example.com", wrong)
			}
			known := e.browser().login("known@example.com", strongPassword)
			unknown := e.browser().login("nobody-else@example.com", strongPassword)
			wantError(t, known, http.StatusTooManyRequests, "account_locked")
			if unknown.Status != known.Status || unknown.Raw != known.Raw ||
				unknown.Header.Get("Retry-After") != known.Header.Get("Retry-After") {
				t.Errorf("unknown: %d %s Retry-After %q; known: %d %s Retry-After %q",
					unknown.Status, unknown.Raw, unknown.Header.Get("Retry-After"),
					known.Status, known.Raw, known.Header.Get("Retry-After"))
			}
			if known.Header.Get("Retry-After") == "" {
				t.Error("locked answer without Retry-After")
			}
		})
	})
}

// trailWrites is a store that notes each call writing the audit trail or
// the login history, in the order made.
type trailWrites struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

// take returns the calls noted since the last take.
func (w *trailWrites) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	calls := w.calls
	w.calls = nil
	return calls
}

func (w *trailWrites) note(call string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call)
}

func (w *trailWrites) RecordLogin(ctx context.Context, a store.LoginAttempt) error {
	w.note("RecordLogin")
	return w.Store.RecordLogin(ctx, a)
}

func (w *trailWrites) RecordAuditEvent(ctx context.Context, e store.AuditEvent) error {
	w.note("RecordAuditEvent")
	return w.Store.RecordAuditEvent(ctx, e)
}

func (w *trailWrites) RecordLoginEvent(ctx context.Context, a store.LoginAttempt,
	e store.AuditEvent) error {
	w.note("RecordLoginEvent")
	return w.Store.RecordLoginEvent(ctx, a, e)
}

func TestLoginRefusalsCostTheSameWritesForKnownAndUnknownEmails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		w := &trailWrites{Store: st}
		e := newEnv(t, w)
		known := e.browser().register("known@example.com").obj("user")["id"].(string)
		gone := e.browser().register("gone@example.com").obj("user")["id"].(string)
		if _, err := st.UpdateUserAccess(t.Context(), gone, store.RoleUser, false,
			e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		tests := []struct{ name, email, userID string }{
			{"a wrong password", "known@example.com", known},
			{"a deactivated account's wrong password", "gone@example.com", gone},
			{"an unknown email", "nobody@example.com", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name+" is recorded in one write", func(t *testing.T) {
				w.take()
				r := e.browser().login(tc.email, "Wrong-password1!")
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
				// One transaction holds the event and, for an account, its
				// history entry: a commit fewer for an unknown email would
				// show in the time of the answer.
				want := []string{"RecordLoginEvent"}
				if got := w.take(); !slices.Equal(got, want) {
					t.Errorf("writes = %v; want %v", got, want)
				}
			})
		}

		t.Run("the accounts' histories hold the failures; the unknown email is in none",
			func(t *testing.T) {
				for _, id := range []string{known, gone} {
					h, err := st.LoginHistory(t.Context(), id, 10)
					if err != nil {
						t.Fatal(err)
					}
					if len(h) != 1 || h[0].Success || h[0].Reason != "invalid_credentials" {
						t.Errorf("history of %s = %+v; want one invalid_credentials", id, h)
					}
				}
				events, err := st.AuditEvents(t.Context(), store.AuditQuery{
					Type: "login.failed", Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				var users []string
				for _, ev := range events {
					users = append(users, ev.UserID)
					for k, v := range ev.Detail {
						if strings.Contains(v, "nobody") {
							t.Errorf("event detail %s=%q carries the typed email", k, v)
						}
					}
				}
				slices.Sort(users)
				want := []string{"", known, gone}
				slices.Sort(want)
				if !slices.Equal(users, want) {
					t.Errorf("login.failed events name users %q; want %q", users, want)
				}
			})
	})
}

func TestImportedBcryptHashesLogInOnceAndAreRehashed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *envConfig) {
			c.hash = password.Options{Algorithm: password.Argon2id}
		})
		// Exactly 72 bytes: all bcrypt reads of a password.
		long := strings.Repeat("Ab1!", 18)
		tests := []struct {
			name, prefix, password string
		}{
			{"a $2a$ hash", "$2a$", strongPassword},
			{"a $2b$ hash", "$2b$", strongPassword},
			{"a $2y$ hash", "$2y$", strongPassword},
			{"a $2b$ hash of a 72-byte password", "$2b$", long},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("import%d@example.com", i)
				id := e.browser().register(email).obj("user")["id"].(string)
				legacy, err := bcrypt.GenerateFromPassword([]byte(tc.password), bcrypt.MinCost)
				if err != nil {
					t.Fatal(err)
				}
				imported := tc.prefix + string(legacy[4:])
				if err := st.UpdatePasswordHash(t.Context(), id, imported,
					e.clock.Now()); err != nil {
					t.Fatal(err)
				}

				// bcrypt stops reading at 72 bytes; Latchkey must not.
				wantError(t, e.browser().login(email, tc.password+"x"),
					http.StatusUnauthorized, "invalid_credentials")
				if got := storedHash(t, st, id); got != imported {
					t.Fatalf("a refused login changed the hash to %.12s…", got)
				}
				if r := e.browser().login(email, tc.password); r.Status != http.StatusOK {
					t.Fatalf("login with the imported hash = %d %s", r.Status, r.Raw)
				}
				if got := storedHash(t, st, id); !strings.HasPrefix(got, "$argon2id$") {
					t.Errorf("hash after login = %.12s…; want it rehashed to argon2id", got)
				}
				if r := e.browser().login(email, tc.password); r.Status != http.StatusOK {
					t.Errorf("login after the rehash = %d %s", r.Status, r.Raw)
				}
			})
		}
	})
}

func storedHash(t *testing.T, st store.Store, id string) string {
	t.Helper()
	u, err := st.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash
}
