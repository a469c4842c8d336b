package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// testTimes stores instants with nanoseconds, in another zone than UTC, and
// expects them back in UTC within a millisecond.
func testTimes(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	in := time.Date(2031, time.December, 31, 23, 59, 59, 987_654_321, zone)
	u := makeUser(t, s, func(u *store.User) { u.CreatedAt = in; u.UpdatedAt = in })
	sess, first := newSession(t, u, in)
	sess.RevokedAt = in
	first.RotatedAt = in
	first.RevokedAt = in
	if err := s.CreateSession(t.Context(), sess, first); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	login := store.LoginAttempt{ID: newID(t), UserID: u.ID, Success: true, CreatedAt: in}
	if err := s.RecordLogin(t.Context(), login); err != nil {
		t.Fatalf("RecordLogin: %v", err)
	}

	st, err := s.RefreshState(t.Context(), first.TokenHash)
	if err != nil {
		t.Fatalf("RefreshState: %v", err)
	}
	history, err := s.LoginHistory(t.Context(), u.ID, 1)
	if err != nil || len(history) != 1 {
		t.Fatalf("LoginHistory = %v, %v; want one attempt", history, err)
	}
	got := map[string]time.Time{
		"user created":          st.User.CreatedAt,
		"user updated":          st.User.UpdatedAt,
		"session created":       st.Session.CreatedAt,
		"session last activity": st.Session.LastActivity,
		"session revoked":       st.Session.RevokedAt,
		"token created":         st.Token.CreatedAt,
		"token rotated":         st.Token.RotatedAt,
		"token revoked":         st.Token.RevokedAt,
		"login":                 history[0].CreatedAt,
		"session expiry":        st.Session.ExpiresAt.Add(-30 * 24 * time.Hour),
		"token expiry":          st.Token.ExpiresAt.Add(-7 * 24 * time.Hour),
	}
	for name, g := range got {
		if g.Location() != time.UTC {
			t.Errorf("%s: location %v, want UTC", name, g.Location())
		}
		if d := g.Sub(in).Abs(); d >= time.Millisecond {
			t.Errorf("%s = %v, want %v within a millisecond (off by %v)", name, g, in.UTC(), d)
		}
	}
}

// testCascade deletes a user with SQL, the contract having no such method,
// and expects everything the user owned to go with it.
func testCascade(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	doomed := makeUser(t, s)
	kept := makeUser(t, s)
	for _, u := range []store.User{doomed, kept} {
		sess, first := makeSession(t, s, u, base)
		next := newToken(t, sess, base.Add(time.Minute))
		if err := s.RotateRefreshToken(t.Context(), first.ID, next, next.CreatedAt); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		makeSession(t, s, u, base)
		login := store.LoginAttempt{ID: newID(t), UserID: u.ID, CreatedAt: base}
		if err := s.RecordLogin(t.Context(), login); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
	}

	execSQL(t, s, `DELETE FROM users WHERE id = ?`, doomed.ID)

	tests := []struct {
		table string
		want  map[string]int
	}{
		{"sessions", map[string]int{doomed.ID: 0, kept.ID: 2}},
		{"refresh_tokens", map[string]int{doomed.ID: 0, kept.ID: 3}},
		{"login_history", map[string]int{doomed.ID: 0, kept.ID: 1}},
	}
	for _, tc := range tests {
		t.Run("the user's rows in "+tc.table+" are deleted, others' kept", func(t *testing.T) {
			t.Parallel()
			for userID, want := range tc.want {
				got := countSQL(t, s, `SELECT COUNT(*) FROM `+tc.table+` WHERE user_id = ?`, userID)
				if got != want {
					t.Errorf("rows of user %s = %d, want %d", userID, got, want)
				}
			}
		})
	}
	t.Run("the user is no longer found", func(t *testing.T) {
		t.Parallel()
		if _, err := s.UserByID(t.Context(), doomed.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID error = %v, want ErrNotFound", err)
		}
	})
}

func testPing(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
