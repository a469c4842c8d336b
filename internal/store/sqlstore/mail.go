package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// mailQueries are the statements of the mail-driven flows, in the engine's
// placeholder style. Consuming and voiding tokens reuse the one-time token
// queries.
type mailQueries struct {
	verifyEmail, setPassword, resetPassword string
}

func newMailQueries(bind func(string) string) mailQueries {
	return mailQueries{
		verifyEmail: bind(`UPDATE users SET email_verified = TRUE, updated_at = ? WHERE id = ?`),
		// A compare-and-set on the hash the password was checked against.
		setPassword: bind(`UPDATE users SET password_hash = ?, updated_at = ?
			WHERE id = ? AND password_hash = ?`),
		resetPassword: bind(`UPDATE users SET password_hash = ?, email_verified = TRUE,
			updated_at = ? WHERE id = ?`),
	}
}

// VerifyEmail consumes a live email verification token and marks its
// user's email verified, or returns store.ErrNotFound.
func (s *Store) VerifyEmail(
	ctx context.Context,
	tokenHash string,
	now time.Time,
) (store.User, error) {
	var u store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		o, err := s.consumeInTx(ctx, tx, store.PurposeVerifyEmail, tokenHash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.mail.verifyEmail, s.ts(now), o.UserID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q.userByID, o.UserID).Scan(userDest(&u)...)
	})
	if err != nil {
		return store.User{}, s.fail("verify email", err)
	}
	return u, nil
}

// ResetPassword consumes a live reset token, sets its user's password
// hash and voids the user's other reset tokens and pending second steps,
// or returns store.ErrNotFound.
func (s *Store) ResetPassword(
	ctx context.Context,
	tokenHash, passwordHash string,
	now time.Time,
) (store.User, error) {
	var u store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		o, err := s.consumeInTx(ctx, tx, store.PurposeResetPassword, tokenHash, now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.mail.resetPassword, passwordHash, s.ts(now), o.UserID)
		if err != nil {
			return err
		}
		if err := s.voidPasswordBound(ctx, tx, o.UserID, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q.userByID, o.UserID).Scan(userDest(&u)...)
	})
	if err != nil {
		return store.User{}, s.fail("reset password", err)
	}
	return u, nil
}

// ChangePassword sets the user's password hash while it is still old and
// voids their live reset tokens and pending second steps, or returns
// store.ErrNotFound.
func (s *Store) ChangePassword(
	ctx context.Context,
	userID, old, passwordHash string,
	now time.Time,
) (store.User, error) {
	var u store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.mail.setPassword, passwordHash, s.ts(now), userID,
			old)
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
		if err := s.voidPasswordBound(ctx, tx, userID, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q.userByID, userID).Scan(userDest(&u)...)
	})
	if err != nil {
		return store.User{}, s.fail("change password", err)
	}
	return u, nil
}

// RehashPassword replaces the user's password hash while it is still old,
// or returns store.ErrNotFound.
func (s *Store) RehashPassword(
	ctx context.Context,
	userID, old, hash string,
	now time.Time,
) error {
	res, err := s.write.ExecContext(ctx, s.mail.setPassword, hash, s.ts(now), userID, old)
	if err != nil {
		return s.fail("rehash password", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail("rehash password", err)
	}
	if n == 0 {
		return s.fail("rehash password", store.ErrNotFound)
	}
	return nil
}

// passwordBound are the purposes of the tokens that a password change
// voids: a reset link mailed before it, and a second step opened with the
// old password.
var passwordBound = []string{store.PurposeResetPassword, store.PurposeMFA}

// voidPasswordBound voids the user's live tokens of the passwordBound
// purposes inside tx.
func (s *Store) voidPasswordBound(ctx context.Context, tx *sql.Tx, userID string,
	now time.Time) error {
	for _, purpose := range passwordBound {
		if _, err := tx.ExecContext(ctx, s.ot.supersede, s.ts(now), userID, purpose); err != nil {
			return err
		}
	}
	return nil
}

// consumeInTx uses the live token with the purpose and hash inside tx, with
// the same compare-and-set as ConsumeOneTimeToken; sql.ErrNoRows when no
// live token matches.
func (s *Store) consumeInTx(
	ctx context.Context,
	tx *sql.Tx,
	purpose, hash string,
	now time.Time,
) (store.OneTimeToken, error) {
	var o store.OneTimeToken
	err := tx.QueryRowContext(ctx, s.ot.consume, s.ts(now), purpose, hash, s.ts(now)).
		Scan(oneTimeDest(&o)...)
	return o, err
}
