package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// wrongCode returns a well-formed code of secret that is not valid in the
// current step or either of its neighbours.
func (e *env) wrongCode(secret string) string {
	e.t.Helper()
	valid := map[string]bool{}
	for o := int64(-1); o <= 1; o++ {
		valid[e.code(secret, o)] = true
	}
	for o := int64(3); o < 20; o++ {
		if c := e.code(secret, o); !valid[c] {
			return c
		}
	}
	e.t.Fatal("no wrong code found")
	return ""
}

// postCode sends body as JSON through the racer, with the header pairs
// given, and returns the status and the error code of the answer.
func (r *racer) postCode(path string, body any, header ...string) (int, string, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequest("POST", r.e.srv.URL+path, bytes.NewReader(buf))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	var out struct {
		Code string `json:"code"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, "", fmt.Errorf("answer is not JSON: %q", raw)
		}
	}
	return res.StatusCode, out.Code, nil
}

// tally makes n requests at once, the i-th with send(i), and counts the
// answers by status and error code ("401 invalid_token").
func tally(t *testing.T, n int, send func(i int) (int, string, error)) map[string]int {
	t.Helper()
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			status, code, err := send(i)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			mu.Lock()
			answers[fmt.Sprintf("%d %s", status, code)]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// burst sends one second step per token at once, all with the same code,
// and counts the answers by status and error code.
func burst(t *testing.T, e *env, tokens []string, code string) map[string]int {
	t.Helper()
	rc := newRacer(t, e, len(tokens))
	return tally(t, len(tokens), func(i int) (int, string, error) {
		return rc.postCode("/api/auth/login/mfa",
			map[string]string{"mfaToken": tokens[i], "code": code})
	})
}

// bearerBurst sends n copies of body at once to path with the access token,
// and counts the answers by status and error code.
func bearerBurst(t *testing.T, e *env, n int, path, accessToken string,
	body any) map[string]int {
	t.Helper()
	rc := newRacer(t, e, n)
	return tally(t, n, func(int) (int, string, error) {
		return rc.postCode(path, body, "Authorization", "Bearer "+accessToken)
	})
}

// wantLockedAtTheLimit checks the answers to a burst of n wrong guesses at
// an account that five failures lock: four refused with refusal, such as
// "401 invalid_credentials", the fifth locking the account, and the others
// refused unchecked, as locked or as too many at once.
func wantLockedAtTheLimit(t *testing.T, answers map[string]int, refusal string, n int) {
	t.Helper()
	refused := answers[refusal]
	limited := answers["429 account_locked"] + answers["429 rate_limited"]
	if refused != 4 || answers["429 account_locked"] < 1 || refused+limited != n {
		t.Errorf("answers = %v; want 4 × %s and the rest 429 account_locked or "+
			"rate_limited, at least one of them locked", answers, refusal)
	}
}

// countEvents counts the audit events of type typ about the user.
func countEvents(t *testing.T, st store.Store, userID, typ string) int {
	t.Helper()
	events, err := st.AuditEvents(t.Context(), store.AuditQuery{
		UserID: userID, Type: typ, Limit: 1000})
	if err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return len(events)
}

// checkedCodes counts the wrong codes the server actually checked for the
// user, as its login history records them.
func checkedCodes(t *testing.T, st store.Store, userID string) int {
	t.Helper()
	entries, err := st.LoginHistory(t.Context(), userID, 1000)
	if err != nil {
		t.Fatalf("login history: %v", err)
	}
	n := 0
	for _, a := range entries {
		if !a.Success && a.Reason == "invalid_mfa_code" {
			n++
		}
	}
	return n
}

func TestABurstOfWrongCodesOnOneStepUpTokenGetsFiveChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(100))
		u := e.browser().enrollTOTP("burst-token@example.com")
		tok := e.passwordStep(u.email)
		tokens := make([]string, 20)
		for i := range tokens {
			tokens[i] = tok
		}

		got := burst(t, e, tokens, e.wrongCode(u.secret))
		want := map[string]int{"401 invalid_credentials": 5, "401 invalid_token": 15}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers = %v; want %v", got, want)
		}
		if n := checkedCodes(t, st, u.id); n != 5 {
			t.Errorf("wrong codes checked = %d; want 5", n)
		}
		// What is left of the token opens nothing, even with the right code.
		wantError(t, e.browser().secondStep(tok, "code", e.code(u.secret, 0)),
			http.StatusUnauthorized, "invalid_token")
	})
}

func TestABurstOfWrongCodesAcrossStepUpTokensStopsAtTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st) // five failures lock the account
		u := e.browser().enrollTOTP("burst-tokens@example.com")
		tokens := make([]string, 20)
		for i := range tokens {
			tokens[i] = e.passwordStep(u.email)
		}

		got := burst(t, e, tokens, e.wrongCode(u.secret))
		wantLockedAtTheLimit(t, got, "401 invalid_credentials", len(tokens))
		if n := checkedCodes(t, st, u.id); n != 5 {
			t.Errorf("wrong codes checked = %d; want 5", n)
		}
		wantError(t, e.browser().login(u.email, strongPassword),
			http.StatusTooManyRequests, "account_locked")
	})
}

func TestABurstOfWrongPasswordsGetsOnlyTheLimitChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st) // five failures lock the account
		id := e.browser().register("burst-password@example.com").obj("user")["id"].(string)
		tests := []struct{ name, email string }{
			{"for a known account", "burst-password@example.com"},
			{"for an unknown email", "burst-nobody@example.com"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				const n = 30
				rc := newRacer(t, e, n)
				answers := tally(t, n, func(int) (int, string, error) {
					return rc.postCode("/api/auth/login", map[string]string{
						"email": tc.email, "password": "Wrong-password1!"})
				})

				wantLockedAtTheLimit(t, answers, "401 invalid_credentials", n)
				wantError(t, e.browser().login(tc.email, strongPassword),
					http.StatusTooManyRequests, "account_locked")
			})
		}
		entries, err := st.LoginHistory(t.Context(), id, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 5 {
			t.Errorf("passwords checked for the known account = %d; want 5", len(entries))
		}
	})
}

func TestStepUpTokenIsNoRefreshCookieAndNoBearerToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(20))
		u := e.browser().enrollTOTP("stepup-cookie@example.com")
		tok := e.passwordStep(u.email)
		bearer := []string{"Authorization", "Bearer " + tok}

		tests := []struct {
			name, method, path string
			header             []string
			body               any
		}{
			{"as the refresh cookie", "POST", "/api/auth/refresh",
				[]string{"Cookie", "refreshToken=" + tok}, nil},
			{"as a bearer token at the admin route", "GET", "/api/auth/admin", bearer, nil},
			{"as a bearer token at the admin API", "GET", "/api/admin/users", bearer, nil},
			{"as a bearer token to enable 2FA", "POST", "/api/auth/mfa/totp/enable", bearer,
				map[string]string{"code": "123456"}},
			{"as a bearer token to regenerate backup codes", "POST",
				"/api/auth/mfa/backup-codes", bearer, map[string]string{"code": "123456"}},
			{"as a bearer token to disable 2FA", "POST", "/api/auth/mfa/totp/disable", bearer,
				map[string]string{"password": strongPassword, "code": "123456"}},
			{"as a bearer token to change the password", "POST", "/api/auth/password/change",
				bearer, map[string]string{
					"currentPassword": strongPassword, "newPassword": "Another-pass9!"}},
			{"as a bearer token to revoke sessions", "DELETE", "/api/auth/sessions/x", bearer, nil},
		}
		for _, tc := range tests {
			t.Run("it is refused "+tc.name, func(t *testing.T) {
				r := e.browser().do(tc.method, tc.path, tc.body, tc.header...)
				wantError(t, r, http.StatusUnauthorized, "invalid_token")
			})
		}
		t.Run("it still completes the login afterwards", func(t *testing.T) {
			b := e.browser()
			wantLoggedIn(t, b, b.secondStep(tok, "code", e.code(u.secret, 0)))
		})
	})
}

func TestABurstOfWrongCodesWithAStolenAccessTokenStopsAtTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		tests := []struct {
			name, path string
			body       func(wrong string) map[string]string
		}{
			{"regenerating backup codes", "/api/auth/mfa/backup-codes",
				func(wrong string) map[string]string { return map[string]string{"code": wrong} }},
			{"turning 2FA off", "/api/auth/mfa/totp/disable",
				func(wrong string) map[string]string {
					return map[string]string{"password": strongPassword, "code": wrong}
				}},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, st) // five failures lock the account
				owner := e.browser()
				u := owner.enrollTOTP(fmt.Sprintf("stolen%d@example.com", i))

				const n = 20
				answers := bearerBurst(t, e, n, tc.path, owner.token,
					tc.body(e.wrongCode(u.secret)))
				wantLockedAtTheLimit(t, answers, "400 invalid_code", n)
				if n := countEvents(t, st, u.id, "mfa.failed"); n != 5 {
					t.Errorf("wrong codes checked = %d; want 5", n)
				}
			})
		}
	})
}

func TestABurstOfWrongCurrentPasswordsWithAStolenAccessTokenGetsOnlyTheLimitChecked(
	t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st) // five failures lock the account
		owner := e.browser()
		id := owner.register("stolen-change@example.com").obj("user")["id"].(string)

		const n = 30
		answers := bearerBurst(t, e, n, "/api/auth/password/change", owner.token,
			map[string]string{
				"currentPassword": "Wrong-password1!", "newPassword": "Another-pass9!"})

		wantLockedAtTheLimit(t, answers, "400 invalid_password", n)
		if n := countEvents(t, st, id, "password.change_refused"); n != 5 {
			t.Errorf("current passwords checked = %d; want 5", n)
		}
		wantError(t, owner.do("POST", "/api/auth/password/change", map[string]string{
			"currentPassword": strongPassword, "newPassword": "Another-pass9!"}),
			http.StatusTooManyRequests, "account_locked")
	})
}

func TestEnrollmentCodesAreSpentAndSetupReplacesThePendingSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, maxAttempts(20))
		b := e.browser()
		b.register("respent@example.com")

		first := b.do("POST", "/api/auth/mfa/totp/setup", nil).str("secret")
		second := b.do("POST", "/api/auth/mfa/totp/setup", nil).str("secret")
		if first == "" || second == "" || first == second {
			t.Fatalf("setup twice gave %q and %q; want two different secrets", first, second)
		}
		if e.code(first, 0) != e.code(second, 0) {
			wantError(t, b.do("POST", "/api/auth/mfa/totp/enable",
				map[string]string{"code": e.code(first, 0)}),
				http.StatusBadRequest, "invalid_code")
		}
		enabling := e.code(second, 0)
		if r := b.do("POST", "/api/auth/mfa/totp/enable",
			map[string]string{"code": enabling}); r.Status != http.StatusOK {
			t.Fatalf("enable with the second secret = %d %s", r.Status, r.Raw)
		}

		// The code that turned 2FA on cannot also complete a login, nor can
		// an older one.
		for _, code := range []string{enabling, e.code(second, -1)} {
			r := e.browser().secondStep(e.passwordStep("respent@example.com"), "code", code)
			wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
		}
		nb := e.browser()
		wantLoggedIn(t, nb, nb.secondStep(e.passwordStep("respent@example.com"), "code",
			e.code(second, 1)))
	})
}
