package store

import (
	"context"
	"time"
)

// MailFlows are the writes of the flows that mail a single-use link (email
// verification, password reset) and of the password change, which must
// void outstanding reset links. Each is one transaction: a token is never
// spent without its effect, nor its effect had without spending it.
type MailFlows interface {
	// VerifyEmail consumes the live PurposeVerifyEmail token with tokenHash
	// and marks its user's email verified, in one transaction, and returns
	// the updated user. It returns ErrNotFound when no live token matches
	// (unknown, used, superseded or expired); of concurrent calls with the
	// same token exactly one succeeds.
	VerifyEmail(ctx context.Context, tokenHash string, now time.Time) (User, error)
	// ResetPassword consumes the live PurposeResetPassword token with
	// tokenHash, sets its user's password hash, marks the email verified
	// (the link proved control of the address) and voids the user's other
	// live reset tokens and PurposeMFA tokens (second steps opened with the
	// old password), in one transaction, and returns the updated user.
	// It returns ErrNotFound when no live token matches; of concurrent calls
	// with the same token exactly one succeeds.
	ResetPassword(ctx context.Context, tokenHash, passwordHash string, now time.Time) (User, error)
	// ChangePassword sets the user's password hash, while it is still old,
	// and voids every live PurposeResetPassword and PurposeMFA token of the
	// user, in one transaction, so that neither a reset link mailed before
	// the change nor a second step opened with the old password works any
	// more. Old is the hash the current password was checked against: a
	// reset or another change committed since then is not overwritten. It
	// returns the updated user, or ErrNotFound, changing nothing, when there
	// is no such user or its hash is no longer old.
	ChangePassword(ctx context.Context, userID, old, passwordHash string,
		now time.Time) (User, error)
}
