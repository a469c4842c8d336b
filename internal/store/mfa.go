package store

import (
	"context"
	"time"
)

// TOTPSecret is a user's TOTP secret. The store keeps it sealed (encrypted
// by the caller) and never sees it in clear.
type TOTPSecret struct {
	UserID    string
	Sealed    []byte
	CreatedAt time.Time
	EnabledAt time.Time // zero while enrollment awaits its first code
	// LastStep is the last TOTP time step whose code was accepted, 0 before
	// any. A code of this step or an earlier one is never accepted again.
	LastStep int64
}

// MFA stores the second factors of two-factor authentication: one TOTP
// secret per user and a set of single-use backup codes, of which only keyed
// hashes are kept.
type MFA interface {
	// PutPendingTOTP stores sealed as the user's secret awaiting its first
	// code, replacing an earlier pending one. It returns ErrConflict when
	// the user already has an enabled secret, and ErrNotFound when there
	// is no such user.
	PutPendingTOTP(ctx context.Context, userID string, sealed []byte, now time.Time) error
	// TOTPSecret returns the user's secret, pending or enabled, or
	// ErrNotFound.
	TOTPSecret(ctx context.Context, userID string) (TOTPSecret, error)
	// EnableTOTP, in one transaction, enables the user's pending secret,
	// provided it is still sealed, with step as its last used step, sets
	// the user's TwoFactorEnabled, and replaces their backup codes with
	// codeHashes. When the pending secret was replaced or already enabled
	// it writes nothing and returns ErrConflict.
	EnableTOTP(ctx context.Context, userID string, sealed []byte, step int64,
		codeHashes []string, now time.Time) error
	// UseTOTPStep records step as the last used step of the user's enabled
	// secret if it is later than the one recorded, as one compare-and-set:
	// of concurrent calls with the same step exactly one succeeds. It
	// returns ErrConflict when step is not later, and ErrNotFound when the
	// user has no enabled secret.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// DisableTOTP, in one transaction, deletes the user's secret and backup
	// codes, clears TwoFactorEnabled and voids the user's live MFA step-up
	// tokens. It returns ErrNotFound when there is no such user.
	DisableTOTP(ctx context.Context, userID string, now time.Time) error
	// ReplaceBackupCodes replaces every backup code of the user with
	// codeHashes, atomically. It returns ErrNotFound when the user has no
	// enabled TOTP secret.
	ReplaceBackupCodes(ctx context.Context, userID string, codeHashes []string,
		now time.Time) error
	// UseBackupCode marks the user's unused backup code with codeHash as
	// used at now, as one compare-and-set: of concurrent calls with the same
	// code exactly one succeeds. It returns how many unused codes remain,
	// or ErrNotFound when no unused code of the user matches.
	UseBackupCode(ctx context.Context, userID, codeHash string, now time.Time) (int, error)
}
