package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// A real account's reset request does more work than an unknown
// address's; measured without a floor, the gap is about a millisecond on a
// local PostgreSQL, which a few hundred requests make plain. Every answer
// therefore waits for the same floor. The check is a lower bound, which a
// slow machine cannot break.
func TestForgotAnswersNoSoonerThanItsFloorWhateverTheAddress(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		m.browser().register("ada@example.com")
		m.browser().register("gone@example.com")
		if _, err := st.UpdateUserAccess(t.Context(), userIDOf(t, st, "gone@example.com"),
			store.RoleUser, false, m.clock.Now()); err != nil {
			t.Fatalf("deactivate: %v", err)
		}

		cases := []struct {
			name, email string
		}{
			{"a real account", "ada@example.com"},
			{"an unknown address", "nobody@example.com"},
			{"a deactivated account", "gone@example.com"},
		}
		for _, tc := range cases {
			t.Run(tc.name+" waits for the floor", func(t *testing.T) {
				start := time.Now()
				r := m.browser().do("POST", "/api/auth/password/forgot",
					map[string]string{"email": tc.email})
				got := time.Since(start)
				if r.Status != http.StatusAccepted {
					t.Fatalf("forgot: %d %s; want 202", r.Status, r.Raw)
				}
				if got < auth.ForgotPasswordFloor {
					t.Errorf("answered after %v; want at least %v", got, auth.ForgotPasswordFloor)
				}
			})
		}
		m.nextMail(t, "ada@example.com", "Reset your password")
	})
}
