package httpapi_test

import (
	"bytes"
	"database/sql"
	"encoding/base32"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mfa"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// mfaKey is the key the test server seals TOTP secrets with.
var mfaKey = []byte("test-mfa-key-0123456789abcdef-32")

// stepsAfterEnable is how far enrollTOTP moves the clock once 2FA is on, so
// that the steps the tests use are later than the one that enabled it.
const stepsAfterEnable = 5

// code returns the TOTP code of secret for the server clock's step plus
// offset.
func (e *env) code(secret string, offset int64) string {
	e.t.Helper()
	c, err := mfa.Code(secret, mfa.Step(e.clock.Now())+offset)
	if err != nil {
		e.t.Fatalf("TOTP code: %v", err)
	}
	return c
}

// nextStep moves the server clock to the next TOTP step.
func (e *env) nextStep() {
	e.clock.Advance(mfa.Period)
}

// twoFactorUser is a registered user with 2FA on.
type twoFactorUser struct {
	id, email, secret string
	backup            []string
}

// enrollTOTP registers email in b and turns 2FA on for it.
func (b *browser) enrollTOTP(email string) twoFactorUser {
	b.e.t.Helper()
	reg := b.register(email)
	setup := b.do("POST", "/api/auth/mfa/totp/setup", nil)
	if setup.Status != http.StatusOK || setup.str("secret") == "" {
		b.e.t.Fatalf("setup = %d %s", setup.Status, setup.Raw)
	}
	secret := setup.str("secret")
	enable := b.do("POST", "/api/auth/mfa/totp/enable",
		map[string]string{"code": b.e.code(secret, 0)})
	if enable.Status != http.StatusOK {
		b.e.t.Fatalf("enable = %d %s", enable.Status, enable.Raw)
	}
	b.e.clock.Advance(stepsAfterEnable * mfa.Period)
	return twoFactorUser{
		id:     reg.obj("user")["id"].(string),
		email:  email,
		secret: secret,
		backup: strs(b.e.t, enable.Body["backupCodes"]),
	}
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a JSON array", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%v is not a string", x)
		}
		out[i] = s
	}
	return out
}

// passwordStep logs in with the right password as a client without cookies
// of its own and returns the step-up token, checking that nothing else came
// back.
func (e *env) passwordStep(email string) string {
	e.t.Helper()
	r := e.browser().login(email, strongPassword)
	if r.Status != http.StatusOK || r.Body["mfaRequired"] != true || r.str("mfaToken") == "" {
		e.t.Fatalf("password step = %d %s; want 200 with mfaRequired and mfaToken",
			r.Status, r.Raw)
	}
	return r.str("mfaToken")
}

// secondStep sends the step-up token with one factor: field is "code" or
// "backupCode".
func (b *browser) secondStep(mfaToken, field, value string) response {
	b.e.t.Helper()
	return b.do("POST", "/api/auth/login/mfa", map[string]string{
		"mfaToken": mfaToken, field: value,
	})
}

// wantLoggedIn checks a response is a full login: an access token that
// works and a refresh cookie.
func wantLoggedIn(t *testing.T, b *browser, r response) {
	t.Helper()
	if r.Status != http.StatusOK || r.str("accessToken") == "" || r.obj("user")["id"] == nil {
		t.Fatalf("second step = %d %s; want 200 with user and access token", r.Status, r.Raw)
	}
	if b.refreshCookie() == "" {
		t.Error("second step set no refresh cookie")
	}
	if p := b.do("GET", "/api/auth/profile", nil); p.Status != http.StatusOK {
		t.Errorf("profile after second step = %d %s", p.Status, p.Raw)
	}
}

// racer sends requests from many goroutines at once over connections opened
// beforehand, so that they reach the server together.
type racer struct {
	e      *env
	client *http.Client
}

