package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// mfaQueries are the statements for TOTP secrets and backup codes, in the
// engine's placeholder style.
type mfaQueries struct {
	putPending, secret, enable, setTwoFactor, useStep, enabledExists string
	deleteSecret, deleteCodes, insertCode, useCode, countCodes       string
}

func newMFAQueries(bind func(string) string) mfaQueries {
	return mfaQueries{
		// The WHERE of the upsert leaves an enabled secret alone: enrolling
		// again must not replace a factor that is in use.
		putPending: bind(`INSERT INTO totp_secrets (user_id, secret, created_at, enabled_at,
			last_step)
			VALUES (?, ?, ?, NULL, 0)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
				created_at = excluded.created_at, last_step = 0
			WHERE totp_secrets.enabled_at IS NULL`),
		secret: bind(`SELECT user_id, secret, created_at, enabled_at, last_step
			FROM totp_secrets WHERE user_id = ?`),
		// Matching the sealed value enables exactly the secret whose code
		// was checked, not one a concurrent setup put in its place.
		enable: bind(`UPDATE totp_secrets SET enabled_at = ?, last_step = ?
			WHERE user_id = ? AND enabled_at IS NULL AND secret = ?`),
		setTwoFactor: bind(`UPDATE users SET two_factor_enabled = ?, updated_at = ?
			WHERE id = ?`),
		// The compare-and-set that makes each code single-use: a step is
		// accepted only while it is later than the last one, and only one
		// writer can move last_step past it.
		useStep: bind(`UPDATE totp_secrets SET last_step = ?
			WHERE user_id = ? AND enabled_at IS NOT NULL AND last_step < ?`),
		enabledExists: bind(`SELECT EXISTS (SELECT 1 FROM totp_secrets
			WHERE user_id = ? AND enabled_at IS NOT NULL)`),
		deleteSecret: bind(`DELETE FROM totp_secrets WHERE user_id = ?`),
		deleteCodes:  bind(`DELETE FROM backup_codes WHERE user_id = ?`),
		insertCode: bind(`INSERT INTO backup_codes (user_id, code_hash, created_at, used_at)
			VALUES (?, ?, ?, NULL)`),
		// Only one caller can move used_at from NULL.
		useCode: bind(`UPDATE backup_codes SET used_at = ?
			WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`),
		countCodes: bind(`SELECT COUNT(*) FROM backup_codes
			WHERE user_id = ? AND used_at IS NULL`),
	}
}

// PutPendingTOTP stores sealed as the user's pending secret, or returns
// store.ErrConflict when an enabled one exists.
func (s *Store) PutPendingTOTP(
	ctx context.Context,
	userID string,
	sealed []byte,
	now time.Time,
) error {
	res, err := s.write.ExecContext(ctx, s.mfa.putPending, userID, sealed, s.ts(now))
	if err != nil {
		return s.fail("put pending TOTP secret", err)
	}
	one, err := changedOne(res)
	if err != nil {
		return s.fail("put pending TOTP secret", err)
	}
	if !one {
		return s.fail("put pending TOTP secret", store.ErrConflict)
	}
	return nil
}

// TOTPSecret returns the user's secret, or store.ErrNotFound.
func (s *Store) TOTPSecret(ctx context.Context, userID string) (store.TOTPSecret, error) {
	var t store.TOTPSecret
	err := s.read.QueryRowContext(ctx, s.mfa.secret, userID).Scan(&t.UserID, &t.Sealed,
		timeDest{&t.CreatedAt}, timeDest{&t.EnabledAt}, &t.LastStep)
	if err != nil {
		return store.TOTPSecret{}, s.fail("TOTP secret", err)
	}
	return t, nil
}

// EnableTOTP enables the pending secret sealed with its backup codes, or
// returns store.ErrConflict when that secret is no longer pending.
func (s *Store) EnableTOTP(
	ctx context.Context,
	userID string,
	sealed []byte,
	step int64,
	codeHashes []string,
	now time.Time,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.mfa.enable, s.ts(now), step, userID, sealed)
		if err != nil {
			return err
		}
		if one, err := changedOne(res); err != nil || !one {
			return cmp.Or(err, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.mfa.setTwoFactor, true, s.ts(now), userID); err != nil {
			return err
		}
		return s.replaceCodes(ctx, tx, userID, codeHashes, now)
	})
	return s.fail("enable TOTP", err)
}

// UseTOTPStep moves the user's last used step forward to step, or returns
// store.ErrConflict when it is not later.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := s.write.ExecContext(ctx, s.mfa.useStep, step, userID, step)
	if err != nil {
		return s.fail("use TOTP step", err)
	}
	one, err := changedOne(res)
	if err != nil {
		return s.fail("use TOTP step", err)
	}
	if one {
		return nil
	}
	enabled, err := exists(ctx, s.write, s.mfa.enabledExists, userID)
	if err != nil {
		return s.fail("use TOTP step", err)
	}
	if !enabled {
		return s.fail("use TOTP step", store.ErrNotFound)
	}
	return s.fail("use TOTP step", store.ErrConflict)
}

// DisableTOTP removes the user's second factors and voids their step-up
// tokens.
func (s *Store) DisableTOTP(ctx context.Context, userID string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.mfa.setTwoFactor, false, s.ts(now), userID)
		if err != nil {
			return err
		}
		if one, err := changedOne(res); err != nil || !one {
			return cmp.Or(err, store.ErrNotFound)
		}
		for _, q := range []string{s.mfa.deleteSecret, s.mfa.deleteCodes} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.ot.supersede, s.ts(now), userID, store.PurposeMFA)
		return err
	})
	return s.fail("disable TOTP", err)
}

// ReplaceBackupCodes replaces the user's backup codes, or returns
// store.ErrNotFound when the user has no enabled secret.
func (s *Store) ReplaceBackupCodes(
	ctx context.Context,
	userID string,
	codeHashes []string,
	now time.Time,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		enabled, err := exists(ctx, tx, s.mfa.enabledExists, userID)
		if err != nil {
			return err
		}
		if !enabled {
			return store.ErrNotFound
		}
		return s.replaceCodes(ctx, tx, userID, codeHashes, now)
	})
	return s.fail("replace backup codes", err)
}

func (s *Store) replaceCodes(
	ctx context.Context,
	tx *sql.Tx,
	userID string,
	codeHashes []string,
	now time.Time,
) error {
	if _, err := tx.ExecContext(ctx, s.mfa.deleteCodes, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, s.mfa.insertCode, userID, h, s.ts(now)); err != nil {
			return err
		}
	}
	return nil
}

// UseBackupCode uses the user's unused code with codeHash and returns how
// many remain, or store.ErrNotFound.
func (s *Store) UseBackupCode(
	ctx context.Context,
	userID, codeHash string,
	now time.Time,
) (int, error) {
	var left int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.mfa.useCode, s.ts(now), userID, codeHash)
		if err != nil {
			return err
		}
		if one, err := changedOne(res); err != nil || !one {
			return cmp.Or(err, store.ErrNotFound)
		}
		return tx.QueryRowContext(ctx, s.mfa.countCodes, userID).Scan(&left)
	})
	if err != nil {
		return 0, s.fail("use backup code", err)
	}
	return left, nil
}

// changedOne reports whether res affected exactly one row.
func changedOne(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n == 1, err
}
