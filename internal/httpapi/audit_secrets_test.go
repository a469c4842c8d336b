package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestAuditTrailHoldsNoSecret runs every flow that handles a secret (a
// password, a TOTP secret or code, a backup code, a step-up, verification,
// reset, refresh or access token), then reads the whole trail back and looks
// for each of them in every event.
func TestAuditTrailHoldsNoSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newMailEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		b := e.browser()
		u := b.enrollTOTP("carol@example.com")
		secrets := map[string]string{"the password": strongPassword,
			"the TOTP secret": u.secret}
		for _, c := range u.backup {
			secrets["backup code "+c] = c
		}
		var codes []string
		code := func() string {
			e.nextStep()
			c := e.code(u.secret, 0)
			codes = append(codes, c)
			return c
		}

		wrong := "Wrong-password1!"
		secrets["a wrong password"] = wrong
		e.browser().login(u.email, wrong)

		step := e.passwordStep(u.email)
		secrets["a step-up token"] = step
		wrongCode := "000000"
		if wrongCode == e.code(u.secret, 0) {
			wrongCode = "111111"
		}
		codes = append(codes, wrongCode)
		e.browser().secondStep(step, "code", wrongCode)
		signedIn := e.browser()
		if r := signedIn.secondStep(step, "code", code()); r.Status != http.StatusOK {
			t.Fatalf("second step = %d %s", r.Status, r.Raw)
		}
		secrets["an access token"] = signedIn.token
		stolen := signedIn.refreshCookie()
		secrets["a refresh token"] = stolen
		if r := signedIn.do("POST", "/api/auth/refresh", nil); r.Status != http.StatusOK {
			t.Fatalf("refresh = %d %s", r.Status, r.Raw)
		}
		secrets["a rotated refresh token"] = signedIn.refreshCookie()
		e.clock.Advance(e.opts.ReuseGrace + time.Second)
		wantError(t, e.browser().do("POST", "/api/auth/refresh",
			map[string]string{"refreshToken": stolen}), http.StatusUnauthorized, "invalid_token")

		backupStep := e.passwordStep(u.email)
		if r := e.browser().secondStep(backupStep, "backupCode", u.backup[0]); r.Status !=
			http.StatusOK {
			t.Fatalf("login with a backup code = %d %s", r.Status, r.Raw)
		}
		verification := e.requestVerification(t, b, u.email)
		secrets["a verification token"] = verification
		if r := b.verifyEmail(verification); r.Status != http.StatusOK {
			t.Fatalf("verify email = %d %s", r.Status, r.Raw)
		}
		changed := "Changed-horse9!"
		secrets["the changed password"] = changed
		wantError(t, b.changePassword(wrong, "Refused-horse9!"), http.StatusBadRequest,
			"invalid_password")
		if r := b.changePassword(strongPassword, changed); r.Status != http.StatusOK {
			t.Fatalf("change password = %d %s", r.Status, r.Raw)
		}
		e.nextMail(t, u.email, "Your password was changed")
		fresh := b.do("POST", "/api/auth/mfa/backup-codes", map[string]string{"code": code()})
		if fresh.Status != http.StatusOK {
			t.Fatalf("regenerate backup codes = %d %s", fresh.Status, fresh.Raw)
		}
		for _, c := range strs(t, fresh.Body["backupCodes"]) {
			secrets["new backup code "+c] = c
		}
		r := b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
			"password": changed, "code": code()})
		if r.Status != http.StatusOK {
			t.Fatalf("disable 2FA = %d %s", r.Status, r.Raw)
		}
		reset := e.requestReset(t, u.email)
		secrets["a reset token"] = reset
		secrets["the reset password"] = "Reset-horse9!"
		if r := e.browser().resetPassword(reset, "Reset-horse9!"); r.Status != http.StatusOK {
			t.Fatalf("reset password = %d %s", r.Status, r.Raw)
		}

		events := auditOf(t, admin, "")
		seen := map[string]bool{}
		for _, ev := range events {
			typ, _ := ev["type"].(string)
			seen[typ] = true
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			for what, s := range secrets {
				if strings.Contains(string(raw), s) {
					t.Errorf("a %s event holds %s: %s", typ, what, raw)
				}
			}
			// Six digits may well occur inside an id, so a code is looked
			// for as a whole value.
			for k, v := range ev.detail() {
				for _, c := range codes {
					if v == c {
						t.Errorf("a %s event holds the TOTP code %s under %s", typ, c, k)
					}
				}
			}
			if typ == auth.EventReuseDetected && ev.detail()["session_id"] == "" {
				t.Errorf("reuse event without the session it revoked: %s", raw)
			}
		}
		for _, typ := range []string{auth.EventRegistered, auth.EventLoginFailed,
			auth.EventLoginSucceeded, auth.EventReuseDetected, auth.EventBackupCodeUsed,
			auth.EventEmailVerified, auth.EventPasswordChanged, auth.EventMFAEnabled,
			auth.EventMFADisabled, auth.EventPasswordReset} {
			if !seen[typ] {
				t.Errorf("no %s event in the trail; the search above missed it", typ)
			}
		}
	})
}
