package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateSession stores the session with its first refresh token", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		sess, first := makeSession(t, s, u, base)

		su, err := s.SessionUser(t.Context(), sess.ID)
		if err != nil {
			t.Fatalf("SessionUser: %v", err)
		}
		checkEqual(t, "SessionUser", su, store.SessionUser{Session: sess, User: u})
		st, err := s.RefreshState(t.Context(), first.TokenHash)
		if err != nil {
			t.Fatalf("RefreshState: %v", err)
		}
		checkEqual(t, "RefreshState", st, store.RefreshState{Token: first, Session: sess, User: u})
		checkEqual(t, "RefreshTokenByHash", tokenOf(t, s, first.TokenHash), first)
	})

	t.Run("CreateSession writes nothing when the first token's hash is taken", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		_, taken := makeSession(t, s, u, base)
		sess, first := newSession(t, u, base)
		first.TokenHash = taken.TokenHash

		err := s.CreateSession(t.Context(), sess, first)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateSession error = %v, want ErrConflict", err)
		}
		if _, err := s.SessionUser(t.Context(), sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionUser after a failed CreateSession: error = %v, want ErrNotFound", err)
		}
	})

	t.Run("CreateSession refuses a first token of another family", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		other := makeUser(t, s)
		tests := []struct {
			name string
			edit func(tok *store.RefreshToken)
		}{
			{"a token naming another session", func(tok *store.RefreshToken) {
				tok.SessionID = newID(t)
			}},
			{"a token naming another user", func(tok *store.RefreshToken) {
				tok.UserID = other.ID
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				sess, first := newSession(t, u, base)
				tc.edit(&first)

				if err := s.CreateSession(t.Context(), sess, first); err == nil {
					t.Fatal("CreateSession succeeded, want an error")
				}
				_, err := s.SessionUser(t.Context(), sess.ID)
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("SessionUser error = %v, want ErrNotFound", err)
				}
				_, err = s.RefreshTokenByHash(t.Context(), first.TokenHash)
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("RefreshTokenByHash error = %v, want ErrNotFound", err)
				}
			})
		}
	})

	t.Run("TouchSession moves the last activity of a live session", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		sess, _ := makeSession(t, s, u, base)
		now := base.Add(20 * time.Minute)

		if err := s.TouchSession(t.Context(), sess.ID, now); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		sess.LastActivity = now
		checkEqual(t, "session", sessionOf(t, s, sess.ID), sess)
	})

	t.Run("TouchSession leaves a revoked session as it is", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		sess, _ := makeSession(t, s, u, base)
		revokedAt := base.Add(time.Minute)
		if err := s.RevokeSession(t.Context(), u.ID, sess.ID, revokedAt); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}

		if err := s.TouchSession(t.Context(), sess.ID, base.Add(time.Hour)); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		sess.RevokedAt = revokedAt
		checkEqual(t, "session", sessionOf(t, s, sess.ID), sess)
	})
}

func testListSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	other := makeUser(t, s)
	now := base.Add(10 * time.Hour)
	create := func(created, expires time.Time) store.Session {
		sess, first := newSession(t, u, created)
		sess.ExpiresAt = expires
		if err := s.CreateSession(t.Context(), sess, first); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		return sess
	}
	oldest := create(base, now.Add(time.Hour))
	oneMilliLater := create(base.Add(time.Millisecond), now.Add(time.Hour))
	// Listed: its absolute expiry is one millisecond after now.
	newest := create(base.Add(2*time.Hour), now.Add(time.Millisecond))
	// Not listed: expired at now exactly.
	create(base.Add(3*time.Hour), now)
	revoked := create(base.Add(4*time.Hour), now.Add(time.Hour))
	if err := s.RevokeSession(t.Context(), u.ID, revoked.ID, base.Add(5*time.Hour)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	makeSession(t, s, other, base.Add(6*time.Hour))

	tests := []struct {
		name   string
		userID string
		want   []store.Session
	}{
		{
			name:   "only live sessions are listed, newest first",
			userID: u.ID,
			want:   []store.Session{newest, oneMilliLater, oldest},
		},
		{
			name:   "a user without sessions gets an empty list",
			userID: newID(t),
			want:   []store.Session{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.ListSessions(t.Context(), tc.userID, now)
			if err != nil {
				t.Fatalf("ListSessions: %v", err)
			}
			checkEqual(t, "ListSessions", got, tc.want)
		})
	}
}

