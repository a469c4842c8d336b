package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// A pending second step was opened with the old password. Once the password
// is reset or changed it must open nothing, or whoever knew the old one and
// holds the second factor keeps a way in that the owner just closed.
func TestAPasswordResetOrChangeVoidsPendingSecondSteps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(t *testing.T, m *mailEnv, b *browser, email string)
	}{
		{"a reset by mailed link", func(t *testing.T, m *mailEnv, _ *browser, email string) {
			tok := m.requestReset(t, email)
			if r := m.browser().resetPassword(tok, newPassword); r.Status != http.StatusOK {
				t.Fatalf("reset: %d %s", r.Status, r.Raw)
			}
		}},
		{"a change with the current password", func(t *testing.T, _ *mailEnv, b *browser,
			_ string) {
			if r := b.changePassword(strongPassword, newPassword); r.Status != http.StatusOK {
				t.Fatalf("change: %d %s", r.Status, r.Raw)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" voids them", func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st store.Store) {
				m := newMailEnv(t, st)
				b := m.browser()
				u := b.enrollTOTP("ada@example.com")
				pending := m.passwordStep(u.email)

				tc.change(t, m, b, u.email)
				r := m.browser().secondStep(pending, "code", m.code(u.secret, 0))
				wantError(t, r, http.StatusUnauthorized, "invalid_token")

				// A second step opened with the new password still works.
				fresh := m.browser()
				r = fresh.login(u.email, newPassword)
				if r.Status != http.StatusOK || r.str("mfaToken") == "" {
					t.Fatalf("password step with the new password: %d %s", r.Status, r.Raw)
				}
				m.nextStep()
				wantLoggedIn(t, fresh, fresh.secondStep(r.str("mfaToken"), "code",
					m.code(u.secret, 0)))
			})
		})
	}
}
