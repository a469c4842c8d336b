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

// postCode sends body as JSON through the racer and returns the status and
// the error code of the answer.
func (r *racer) postCode(path string, body any) (int, string, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	res, err := r.client.Post(r.e.srv.URL+path, "application/json", bytes.NewReader(buf))
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

// burst sends one second step per token at once, all with the same code,
// and counts the answers by status and error code ("401 invalid_token").
func burst(t *testing.T, e *env, tokens []string, code string) map[string]int {
	t.Helper()
	rc := newRacer(t, e, len(tokens))
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for _, tok := range tokens {
		wg.Go(func() {
			<-start
			status, code, err := rc.postCode("/api/auth/login/mfa",
				map[string]string{"mfaToken": tok, "code": code})
			if err != nil {
				t.Errorf("second step: %v", err)
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

func TestABurstOfWrongCodesCannotOutrunTheLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		tests := []struct {
			name     string
			max      int  // MAX_LOGIN_ATTEMPTS
			oneToken bool // every request on one step-up token, or each on its own
			want     map[string]int
		}{
			{
				name:     "twenty codes at once on one step-up token get five checked",
				max:      100,
				oneToken: true,
				want:     map[string]int{"401 invalid_credentials": 5, "401 invalid_token": 15},
			},
			{
				name: "twenty codes at once on twenty step-up tokens stop at the lockout",
				max:  5,
				want: map[string]int{"401 invalid_credentials": 4, "429 account_locked": 16},
			},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, st, maxAttempts(tc.max))
				u := e.browser().enrollTOTP(fmt.Sprintf("burst%d@example.com", i))
				tokens := make([]string, 20)
				for i := range tokens {
					if tc.oneToken && i > 0 {
						tokens[i] = tokens[0]
						continue
					}
					tokens[i] = e.passwordStep(u.email)
				}

				got := burst(t, e, tokens, e.wrongCode(u.secret))
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("answers = %v; want %v", got, tc.want)
				}
				if n, want := checkedCodes(t, st, u.id), 5; n != want {
					t.Errorf("wrong codes checked = %d; want %d", n, want)
				}

				// Whatever is left of the burst opens nothing, even with the
				// right code.
				r := e.browser().secondStep(tokens[0], "code", e.code(u.secret, 0))
				if tc.oneToken {
					wantError(t, r, http.StatusUnauthorized, "invalid_token")
				} else {
					wantError(t, r, http.StatusTooManyRequests, "account_locked")
				}
			})
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