func testRevokeSession(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	owner := makeUser(t, s)
	stranger := makeUser(t, s)
	now := base.Add(time.Hour)

	// family makes a session whose first token was rotated into a second,
	// so that revocation has a dead and a live token to reach.
	family := func(t *testing.T) (store.Session, store.RefreshToken, store.RefreshToken) {
		t.Helper()
		sess, first := makeSession(t, s, owner, base)
		rotatedAt := base.Add(time.Minute)
		second := newToken(t, sess, rotatedAt)
		if err := s.RotateRefreshToken(t.Context(), first.ID, second, rotatedAt); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		sess.LastActivity = rotatedAt
		first.RotatedAt = rotatedAt
		return sess, first, second
	}

	tests := []struct {
		name    string
		actorID string
		wantErr error
	}{
		{"the owner revokes the session and its refresh tokens", owner.ID, nil},
		{"an empty user id revokes any user's session", "", nil},
		{"another user's id is ErrNotFound and revokes nothing", stranger.ID, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sess, first, second := family(t)
			untouched, untouchedFirst := makeSession(t, s, owner, base)

			err := s.RevokeSession(t.Context(), tc.actorID, sess.ID, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RevokeSession error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				sess.RevokedAt = now
				first.RevokedAt = now
				second.RevokedAt = now
			}
			checkEqual(t, "session", sessionOf(t, s, sess.ID), sess)
			checkEqual(t, "rotated token", tokenOf(t, s, first.TokenHash), first)
			checkEqual(t, "live token", tokenOf(t, s, second.TokenHash), second)
			checkEqual(t, "other session", sessionOf(t, s, untouched.ID), untouched)
			checkEqual(t, "other session's token",
				tokenOf(t, s, untouchedFirst.TokenHash), untouchedFirst)
		})
	}

	t.Run("revoking again succeeds and keeps the first revocation time", func(t *testing.T) {
		t.Parallel()
		sess, first, second := family(t)
		if err := s.RevokeSession(t.Context(), owner.ID, sess.ID, now); err != nil {
			t.Fatalf("first RevokeSession: %v", err)
		}

		if err := s.RevokeSession(t.Context(), owner.ID, sess.ID, now.Add(time.Hour)); err != nil {
			t.Fatalf("second RevokeSession: %v", err)
		}
		sess.RevokedAt = now
		first.RevokedAt = now
		second.RevokedAt = now
		checkEqual(t, "session", sessionOf(t, s, sess.ID), sess)
		checkEqual(t, "rotated token", tokenOf(t, s, first.TokenHash), first)
		checkEqual(t, "live token", tokenOf(t, s, second.TokenHash), second)
	})
}

func testRevokeUserSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	now := base.Add(time.Hour)
	tests := []struct {
		name      string
		keepFirst bool
	}{
		{"with no exception every live session of the user is revoked", false},
		{"the excepted session and its refresh token stay live", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := makeUser(t, s)
			other := makeUser(t, s)
			a, aToken := makeSession(t, s, u, base)
			b, bToken := makeSession(t, s, u, base.Add(time.Second))
			earlier, earlierToken := makeSession(t, s, u, base.Add(2*time.Second))
			earlierAt := base.Add(time.Minute)
			if err := s.RevokeSession(t.Context(), u.ID, earlier.ID, earlierAt); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
			foreign, foreignToken := makeSession(t, s, other, base)
			except := ""
			if tc.keepFirst {
				except = a.ID
			}

			got, err := s.RevokeUserSessions(t.Context(), u.ID, except, now)
			if err != nil {
				t.Fatalf("RevokeUserSessions: %v", err)
			}

			want := []string{b.ID}
			if !tc.keepFirst {
				want = append(want, a.ID)
				a.RevokedAt, aToken.RevokedAt = now, now
			}
			b.RevokedAt, bToken.RevokedAt = now, now
			earlier.RevokedAt, earlierToken.RevokedAt = earlierAt, earlierAt
			slices.Sort(got)
			slices.Sort(want)
			checkEqual(t, "revoked ids", got, want)
			for _, c := range []struct {
				sess store.Session
				tok  store.RefreshToken
			}{{a, aToken}, {b, bToken}, {earlier, earlierToken}, {foreign, foreignToken}} {
				checkEqual(t, "session", sessionOf(t, s, c.sess.ID), c.sess)
				checkEqual(t, "token", tokenOf(t, s, c.tok.TokenHash), c.tok)
			}
		})
	}

	t.Run("a user without sessions gets no ids", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		got, err := s.RevokeUserSessions(t.Context(), u.ID, "", now)
		if err != nil {
			t.Fatalf("RevokeUserSessions: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("RevokeUserSessions = %v, want no ids", got)
		}
	})
}
