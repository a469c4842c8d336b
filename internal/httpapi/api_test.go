package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestAccountLifeCycleWithCookies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()

		reg := b.register("  Alice@Example.COM ")
		user := reg.obj("user")
		if user["email"] != "alice@example.com" || user["role"] != "USER" ||
			user["active"] != true || user["emailVerified"] != false {
			t.Errorf("registered user = %v; want normalized email, USER, active, unverified", user)
		}
		for _, secret := range []string{"password", "passwordHash", "refreshToken"} {
			if _, ok := user[secret]; ok {
				t.Errorf("user object carries %q", secret)
			}
		}
		if reg.str("tokenType") != "Bearer" || reg.Body["expiresIn"] != float64(900) {
			t.Errorf("grant = %s; want Bearer, expiresIn 900", reg.Raw)
		}
		if _, ok := reg.Body["refreshToken"]; ok {
			t.Error("cookie transport put the refresh token in the body")
		}
		assertRefreshCookie(t, reg.Header)

		prof := b.do("GET", "/api/auth/profile", nil)
		if prof.Status != http.StatusOK || prof.obj("user")["id"] != user["id"] {
			t.Fatalf("profile = %d %s", prof.Status, prof.Raw)
		}

		first := b.refreshCookie()
		ref := b.do("POST", "/api/auth/refresh", nil)
		if ref.Status != http.StatusOK || ref.str("accessToken") == "" {
			t.Fatalf("refresh = %d %s", ref.Status, ref.Raw)
		}
		if next := b.refreshCookie(); next == "" || next == first {
			t.Errorf("refresh cookie was not rotated")
		}

		login := e.browser()
		if r := login.login("ALICE@example.com", strongPassword); r.Status != http.StatusOK {
			t.Fatalf("login = %d %s", r.Status, r.Raw)
		}

		out := b.do("POST", "/api/auth/logout", nil)
		if out.Status != http.StatusOK {
			t.Fatalf("logout = %d %s", out.Status, out.Raw)
		}
		if b.refreshCookie() != "" {
			t.Error("logout left the refresh cookie in place")
		}
		r := b.do("GET", "/api/auth/profile", nil)
		wantError(t, r, http.StatusUnauthorized, "invalid_token")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q; want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
		}
		// The other login is a session of its own and survives.
		if r := login.do("GET", "/api/auth/profile", nil); r.Status != http.StatusOK {
			t.Errorf("other session after logout = %d; want 200", r.Status)
		}
	})
}

func assertRefreshCookie(t *testing.T, h http.Header) {
	t.Helper()
	res := http.Response{Header: h}
	for _, c := range res.Cookies() {
		if c.Name != "refreshToken" {
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/auth" ||
			c.MaxAge != 7*24*3600 || c.Secure {
			t.Errorf("refresh cookie = %+v; want HttpOnly, Strict, /api/auth, 7d, not Secure in dev", c)
		}
		return
	}
	t.Error("no refreshToken cookie set")
}

func TestBodyTransportForNonBrowserClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		reg := b.do("POST", "/api/auth/register",
			map[string]string{"email": "bot@example.com", "password": strongPassword},
			"Auth-Token-Transport", "body")
		tok := reg.str("refreshToken")
		if reg.Status != http.StatusCreated || tok == "" {
			t.Fatalf("register with body transport = %d %s", reg.Status, reg.Raw)
		}
		if len(reg.Header.Values("Set-Cookie")) != 0 {
			t.Error("body transport also set a cookie")
		}

		ref := b.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": tok})
		next := ref.str("refreshToken")
		if ref.Status != http.StatusOK || next == "" || next == tok {
			t.Fatalf("refresh with body token = %d %s; want a new token in the body",
				ref.Status, ref.Raw)
		}
		if r := b.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": next}); r.Status != 200 {
			t.Errorf("refresh with successor = %d %s", r.Status, r.Raw)
		}
	})
}