func newRacer(t *testing.T, e *env, n int) *racer {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	t.Cleanup(tr.CloseIdleConnections)
	r := &racer{e: e, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := r.client.Get(e.srv.URL + "/healthz")
			if err != nil {
				t.Errorf("warm-up: %v", err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
	}
	wg.Wait()
	return r
}

func maxAttempts(n int) envOption {
	return func(c *envConfig) { c.auth.MaxLoginAttempts = n }
}

func TestTOTPEnrollment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		b := e.browser()
		b.register("enroll@example.com")

		wantError(t, b.do("POST", "/api/auth/mfa/totp/enable", map[string]string{"code": "123456"}),
			http.StatusConflict, "mfa_setup_required")

		setup := b.do("POST", "/api/auth/mfa/totp/setup", nil)
		if setup.Status != http.StatusOK {
			t.Fatalf("setup = %d %s", setup.Status, setup.Raw)
		}
		secret := setup.str("secret")
		u, err := url.Parse(setup.str("otpauthUrl"))
		if err != nil || u.Scheme != "otpauth" || u.Host != "totp" ||
			u.Path != "/Latchkey:enroll@example.com" ||
			u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Latchkey" {
			t.Errorf("otpauthUrl = %q; want otpauth://totp/Latchkey:enroll@example.com "+
				"with the secret and issuer", setup.str("otpauthUrl"))
		}
		if !strings.HasPrefix(setup.str("qrCode"), "data:image/png;base64,iVBORw0KGgo") {
			t.Errorf("qrCode = %.40q…; want a PNG data URL", setup.str("qrCode"))
		}

		// Setup alone turns nothing on.
		if p := b.do("GET", "/api/auth/profile", nil); p.obj("user")["twoFactorEnabled"] != false {
			t.Errorf("profile after setup = %s; want twoFactorEnabled false", p.Raw)
		}
		r := e.browser().login("enroll@example.com", strongPassword)
		if r.str("accessToken") == "" {
			t.Errorf("login after setup alone = %s; want tokens", r.Raw)
		}

		for _, bad := range []string{e.code(secret, 3), "12345", " " + e.code(secret, 0)} {
			r := b.do("POST", "/api/auth/mfa/totp/enable", map[string]string{"code": bad})
			wantError(t, r, http.StatusBadRequest, "invalid_code")
		}
		enable := b.do("POST", "/api/auth/mfa/totp/enable",
			map[string]string{"code": e.code(secret, 0)})
		if enable.Status != http.StatusOK {
			t.Fatalf("enable = %d %s", enable.Status, enable.Raw)
		}
		codes := strs(t, enable.Body["backupCodes"])
		seen := map[string]bool{}
		for _, c := range codes {
			if _, ok := mfa.CanonicalBackupCode(c); !ok || seen[c] {
				t.Errorf("backup code %q is malformed or repeated", c)
			}
			seen[c] = true
		}
		if len(codes) != 10 {
			t.Errorf("got %d backup codes, want 10", len(codes))
		}

		if p := b.do("GET", "/api/auth/profile", nil); p.obj("user")["twoFactorEnabled"] != true {
			t.Errorf("profile after enable = %s; want twoFactorEnabled true", p.Raw)
		}
		wantError(t, b.do("POST", "/api/auth/mfa/totp/setup", nil),
			http.StatusConflict, "mfa_already_enabled")
		again := b.do("POST", "/api/auth/mfa/totp/enable",
			map[string]string{"code": e.code(secret, 0)})
		wantError(t, again, http.StatusConflict, "mfa_already_enabled")
	})
}

func TestLoginWithTOTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		u := e.browser().enrollTOTP("totp@example.com")

		r := e.browser().login(u.email, strongPassword)
		if r.Status != http.StatusOK || r.Body["mfaRequired"] != true {
			t.Fatalf("password step = %d %s; want 200 mfaRequired", r.Status, r.Raw)
		}
		for _, key := range []string{"accessToken", "refreshToken", "user"} {
			if _, ok := r.Body[key]; ok {
				t.Errorf("password step carries %q: %s", key, r.Raw)
			}
		}
		if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("password step set cookies %q", c)
		}
		if got := fmt.Sprint(r.Body["methods"]); got != "[totp backup_code]" {
			t.Errorf("methods = %s, want [totp backup_code]", got)
		}

		b := e.browser()
		code := e.code(u.secret, 0)
		done := b.secondStep(r.str("mfaToken"), "code", code)
		wantLoggedIn(t, b, done)
		if done.obj("user")["twoFactorEnabled"] != true {
			t.Errorf("user = %v; want twoFactorEnabled", done.obj("user"))
		}
		if ref := b.do("POST", "/api/auth/refresh", nil); ref.Status != http.StatusOK {
			t.Errorf("refresh after a two-factor login = %d %s", ref.Status, ref.Raw)
		}

		t.Run("the same code is refused the second time", func(t *testing.T) {
			r := e.browser().secondStep(e.passwordStep(u.email), "code", code)
			wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
		})
		t.Run("the next step's code works once the clock moves on", func(t *testing.T) {
			e.nextStep()
			b := e.browser()
			wantLoggedIn(t, b, b.secondStep(e.passwordStep(u.email), "code", e.code(u.secret, 0)))
		})
		t.Run("login history shows the failure and the successes", func(t *testing.T) {
			h := b.do("GET", "/api/auth/login-history", nil)
			var ok, failed int
			for _, entry := range h.Body["entries"].([]any) {
				m := entry.(map[string]any)
				switch {
				case m["success"] == true:
					ok++
				case m["reason"] == "invalid_mfa_code":
					failed++
				}
			}
			if ok != 2 || failed != 1 {
				t.Errorf("history has %d successes and %d wrong codes, want 2 and 1: %s",
					ok, failed, h.Raw)
			}
		})
	})
}

func TestTOTPAcceptsOneStepOfSkewAndNoMore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		tests := []struct {
			name   string
			offset int64
			ok     bool
		}{
			{"the current step's code is accepted", 0, true},
			{"the previous step's code is accepted", -1, true},
			{"the next step's code is accepted", 1, true},
			{"a code two steps old is refused", -2, false},
			{"a code two steps ahead is refused", 2, false},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := e.browser().enrollTOTP(fmt.Sprintf("skew%d@example.com", i))
				code := e.code(u.secret, tc.offset)
				if !tc.ok {
					for o := int64(-1); o <= 1; o++ {
						if e.code(u.secret, o) == code {
							t.Skip("the code collides with one inside the window")
						}
					}
				}
				b := e.browser()
				r := b.secondStep(e.passwordStep(u.email), "code", code)
				if tc.ok {
					wantLoggedIn(t, b, r)
				} else {
					wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
				}
			})
		}
	})
}

func TestMalformedCodesAreRefusedNotNormalized(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(100))
		u := e.browser().enrollTOTP("malformed@example.com")
		code := e.code(u.secret, 0)
		fullWidth := strings.Map(func(r rune) rune { return r - '0' + '０' }, code)
		arabic := strings.Map(func(r rune) rune { return r - '0' + '٠' }, code)
		tests := []struct{ name, code string }{
			{"a leading space", " " + code},
			{"a trailing newline", code + "\n"},
			{"a space in the middle", code[:3] + " " + code[3:]},
			{"a hyphen in the middle", code[:3] + "-" + code[3:]},
			{"five digits", code[:5]},
			{"seven digits", code + "0"},
			{"full-width digits", fullWidth},
			{"Arabic-Indic digits", arabic},
		}
		for _, tc := range tests {
			t.Run("a code with "+tc.name+" is refused", func(t *testing.T) {
				r := e.browser().secondStep(e.passwordStep(u.email), "code", tc.code)
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			})
		}
		t.Run("the well-formed code is still accepted", func(t *testing.T) {
			b := e.browser()
			wantLoggedIn(t, b, b.secondStep(e.passwordStep(u.email), "code", code))
		})
	})
}

// raceLogins runs n second steps at once, each on its own step-up token,
// all with the same factor, and counts the answers by status and error code
// ("200 " for a login).
func raceLogins(t *testing.T, e *env, email, field, value string, n int) map[string]int {
	t.Helper()
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = e.passwordStep(email)
	}
	rc := newRacer(t, e, n)
	return tally(t, n, func(i int) (int, string, error) {
		return rc.postCode("/api/auth/login/mfa",
			map[string]string{"mfaToken": tokens[i], field: value})
	})
}

func TestRacingUsesOfOneCodeSucceedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		// A limit well above the twenty, so that every use reaches the
		// store's compare-and-set rather than being refused as too many
		// attempts at once.
		e := newEnv(t, st, maxAttempts(100))
		tests := []struct {
			name  string
			field string
			value func(u twoFactorUser) string
		}{
			{"twenty parallel uses of one TOTP code", "code",
				func(u twoFactorUser) string { return e.code(u.secret, 0) }},
			{"twenty parallel uses of one backup code", "backupCode",
				func(u twoFactorUser) string { return u.backup[0] }},
		}
		for i, tc := range tests {
			t.Run(tc.name+" succeed exactly once", func(t *testing.T) {
				u := e.browser().enrollTOTP(fmt.Sprintf("race%d@example.com", i))
				got := raceLogins(t, e, u.email, tc.field, tc.value(u), 20)
				want := map[string]int{"200 ": 1, "401 invalid_credentials": 19}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("answers = %v; want %v", got, want)
				}
			})
		}
	})
}

func TestBackupCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(20))
		owner := e.browser()
		u := owner.enrollTOTP("backup@example.com")

		b := e.browser()
		r := b.secondStep(e.passwordStep(u.email), "backupCode", u.backup[0])
		wantLoggedIn(t, b, r)
		if r.Body["backupCodesRemaining"] != float64(9) {
			t.Errorf("backupCodesRemaining = %v, want 9", r.Body["backupCodesRemaining"])
		}

		t.Run("a used backup code is refused, in any spelling", func(t *testing.T) {
			canonical, _ := mfa.CanonicalBackupCode(u.backup[0])
			for _, again := range []string{u.backup[0], strings.ToUpper(u.backup[0]), canonical} {
				r := e.browser().secondStep(e.passwordStep(u.email), "backupCode", again)
				wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
			}
		})
		t.Run("another code works without its hyphen and counts down", func(t *testing.T) {
			b := e.browser()
			plain := strings.ReplaceAll(u.backup[1], "-", "")
			r := b.secondStep(e.passwordStep(u.email), "backupCode", plain)
			wantLoggedIn(t, b, r)
			if r.Body["backupCodesRemaining"] != float64(8) {
				t.Errorf("backupCodesRemaining = %v, want 8", r.Body["backupCodesRemaining"])
			}
		})
		t.Run("a TOTP login does not report backup codes", func(t *testing.T) {
			e.nextStep()
			r := e.browser().secondStep(e.passwordStep(u.email), "code", e.code(u.secret, 0))
			if _, ok := r.Body["backupCodesRemaining"]; ok || r.Status != http.StatusOK {
				t.Errorf("TOTP login = %d %s; want 200 without backupCodesRemaining",
					r.Status, r.Raw)
			}
		})

		t.Run("regeneration needs a current code and voids the old set", func(t *testing.T) {
			e.nextStep()
			for _, bad := range []string{e.code(u.secret, 3), u.backup[2]} {
				r := owner.do("POST", "/api/auth/mfa/backup-codes", map[string]string{"code": bad})
				wantError(t, r, http.StatusBadRequest, "invalid_code")
			}

			regen := owner.do("POST", "/api/auth/mfa/backup-codes",
				map[string]string{"code": e.code(u.secret, 0)})
			if regen.Status != http.StatusOK {
				t.Fatalf("regenerate = %d %s", regen.Status, regen.Raw)
			}
			fresh := strs(t, regen.Body["backupCodes"])
			if len(fresh) != 10 {
				t.Fatalf("got %d new codes, want 10", len(fresh))
			}
			r := e.browser().secondStep(e.passwordStep(u.email), "backupCode", u.backup[2])
			wantError(t, r, http.StatusUnauthorized, "invalid_credentials")

			b := e.browser()
			r = b.secondStep(e.passwordStep(u.email), "backupCode", fresh[0])
			wantLoggedIn(t, b, r)
			if r.Body["backupCodesRemaining"] != float64(9) {
				t.Errorf("backupCodesRemaining of the new set = %v, want 9",
					r.Body["backupCodesRemaining"])
			}
		})
	})
}

func TestDisableTwoFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(20))

		t.Run("with the password and a current code", func(t *testing.T) {
			b := e.browser()
			u := b.enrollTOTP("disable@example.com")
			pending := e.passwordStep(u.email)

			wantError(t, b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": "Wrong-password1!", "code": e.code(u.secret, 0),
			}), http.StatusBadRequest, "invalid_password")
			wantError(t, b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": strongPassword, "code": e.code(u.secret, 2),
			}), http.StatusBadRequest, "invalid_code")
			wantError(t, b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": strongPassword,
			}), http.StatusBadRequest, "invalid_request")

			r := b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": strongPassword, "code": e.code(u.secret, 0),
			})
			if r.Status != http.StatusOK {
				t.Fatalf("disable = %d %s", r.Status, r.Raw)
			}
			p := b.do("GET", "/api/auth/profile", nil)
			if p.obj("user")["twoFactorEnabled"] != false {
				t.Errorf("profile after disable = %s; want twoFactorEnabled false", p.Raw)
			}
			wantError(t, e.browser().secondStep(pending, "backupCode", u.backup[0]),
				http.StatusUnauthorized, "invalid_token")
			if login := e.browser().login(u.email, strongPassword); login.str("accessToken") == "" {
				t.Errorf("login after disable = %s; want tokens at once", login.Raw)
			}
			for _, table := range []string{"totp_secrets", "backup_codes"} {
				if n := countRows(t, e, table, u.id); n != 0 {
					t.Errorf("%s keeps %d rows of the user after disable", table, n)
				}
			}
			wantError(t, b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": strongPassword, "code": e.code(u.secret, 0),
			}), http.StatusConflict, "mfa_not_enabled")
		})

		t.Run("with the password and a backup code", func(t *testing.T) {
			b := e.browser()
			u := b.enrollTOTP("disable-backup@example.com")
			r := b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
				"password": strongPassword, "backupCode": u.backup[3],
			})
			if r.Status != http.StatusOK {
				t.Fatalf("disable with a backup code = %d %s", r.Status, r.Raw)
			}
		})
	})
}

func countRows(t *testing.T, e *env, table, userID string) int {
	t.Helper()
	db := sqlHandle(t, e)
	var n int
	q := db.Rebind(`SELECT COUNT(*) FROM ` + table + ` WHERE user_id = ?`)
	if err := db.DB().QueryRowContext(t.Context(), q, userID).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type sqlDB interface {
	DB() *sql.DB
	Rebind(query string) string
}

func sqlHandle(t *testing.T, e *env) sqlDB {
	t.Helper()
	db, ok := e.store.(sqlDB)
	if !ok {
		t.Fatalf("%T gives no SQL handle", e.store)
	}
	return db
}

func TestStepUpTokenIsGoodOnlyForTheSecondStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(20))
		u := e.browser().enrollTOTP("stepup@example.com")
		tok := e.passwordStep(u.email)

		t.Run("it is refused at every other endpoint", func(t *testing.T) {
			thief := e.browser()
			thief.token = tok
			for _, path := range []string{"/api/auth/profile", "/api/auth/sessions",
				"/api/auth/login-history"} {
				wantError(t, thief.do("GET", path, nil), http.StatusUnauthorized, "invalid_token")
			}
			wantError(t, thief.do("POST", "/api/auth/mfa/totp/setup", nil),
				http.StatusUnauthorized, "invalid_token")
			wantError(t, thief.do("POST", "/api/auth/logout", nil),
				http.StatusUnauthorized, "invalid_token")

			anon := e.browser()
			r := anon.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": tok})
			wantError(t, r, http.StatusUnauthorized, "invalid_token")
			for _, path := range []string{"/api/auth/email/verify", "/api/auth/password/reset"} {
				r := anon.do("POST", path,
					map[string]string{"token": tok, "password": "New-pass-2024!"})
				if r.Status < 400 {
					t.Errorf("%s with a step-up token = %d %s; want a refusal",
						path, r.Status, r.Raw)
				}
			}
		})
		t.Run("it still completes the login, once", func(t *testing.T) {
			b := e.browser()
			wantLoggedIn(t, b, b.secondStep(tok, "code", e.code(u.secret, 0)))
			e.nextStep()
			wantError(t, e.browser().secondStep(tok, "code", e.code(u.secret, 0)),
				http.StatusUnauthorized, "invalid_token")
		})
		t.Run("it expires after five minutes", func(t *testing.T) {
			e.nextStep()
			tok := e.passwordStep(u.email)
			e.clock.Advance(5*time.Minute + time.Second)
			wantError(t, e.browser().secondStep(tok, "code", e.code(u.secret, 0)),
				http.StatusUnauthorized, "invalid_token")
		})
		t.Run("five wrong codes void it", func(t *testing.T) {
			e.nextStep()
			tok := e.passwordStep(u.email)
			for range 5 {
				wantError(t, e.browser().secondStep(tok, "code", e.code(u.secret, 4)),
					http.StatusUnauthorized, "invalid_credentials")
			}
			wantError(t, e.browser().secondStep(tok, "code", e.code(u.secret, 0)),
				http.StatusUnauthorized, "invalid_token")
		})
		t.Run("a malformed or unknown token is refused", func(t *testing.T) {
			for _, bad := range []string{"", "not-a-token", strings.Repeat("A", 43)} {
				wantError(t, e.browser().secondStep(bad, "code", e.code(u.secret, 0)),
					http.StatusUnauthorized, "invalid_token")
			}
		})
	})
}

func TestWrongCodesCountTowardTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st) // five failures lock the account
		u := e.browser().enrollTOTP("lockout@example.com")
		wrong := e.code(u.secret, 4)

		// Four wrong codes, then the right password again: it must not
		// clear the count.
		tok := e.passwordStep(u.email)
		for range 4 {
			wantError(t, e.browser().secondStep(tok, "code", wrong),
				http.StatusUnauthorized, "invalid_credentials")
		}
		tok = e.passwordStep(u.email)
		wantError(t, e.browser().secondStep(tok, "code", wrong),
			http.StatusTooManyRequests, "account_locked")

		r := e.browser().secondStep(tok, "code", e.code(u.secret, 0))
		wantError(t, r, http.StatusTooManyRequests, "account_locked")
		if r.Header.Get("Retry-After") == "" {
			t.Error("locked answer without Retry-After")
		}
		wantError(t, e.browser().login(u.email, strongPassword),
			http.StatusTooManyRequests, "account_locked")

		e.clock.Advance(e.opts.LockoutDuration + time.Second)
		b := e.browser()
		wantLoggedIn(t, b, b.secondStep(e.passwordStep(u.email), "code", e.code(u.secret, 0)))
	})
}

func TestTOTPSecretIsEncryptedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		u := e.browser().enrollTOTP("at-rest@example.com")

		db := sqlHandle(t, e)
		var sealed []byte
		err := db.DB().QueryRowContext(t.Context(),
			db.Rebind(`SELECT secret FROM totp_secrets WHERE user_id = ?`), u.id).Scan(&sealed)
		if err != nil {
			t.Fatalf("read stored secret: %v", err)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.secret)
		if err != nil {
			t.Fatalf("decode secret: %v", err)
		}
		if bytes.Contains(bytes.ToUpper(sealed), []byte(u.secret)) || bytes.Contains(sealed, raw) {
			t.Fatalf("the stored value %x contains the secret", sealed)
		}

		// It is the secret, encrypted under the configured key for this user.
		sealer, err := mfa.NewSealer(mfaKey)
		if err != nil {
			t.Fatalf("NewSealer: %v", err)
		}
		if got, err := sealer.Open(u.id, sealed); err != nil || got != u.secret {
			t.Errorf("opening the stored value = %q, %v; want the secret", got, err)
		}

		rows, err := db.DB().QueryContext(t.Context(),
			db.Rebind(`SELECT code_hash FROM backup_codes WHERE user_id = ?`), u.id)
		if err != nil {
			t.Fatalf("read backup codes: %v", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			n++
			for _, c := range u.backup {
				canonical, _ := mfa.CanonicalBackupCode(c)
				if strings.Contains(h, canonical) || strings.Contains(h, c) {
					t.Errorf("stored backup code %q contains the code", h)
				}
			}
		}
		if err := rows.Err(); err != nil || n != 10 {
			t.Errorf("stored backup codes = %d (%v), want 10", n, err)
		}
	})
}
