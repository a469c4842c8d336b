package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// errWrongFamily rejects a refresh token that names another session than
// the one it is stored with: a family never spans sessions.
var errWrongFamily = errors.New("refresh token does not belong to the session")

// CreateSession inserts sess and the first refresh token of its family in
// one transaction. The token must name sess and its user. An unknown user
// gives store.ErrNotFound, a reused id or token hash store.ErrConflict.
func (s *Store) CreateSession(
	ctx context.Context,
	sess store.Session,
	first store.RefreshToken,
) error {
	if first.SessionID != sess.ID || first.UserID != sess.UserID {
		return s.fail("create session", errWrongFamily)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.insertSession, sess.ID, sess.UserID,
			sess.IPAddress, sess.UserAgent, s.ts(sess.CreatedAt), s.ts(sess.LastActivity),
			s.ts(sess.ExpiresAt), s.nullTS(sess.RevokedAt))
		if err != nil {
			return err
		}
		return s.insertToken(ctx, tx, first)
	})
	return s.fail("create session", err)
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t store.RefreshToken) error {
	_, err := tx.ExecContext(ctx, s.q.insertToken, t.ID, t.SessionID, t.UserID, t.TokenHash,
		s.ts(t.CreatedAt), s.ts(t.ExpiresAt), s.nullTS(t.RotatedAt), s.nullTS(t.RevokedAt))
	return err
}

// SessionUser returns the session with id and its user in one query, or
// store.ErrNotFound. Revoked and expired sessions are returned too; the
// caller decides whether the session is live.
func (s *Store) SessionUser(ctx context.Context, sessionID string) (store.SessionUser, error) {
	var su store.SessionUser
	row := s.read.QueryRowContext(ctx, s.q.sessionUser, sessionID)
	if err := row.Scan(concat(sessionDest(&su.Session), userDest(&su.User))...); err != nil {
		return store.SessionUser{}, s.fail("session user", err)
	}
	return su, nil
}

// TouchSession moves the session's last activity to now unless it is
// revoked, in which case it does nothing. It returns store.ErrNotFound when
// there is no such session.
func (s *Store) TouchSession(ctx context.Context, sessionID string, now time.Time) error {
	res, err := s.write.ExecContext(ctx, s.q.touchSession, s.ts(now), sessionID)
	if err != nil {
		return s.fail("touch session", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail("touch session", err)
	}
	if n > 0 {
		return nil
	}
	found, err := exists(ctx, s.read, s.q.sessionExists, sessionID)
	if err != nil {
		return s.fail("touch session", err)
	}
	if !found {
		return s.fail("touch session", store.ErrNotFound)
	}
	return nil
}

// ListSessions returns the user's sessions that are neither revoked nor
// past their absolute expiry, newest first; an empty, non-nil slice when
// there are none.
func (s *Store) ListSessions(
	ctx context.Context,
	userID string,
	now time.Time,
) ([]store.Session, error) {
	rows, err := s.read.QueryContext(ctx, s.q.listSessions, userID, s.ts(now))
	if err != nil {
		return nil, s.fail("list sessions", err)
	}
	defer rows.Close()

	sessions := []store.Session{}
	for rows.Next() {
		var sess store.Session
		if err := rows.Scan(sessionDest(&sess)...); err != nil {
			return nil, s.fail("list sessions", err)
		}
		sessions = append(sessions, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list sessions", err)
	}
	return sessions, nil
}

// RevokeSession revokes the session and every refresh token of its family.
// An empty userID matches any owner; otherwise a session of another user is
// reported as store.ErrNotFound, like a missing one.
//
// The session row is written before its tokens, the same order
// RotateRefreshToken takes its locks in, so a rotation racing a revocation
// waits for it instead of deadlocking, and a successor it inserts is either
// seen and revoked here or refused there.
func (s *Store) RevokeSession(
	ctx context.Context,
	userID, sessionID string,
	now time.Time,
) error {
	at := s.ts(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.revokeSession, at, sessionID, userID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, s.q.revokeTokens, at, sessionID)
		return err
	})
	return s.fail("revoke session", err)
}

// RevokeUserSessions revokes every live session of the user except the one
// with id except (when not empty), with their refresh tokens, and returns
// the ids of the sessions it revoked, sorted.
func (s *Store) RevokeUserSessions(
	ctx context.Context,
	userID, except string,
	now time.Time,
) ([]string, error) {
	at := s.ts(now)
	ids := []string{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q.revokeUser, at, userID, except)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.revokeUserTokens, at, userID, except)
		return err
	})
	if err != nil {
		return nil, s.fail("revoke user sessions", err)
	}
	slices.Sort(ids)
	return ids, nil
}
