package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestAuditTrailRecordsAccountChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newMailEnv(t, st)
		admin, _ := e.newAdmin("root@example.com")
		b := e.browser()
		u := b.enrollTOTP("carol@example.com")

		r := e.browser().secondStep(e.passwordStep(u.email), "backupCode", u.backup[0])
		if r.Status != http.StatusOK {
			t.Fatalf("login with a backup code = %d %s", r.Status, r.Raw)
		}
		if r := b.verifyEmail(e.requestVerification(t, b, u.email)); r.Status != http.StatusOK {
			t.Fatalf("verify email = %d %s", r.Status, r.Raw)
		}
		changed := "Changed-horse9!"
		if r := b.changePassword(strongPassword, changed); r.Status != http.StatusOK {
			t.Fatalf("change password = %d %s", r.Status, r.Raw)
		}
		e.nextMail(t, u.email, "Your password was changed")
		r = b.do("POST", "/api/auth/mfa/backup-codes",
			map[string]string{"code": e.code(u.secret, 0)})
		if r.Status != http.StatusOK {
			t.Fatalf("regenerate backup codes = %d %s", r.Status, r.Raw)
		}
		e.nextStep() // the code just used cannot also turn 2FA off
		r = b.do("POST", "/api/auth/mfa/totp/disable", map[string]string{
			"password": changed, "code": e.code(u.secret, 0)})
		if r.Status != http.StatusOK {
			t.Fatalf("disable 2FA = %d %s", r.Status, r.Raw)
		}
		r = e.browser().resetPassword(e.requestReset(t, u.email), "Reset-horse9!")
		if r.Status != http.StatusOK {
			t.Fatalf("reset password = %d %s", r.Status, r.Raw)
		}

		tests := []struct {
			name   string
			typ    string
			detail map[string]any
		}{
			{"enabling two-factor auth", auth.EventMFAEnabled, nil},
			{"using a backup code", auth.EventBackupCodeUsed, map[string]any{"remaining": "9"}},
			{"verifying the email", auth.EventEmailVerified, nil},
			{"changing the password", auth.EventPasswordChanged, nil},
			{"regenerating the backup codes", auth.EventBackupCodesRegenerated, nil},
			{"disabling two-factor auth", auth.EventMFADisabled, nil},
			{"resetting the password", auth.EventPasswordReset, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				events := auditOf(t, admin, "userId="+u.id+"&type="+tc.typ)
				if len(events) != 1 {
					t.Fatalf("%d %s events for the user; want 1: %v", len(events), tc.typ, events)
				}
				ev := events[0]
				if ev["userId"] != u.id || ev["actorId"] != nil ||
					ev["ipAddress"] != "127.0.0.1" || ev["userAgent"] == "" ||
					!hasDetail(ev.detail(), tc.detail) {
					t.Errorf("event = %v; want user %s, no actor, the client and detail %v",
						ev, u.id, tc.detail)
				}
			})
		}
	})
}
