package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testRefreshTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	now := base.Add(time.Hour)

	t.Run("rotation marks the token rotated, stores the successor and touches the session",
		func(t *testing.T) {
			t.Parallel()
			sess, first := makeSession(t, s, u, base)
			next := newToken(t, sess, now)

			if err := s.RotateRefreshToken(t.Context(), first.ID, next, now); err != nil {
				t.Fatalf("RotateRefreshToken: %v", err)
			}
			first.RotatedAt = now
			sess.LastActivity = now
			checkEqual(t, "rotated token", tokenOf(t, s, first.TokenHash), first)
			st, err := s.RefreshState(t.Context(), next.TokenHash)
			if err != nil {
				t.Fatalf("RefreshState(successor): %v", err)
			}
			checkEqual(t, "successor's state", st,
				store.RefreshState{Token: next, Session: sess, User: u})

			family, err := s.SessionRefreshTokens(t.Context(), sess.ID)
			if err != nil {
				t.Fatalf("SessionRefreshTokens: %v", err)
			}
			checkEqual(t, "family, oldest first", family, []store.RefreshToken{first, next})
		})

	tests := []struct {
		name string
		// spend makes the session's first token unusable for rotation.
		spend func(t *testing.T, sess store.Session, first store.RefreshToken)
	}{
		{
			name: "rotating an already rotated token is ErrConflict and writes nothing",
			spend: func(t *testing.T, sess store.Session, first store.RefreshToken) {
				err := s.RotateRefreshToken(t.Context(), first.ID, newToken(t, sess, base), base)
				if err != nil {
					t.Fatalf("first RotateRefreshToken: %v", err)
				}
			},
		},
		{
			name: "rotating a token of a revoked session is ErrConflict and writes nothing",
			spend: func(t *testing.T, sess store.Session, first store.RefreshToken) {
				if err := s.RevokeSession(t.Context(), "", sess.ID, base); err != nil {
					t.Fatalf("RevokeSession: %v", err)
				}
			},
		},
		{
			name: "rotating a revoked token of a live session is ErrConflict and writes nothing",
			spend: func(t *testing.T, sess store.Session, first store.RefreshToken) {
				// The contract revokes tokens only with their session; a
				// token revoked alone must be refused all the same.
				execSQL(t, s, `UPDATE refresh_tokens SET revoked_at = created_at WHERE id = ?`,
					first.ID)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sess, first := makeSession(t, s, u, base)
			tc.spend(t, sess, first)
			before := sessionOf(t, s, sess.ID)
			beforeToken := tokenOf(t, s, first.TokenHash)
			next := newToken(t, sess, now)

			err := s.RotateRefreshToken(t.Context(), first.ID, next, now)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("RotateRefreshToken error = %v, want ErrConflict", err)
			}
			if _, err := s.RefreshTokenByHash(t.Context(), next.TokenHash); !errors.Is(err,
				store.ErrNotFound) {
				t.Errorf("successor lookup error = %v, want ErrNotFound", err)
			}
			checkEqual(t, "session", sessionOf(t, s, sess.ID), before)
			checkEqual(t, "token", tokenOf(t, s, first.TokenHash), beforeToken)
		})
	}

	t.Run("a successor naming another session is refused and the token stays live",
		func(t *testing.T) {
			t.Parallel()
			sess, first := makeSession(t, s, u, base)
			elsewhere, _ := makeSession(t, s, u, base)
			next := newToken(t, elsewhere, now)

			if err := s.RotateRefreshToken(t.Context(), first.ID, next, now); err == nil {
				t.Fatal("RotateRefreshToken succeeded, want an error")
			}
			if _, err := s.RefreshTokenByHash(t.Context(), next.TokenHash); !errors.Is(err,
				store.ErrNotFound) {
				t.Errorf("successor lookup error = %v, want ErrNotFound", err)
			}
			checkEqual(t, "token", tokenOf(t, s, first.TokenHash), first)
			checkEqual(t, "session", sessionOf(t, s, sess.ID), sess)
		})
}

func testConcurrentRotation(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("of one token by 20 clients lets exactly one win", func(t *testing.T) {
		t.Parallel()
		testRotationRace(t, newStore(t))
	})
	t.Run("racing revocation leaves no live token in a revoked session", func(t *testing.T) {
		t.Parallel()
		testRotationAgainstRevocation(t, newStore(t))
	})
}

// testRotationRace races many rotations of one token, each with its own
// successor, as clients replaying a stolen token would.
func testRotationRace(t *testing.T, s store.Store) {
	const racers = 20
	u := makeUser(t, s)
	sess, first := makeSession(t, s, u, base)
	now := base.Add(time.Minute)
	successors := make([]store.RefreshToken, racers)
	for i := range successors {
		successors[i] = newToken(t, sess, now)
	}

	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = s.RotateRefreshToken(t.Context(), first.ID, successors[i], now)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("rotation %d error = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}

	first.RotatedAt = now
	checkEqual(t, "rotated token", tokenOf(t, s, first.TokenHash), first)
	for i, next := range successors {
		got, err := s.RefreshTokenByHash(t.Context(), next.TokenHash)
		switch {
		case i == winner && err != nil:
			t.Errorf("winning successor: %v", err)
		case i == winner:
			checkEqual(t, "winning successor", got, next)
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("losing successor %d lookup error = %v, want ErrNotFound", i, err)
		}
	}
	live := countSQL(t, s, `SELECT COUNT(*) FROM refresh_tokens
		WHERE session_id = ? AND rotated_at IS NULL AND revoked_at IS NULL`, sess.ID)
	if live != 1 {
		t.Errorf("live tokens in the session = %d, want 1", live)
	}
	total := countSQL(t, s, `SELECT COUNT(*) FROM refresh_tokens WHERE session_id = ?`, sess.ID)
	if total != 2 {
		t.Errorf("tokens in the session = %d, want 2", total)
	}
}

// testRotationAgainstRevocation rotates and revokes many sessions at once,
// each rotation racing the revocation of its own session. Whichever wins,
// neither may fail otherwise, and a revoked session must end with no live
// token: a successor is either refused or revoked with its family.
func testRotationAgainstRevocation(t *testing.T, s store.Store) {
	const pairs = 20
	u := makeUser(t, s)
	now := base.Add(time.Minute)
	sessions := make([]store.Session, pairs)
	firsts := make([]store.RefreshToken, pairs)
	for i := range pairs {
		sessions[i], firsts[i] = makeSession(t, s, u, base)
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pairs {
		wg.Go(func() {
			<-start
			next := newToken(t, sessions[i], now)
			err := s.RotateRefreshToken(t.Context(), firsts[i].ID, next, now)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("rotation %d error = %v, want nil or ErrConflict", i, err)
			}
		})
		wg.Go(func() {
			<-start
			if err := s.RevokeSession(t.Context(), u.ID, sessions[i].ID, now); err != nil {
				t.Errorf("revocation %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	for i, sess := range sessions {
		live := countSQL(t, s, `SELECT COUNT(*) FROM refresh_tokens
			WHERE session_id = ? AND revoked_at IS NULL`, sess.ID)
		if live != 0 {
			t.Errorf("session %d: %d tokens not revoked, want 0", i, live)
		}
	}
}
