package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The other tests show a reset link dead at its hour; this one shows it
// alive until then, so that a lifetime shorter than an hour shows too.
func TestResetLinksWorkUntilTheirHourEnds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		after  time.Duration
		status int
		code   string
	}{
		{"a second before the hour ends the link works", time.Hour - time.Second,
			http.StatusOK, ""},
		{"when the hour ends the link is dead", time.Hour,
			http.StatusUnauthorized, "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st store.Store) {
				m := newMailEnv(t, st)
				m.browser().register("ada@example.com")
				tok := m.requestReset(t, "ada@example.com")

				m.clock.Advance(tc.after)
				r := m.browser().resetPassword(tok, newPassword)
				if tc.code != "" {
					wantError(t, r, tc.status, tc.code)
					return
				}
				if r.Status != tc.status {
					t.Fatalf("reset after %v: %d %s; want %d", tc.after, r.Status, r.Raw,
						tc.status)
				}
				if r := m.browser().login("ada@example.com", newPassword); r.Status != http.StatusOK {
					t.Errorf("login with the new password: %d %s", r.Status, r.Raw)
				}
			})
		})
	}
}
