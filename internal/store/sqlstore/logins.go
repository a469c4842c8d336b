package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey/internal/store"
)

// RecordLogin appends a to its user's login history; an unknown user gives
// store.ErrNotFound.
func (s *Store) RecordLogin(ctx context.Context, a store.LoginAttempt) error {
	_, err := s.write.ExecContext(ctx, s.q.insertLogin, s.loginArgs(a)...)
	return s.fail("record login", err)
}

// loginArgs are the arguments of the insertLogin statement for a.
func (s *Store) loginArgs(a store.LoginAttempt) []any {
	return []any{a.ID, a.UserID, a.IPAddress, a.UserAgent, a.Success, a.Reason,
		s.ts(a.CreatedAt)}
}

// LoginHistory returns at most limit of the user's most recent login
// attempts, newest first; an empty, non-nil slice when there are none or
// limit is not positive.
func (s *Store) LoginHistory(
	ctx context.Context,
	userID string,
	limit int,
) ([]store.LoginAttempt, error) {
	attempts := []store.LoginAttempt{}
	if limit <= 0 {
		return attempts, nil
	}
	rows, err := s.read.QueryContext(ctx, s.q.loginHistory, userID, limit)
	if err != nil {
		return nil, s.fail("login history", err)
	}
	defer rows.Close()

	for rows.Next() {
		var a store.LoginAttempt
		if err := rows.Scan(loginDest(&a)...); err != nil {
			return nil, s.fail("login history", err)
		}
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("login history", err)
	}
	return attempts, nil
}
