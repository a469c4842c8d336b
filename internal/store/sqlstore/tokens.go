package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// RefreshState returns the refresh token with the given hash, live or not,
// with its session and user, in one query; store.ErrNotFound when no token
// has the hash.
func (s *Store) RefreshState(ctx context.Context, tokenHash string) (store.RefreshState, error) {
	var st store.RefreshState
	row := s.read.QueryRowContext(ctx, s.q.refreshState, tokenHash)
	dest := concat(tokenDest(&st.Token), sessionDest(&st.Session), userDest(&st.User))
	if err := row.Scan(dest...); err != nil {
		return store.RefreshState{}, s.fail("refresh state", err)
	}
	return st, nil
}

// RefreshTokenByHash returns the refresh token with the given hash, or
// store.ErrNotFound.
func (s *Store) RefreshTokenByHash(
	ctx context.Context,
	tokenHash string,
) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := s.read.QueryRowContext(ctx, s.q.tokenByHash, tokenHash).Scan(tokenDest(&t)...)
	if err != nil {
		return store.RefreshToken{}, s.fail("refresh token by hash", err)
	}
	return t, nil
}

// SessionRefreshTokens returns every refresh token of the session, live or
// not, oldest first.
func (s *Store) SessionRefreshTokens(
	ctx context.Context,
	sessionID string,
) ([]store.RefreshToken, error) {
	rows, err := s.read.QueryContext(ctx, s.q.sessionTokens, sessionID)
	if err != nil {
		return nil, s.fail("session refresh tokens", err)
	}
	defer rows.Close()
	list := []store.RefreshToken{}
	for rows.Next() {
		var t store.RefreshToken
		if err := rows.Scan(tokenDest(&t)...); err != nil {
			return nil, s.fail("session refresh tokens", err)
		}
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("session refresh tokens", err)
	}
	return list, nil
}

// RotateRefreshToken marks the token with id as rotated and inserts next,
// its successor in the same session, in one transaction that also moves the
// session's last activity to now. It returns store.ErrConflict, writing
// nothing, when the token was already rotated or revoked or its session
// revoked, and store.ErrNotFound when there is no token with id. next must
// name the token's session and user.
//
// The session row is updated first: that takes its row lock before the
// token's, in the order RevokeSession uses, so concurrent rotations of one
// family queue on the session and cannot deadlock with a revocation. The
// conditional UPDATE of the token then decides the compare-and-set by its
// affected-row count; only its winner inserts a successor.
func (s *Store) RotateRefreshToken(
	ctx context.Context,
	id string,
	next store.RefreshToken,
	now time.Time,
) error {
	at := s.ts(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sessionID, userID string
		err := tx.QueryRowContext(ctx, s.q.touchForRotation, at, id).Scan(&sessionID, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return s.rotationMiss(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		if next.SessionID != sessionID || next.UserID != userID {
			return errWrongFamily
		}

		res, err := tx.ExecContext(ctx, s.q.markRotated, at, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrConflict
		}
		return s.insertToken(ctx, tx, next)
	})
	return s.fail("rotate refresh token", err)
}

// rotationMiss explains why no live session was found for token id: the
// token does not exist, or its session was revoked.
func (s *Store) rotationMiss(ctx context.Context, tx *sql.Tx, id string) error {
	found, err := exists(ctx, tx, s.q.tokenExists, id)
	if err != nil {
		return err
	}
	if !found {
		return store.ErrNotFound
	}
	return store.ErrConflict
}