func TestRefreshAnswersTheWayTheTokenCame(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)

		t.Run("a cookie refresh asking for the body gets a cookie only", func(t *testing.T) {
			b := e.browser()
			b.register("cookie-body@example.com")
			old := b.refreshCookie()

			r := b.do("POST", "/api/auth/refresh", nil, "Auth-Token-Transport", "body")
			if r.Status != http.StatusOK {
				t.Fatalf("refresh = %d %s; want 200", r.Status, r.Raw)
			}
			if _, ok := r.Body["refreshToken"]; ok {
				t.Errorf("refresh from the cookie put refreshToken in the body: %s", r.Raw)
			}
			assertRefreshCookie(t, r.Header)
			if next := b.refreshCookie(); next == "" || next == old {
				t.Errorf("cookie after refresh = %q; want a successor of %q", next, old)
			}
		})

		t.Run("a body refresh asking for the body gets the body", func(t *testing.T) {
			b := e.browser()
			reg := b.do("POST", "/api/auth/register",
				map[string]string{"email": "body-body@example.com", "password": strongPassword},
				"Auth-Token-Transport", "body")
			tok := reg.str("refreshToken")

			r := b.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": tok},
				"Auth-Token-Transport", "body")
			if next := r.str("refreshToken"); r.Status != http.StatusOK || next == "" || next == tok {
				t.Fatalf("refresh = %d %s; want 200 with a successor in the body", r.Status, r.Raw)
			}
			if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("body refresh set cookies %q; want none", c)
			}
		})
	})
}

func TestRegisterRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.browser().register("taken@example.com")

		tests := []struct {
			name   string
			body   any
			ctype  string
			status int
			code   string
			field  string
		}{
			{"a weak password", map[string]string{"email": "a@example.com", "password": "password1"},
				"", 400, "weak_password", "password"},
			{"a short password", map[string]string{"email": "a@example.com", "password": "Ab1!"},
				"", 400, "weak_password", "password"},
			{"a password past bcrypt's 72 bytes",
				map[string]string{"email": "a@example.com", "password": strings.Repeat("Aa1!", 19)},
				"", 400, "weak_password", "password"},
			{"a duplicate email in another letter case",
				map[string]string{"email": "TAKEN@Example.com", "password": strongPassword},
				"", 409, "email_taken", "email"},
			{"an invalid email", map[string]string{"email": "not-an-email", "password": strongPassword},
				"", 400, "invalid_request", "email"},
			{"an email with a display name",
				map[string]string{"email": "Eve <eve@example.com>", "password": strongPassword},
				"", 400, "invalid_request", "email"},
			{"malformed JSON", `{"email": "x@example.com", "password": `, "", 400, "invalid_request", ""},
			{"JSON with trailing data", `{"email":"x@example.com"} {}`, "", 400, "invalid_request", ""},
			{"the wrong shape", `["x@example.com"]`, "", 400, "invalid_request", ""},
			{"an oversize body", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, "",
				413, "payload_too_large", ""},
			{"a form body", "email=x", "application/x-www-form-urlencoded", 415,
				"unsupported_media_type", ""},
		}
		for _, tc := range tests {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				b := e.browser()
				var r response
				if tc.ctype != "" {
					r = b.do("POST", "/api/auth/register", tc.body, "Content-Type", tc.ctype)
				} else {
					r = b.do("POST", "/api/auth/register", tc.body)
				}
				wantError(t, r, tc.status, tc.code)
				if tc.field != "" && r.obj("fields")[tc.field] == nil {
					t.Errorf("fields = %v; want an entry for %q", r.Body["fields"], tc.field)
				}
				if strings.Contains(r.Raw, "json:") || strings.Contains(r.Raw, "unexpected") {
					t.Errorf("error echoes the parser: %s", r.Raw)
				}
			})
		}
		if _, err := st.UserByEmail(t.Context(), "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused registrations stored a user: err = %v", err)
		}
	})
}

func TestLoginAnswersUnknownEmailAndWrongPasswordAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.browser().register("known@example.com")

		wrong := e.browser().login("known@example.com", "Wrong-password1!")
		unknown := e.browser().login("nobody@example.com", "Wrong-password1!")
		wantError(t, wrong, 401, "invalid_credentials")
		if wrong.Raw != unknown.Raw || wrong.Status != unknown.Status {
			t.Errorf("wrong password answered %d %s, unknown email %d %s; want identical",
				wrong.Status, wrong.Raw, unknown.Status, unknown.Raw)
		}
	})
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("known account %v", known), func(t *testing.T) {
				e := newEnv(t, st)
				email := fmt.Sprintf("lock-%v@example.com", known)
				if known {
					e.browser().register(email)
				}
				b := e.browser()
				for i := 1; i < 5; i++ {
					wantError(t, b.login(email, "Wrong-password1!"), 401, "invalid_credentials")
				}
				r := b.login(strings.ToUpper(email), "Wrong-password1!")
				wantError(t, r, 429, "account_locked")
				if r.Header.Get("Retry-After") != "900" {
					t.Errorf("Retry-After = %q; want 900", r.Header.Get("Retry-After"))
				}
				// Locked means refused before the password is checked.
				pw := strongPassword
				wantError(t, b.login(email, pw), 429, "account_locked")

				e.clock.Advance(15*time.Minute + time.Second)
				r = b.login(email, pw)
				if known && r.Status != 200 {
					t.Errorf("login after the lock = %d %s; want 200", r.Status, r.Raw)
				}
				if !known {
					wantError(t, r, 401, "invalid_credentials")
				}
			})
		}
	})
}

func TestSuccessfulLoginResetsTheFailureCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		e.browser().register("reset@example.com")
		b := e.browser()
		for range 4 {
			b.login("reset@example.com", "Wrong-password1!")
		}
		if r := b.login("reset@example.com", strongPassword); r.Status != 200 {
			t.Fatalf("login = %d %s", r.Status, r.Raw)
		}
		for range 4 {
			wantError(t, b.login("reset@example.com", "Wrong-password1!"), 401, "invalid_credentials")
		}
	})
}

func TestForgedAccessTokensAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		b.register("forge@example.com")
		good := b.token
		parts := strings.Split(good, ".")

		var claims map[string]any
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(payload, &claims)
		claims["role"] = "ADMIN"
		edited, _ := json.Marshal(claims)

		noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).
			SignedString([]byte("another-secret-another-secret-123"))

		tests := map[string]string{
			"alg none":       noneHeader + "." + parts[1] + ".",
			"a wrong key":    wrongKey,
			"edited payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString(edited) + "." + parts[2],
			"garbage":        "not.a.token",
		}
		for name, tok := range tests {
			t.Run("refuses "+name, func(t *testing.T) {
				b := e.browser()
				b.token = tok
				r := b.do("GET", "/api/auth/profile", nil)
				wantError(t, r, 401, "invalid_token")
				if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
			})
		}

		t.Run("refuses an expired token", func(t *testing.T) {
			e.clock.Advance(16 * time.Minute)
			wantError(t, b.do("GET", "/api/auth/profile", nil), 401, "invalid_token")
		})
		t.Run("asks for a token when there is none", func(t *testing.T) {
			r := e.browser().do("GET", "/api/auth/profile", nil)
			wantError(t, r, 401, "invalid_token")
			if r.Header.Get("WWW-Authenticate") != `Bearer realm="latchkey"` {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	})
}

func TestRolesGuardTheAdminRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		user := e.browser()
		user.register("user@example.com")
		wantError(t, user.do("GET", "/api/auth/admin", nil), 403, "insufficient_role")

		if _, err := e.svc.CreateUser(t.Context(), auth.RegisterInput{
			Email: "root@example.com", Password: strongPassword,
		}, store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		admin := e.browser()
		if r := admin.login("root@example.com", strongPassword); r.Status != 200 {
			t.Fatalf("admin login = %d %s", r.Status, r.Raw)
		}
		if r := admin.do("GET", "/api/auth/admin", nil); r.Status != 200 || r.str("message") == "" {
			t.Errorf("admin route for an admin = %d %s", r.Status, r.Raw)
		}
	})
}

func TestDeactivatedAccountCannotLogInAndItsTokensStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		id := b.register("gone@example.com").obj("user")["id"].(string)

		if _, err := st.UpdateUserAccess(t.Context(), id, store.RoleUser, false, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		wantError(t, b.do("GET", "/api/auth/profile", nil), 403, "account_disabled")
		wantError(t, b.do("POST", "/api/auth/refresh", nil), 403, "account_disabled")
		wantError(t, e.browser().login("gone@example.com", strongPassword), 403, "account_disabled")
		wantError(t, e.browser().login("gone@example.com", "Wrong-password1!"), 401,
			"invalid_credentials")
	})
}

