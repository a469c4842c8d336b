package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testLoginHistory(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	other := makeUser(t, s)
	attempt := func(owner store.User, at time.Duration, success bool) store.LoginAttempt {
		a := store.LoginAttempt{
			ID:        newID(t),
			UserID:    owner.ID,
			IPAddress: "198.51.100.4",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			Success:   success,
			CreatedAt: base.Add(at),
		}
		if !success {
			a.Reason = "invalid_password"
		}
		if err := s.RecordLogin(t.Context(), a); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
		return a
	}
	// Recorded out of order, so that only the query's ordering can sort them.
	third := attempt(u, 2*time.Minute, false)
	first := attempt(u, 0, true)
	fifth := attempt(u, time.Hour, true)
	second := attempt(u, time.Millisecond, false)
	fourth := attempt(u, 59*time.Minute, true)
	attempt(other, 2*time.Hour, true)

	tests := []struct {
		name  string
		limit int
		want  []store.LoginAttempt
	}{
		{"the newest attempts come first, cut at the limit", 3,
			[]store.LoginAttempt{fifth, fourth, third}},
		{"a limit above the count returns every attempt of the user", 10,
			[]store.LoginAttempt{fifth, fourth, third, second, first}},
		{"a limit of zero returns nothing", 0, []store.LoginAttempt{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.LoginHistory(t.Context(), u.ID, tc.limit)
			if err != nil {
				t.Fatalf("LoginHistory: %v", err)
			}
			checkEqual(t, "LoginHistory", got, tc.want)
		})
	}
}