func TestConcurrentRefreshesShareOneSuccessor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		reg := b.do("POST", "/api/auth/register",
			map[string]string{"email": "tabs@example.com", "password": strongPassword},
			"Auth-Token-Transport", "body")
		tok := reg.str("refreshToken")
		access := reg.str("accessToken")

		const n = 20
		got := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				got[i] = e.browser().do("POST", "/api/auth/refresh",
					map[string]string{"refreshToken": tok})
			})
		}
		wg.Wait()

		successor := got[0].str("refreshToken")
		for i, r := range got {
			if r.Status != 200 || r.str("refreshToken") != successor || successor == "" {
				t.Fatalf("refresh %d = %d %s; want 200 with the shared successor", i, r.Status, r.Raw)
			}
		}
		sessID := sessionOf(t, e, access)
		if live := liveTokens(t, st, sessID); live != 1 {
			t.Errorf("live tokens in the family = %d; want 1", live)
		}

		// After the grace window the same token is a replay: the family
		// and the session die, and so does the session's access token.
		e.clock.Advance(11 * time.Second)
		r := e.browser().do("POST", "/api/auth/refresh", map[string]string{"refreshToken": tok})
		wantError(t, r, 401, "invalid_token")
		r = e.browser().do("POST", "/api/auth/refresh", map[string]string{"refreshToken": successor})
		wantError(t, r, 401, "invalid_token")
		b.token = access
		wantError(t, b.do("GET", "/api/auth/profile", nil), 401, "invalid_token")
		if live := liveTokens(t, st, sessID); live != 0 {
			t.Errorf("live tokens after reuse = %d; want 0", live)
		}
	})
}

func sessionOf(t *testing.T, e *env, access string) string {
	t.Helper()
	claims, err := e.access.Verify(access, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return claims.SessionID
}

// liveTokens counts the session's refresh tokens that are neither rotated
// nor revoked.
func liveTokens(t *testing.T, st store.Store, sessionID string) int {
	t.Helper()
	toks, err := st.SessionRefreshTokens(t.Context(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tk := range toks {
		if tk.RotatedAt.IsZero() && tk.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

func TestSessionsListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		phone, laptop := e.browser(), e.browser()
		phone.register("multi@example.com")
		laptop.login("multi@example.com", strongPassword)

		list := laptop.do("GET", "/api/auth/sessions", nil)
		sessions, _ := list.Body["sessions"].([]any)
		if list.Status != 200 || len(sessions) != 2 {
			t.Fatalf("sessions = %d %s; want 2", list.Status, list.Raw)
		}
		var other string
		current := 0
		for _, s := range sessions {
			m := s.(map[string]any)
			if m["current"] == true {
				current++
			} else {
				other = m["id"].(string)
			}
			if m["ipAddress"] != "127.0.0.1" || m["expiresAt"] == nil || m["lastActivity"] == nil {
				t.Errorf("session view = %v", m)
			}
		}
		if current != 1 {
			t.Errorf("%d sessions marked current; want 1", current)
		}

		stranger := e.browser()
		stranger.register("stranger@example.com")
		wantError(t, stranger.do("DELETE", "/api/auth/sessions/"+other, nil), 404, "not_found")
		if r := phone.do("GET", "/api/auth/profile", nil); r.Status != 200 {
			t.Fatalf("a stranger's revoke ended the session: %d", r.Status)
		}

		if r := laptop.do("DELETE", "/api/auth/sessions/"+other, nil); r.Status != 204 {
			t.Fatalf("revoke = %d %s", r.Status, r.Raw)
		}
		wantError(t, phone.do("GET", "/api/auth/profile", nil), 401, "invalid_token")
		wantError(t, phone.do("POST", "/api/auth/refresh", nil), 401, "invalid_token")
		wantError(t, laptop.do("DELETE", "/api/auth/sessions/nope", nil), 404, "not_found")
		if r := laptop.do("GET", "/api/auth/profile", nil); r.Status != 200 {
			t.Errorf("current session after revoking the other = %d", r.Status)
		}
	})
}

func TestLogoutEverywhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.browser(), e.browser()
		a.register("all@example.com")
		b.login("all@example.com", strongPassword)
		if r := a.do("POST", "/api/auth/logout", map[string]bool{"all": true}); r.Status != 200 {
			t.Fatalf("logout all = %d %s", r.Status, r.Raw)
		}
		wantError(t, b.do("GET", "/api/auth/profile", nil), 401, "invalid_token")
		wantError(t, b.do("POST", "/api/auth/refresh", nil), 401, "invalid_token")
	})
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *envConfig) {
			c.auth.IdleTimeout = 15 * time.Minute
			c.auth.MaxAge = time.Hour
			c.auth.RefreshTTL = time.Hour
		})
		b := e.browser()
		b.register("idle@example.com")

		// Activity every ten minutes keeps a 15-minute session alive...
		for range 5 {
			e.clock.Advance(10 * time.Minute)
			if r := b.do("POST", "/api/auth/refresh", nil); r.Status != 200 {
				t.Fatalf("refresh inside the idle window = %d %s", r.Status, r.Raw)
			}
		}
		// ...until its absolute lifetime runs out.
		e.clock.Advance(10 * time.Minute)
		wantError(t, b.do("POST", "/api/auth/refresh", nil), 401, "invalid_token")

		idle := e.browser()
		idle.register("idle2@example.com")
		e.clock.Advance(16 * time.Minute)
		wantError(t, idle.do("POST", "/api/auth/refresh", nil), 401, "invalid_token")
	})
}

func TestCrossSiteCookieRefreshIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		b.register("csrf@example.com")
		r := b.do("POST", "/api/auth/refresh", nil, "Origin", "https://evil.example",
			"Sec-Fetch-Site", "cross-site")
		wantError(t, r, 403, "cross_site_request")
		r = b.do("POST", "/api/auth/refresh", nil, "Origin", "https://evil.example")
		wantError(t, r, 403, "cross_site_request")
		if r := b.do("POST", "/api/auth/refresh", nil, "Origin", e.srv.URL,
			"Sec-Fetch-Site", "same-origin"); r.Status != 200 {
			t.Errorf("same-origin refresh = %d %s", r.Status, r.Raw)
		}
	})
}

func TestLoginHistoryRecordsOutcomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		b.register("hist@example.com")
		e.browser().login("hist@example.com", "Wrong-password1!")
		b.login("hist@example.com", strongPassword)

		r := b.do("GET", "/api/auth/login-history", nil)
		entries, _ := r.Body["entries"].([]any)
		if r.Status != 200 || len(entries) != 2 {
			t.Fatalf("login history = %d %s; want 2 entries", r.Status, r.Raw)
		}
		newest, oldest := entries[0].(map[string]any), entries[1].(map[string]any)
		if newest["success"] != true || oldest["success"] != false ||
			oldest["reason"] != "invalid_credentials" {
			t.Errorf("entries = %v; want success after a failure", entries)
		}
	})
}

func TestBoundedHashingKeepsOtherRequestsServed(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st, func(c *envConfig) {
		c.hash = password.Options{Algorithm: password.Argon2id, MaxInFlight: 1,
			MaxWait: time.Millisecond}
	})
	b := e.browser()
	b.register("flood@example.com")

	const n = 12
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.browser().login("flood@example.com", strongPassword)
			statuses[i], codes[i] = r.Status, r.str("code")
		})
	}
	// Requests that do not hash are served while the flood is in flight.
	prof := b.do("GET", "/api/auth/profile", nil)
	ref := b.do("POST", "/api/auth/refresh", nil)
	wg.Wait()

	if prof.Status != 200 || ref.Status != 200 {
		t.Errorf("profile %d, refresh %d during a login flood; want 200, 200", prof.Status, ref.Status)
	}
	ok, limited := 0, 0
	for i := range n {
		switch {
		case statuses[i] == 200:
			ok++
		case statuses[i] == 429 && codes[i] == "rate_limited":
			limited++
		default:
			t.Errorf("login %d = %d %q; want 200 or 429 rate_limited", i, statuses[i], codes[i])
		}
	}
	if ok == 0 || limited == 0 {
		t.Errorf("%d logins succeeded and %d were limited; want some of each", ok, limited)
	}
}

func TestSecurityHeadersAndJSONErrorsEverywhere(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	b := e.browser()
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "not_found"},
		{"GET", "/api/auth/login", 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := b.do(tc.method, tc.path, nil)
			wantError(t, r, tc.status, tc.code)
		})
	}
	r := b.do("GET", "/healthz", nil)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q; want %q", k, got, v)
		}
	}
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent outside production")
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if r := b.do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("readyz = %d %s", r.Status, r.Raw)
	}
}

func TestCORSAnswersOnlyListedOrigins(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
		c.server.CORSOrigins = []string{"https://app.example.com"}
	})
	b := e.browser()
	preflight := []string{"Origin", "", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type"}

	preflight[1] = "https://app.example.com"
	r := b.do("OPTIONS", "/api/auth/login", nil, preflight...)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q", got)
	}
	if r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Error("allowed origin: credentials not allowed")
	}

	preflight[1] = "https://evil.example"
	r = b.do("OPTIONS", "/api/auth/login", nil, preflight...)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted origin: Access-Control-Allow-Origin = %q; want none", got)
	}
}
