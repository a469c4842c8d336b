package store

import (
	"context"
	"time"
)

// Purposes of one-time tokens. A token is good only for its own purpose.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
	PurposeMFA           = "mfa"
)

// OneTimeToken is a single-use opaque token (email verification, password
// reset, the step-up between a password and a second factor). Only its keyed
// hash is stored.
type OneTimeToken struct {
	ID        string
	UserID    string
	Purpose   string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused; set when consumed or voided
	Attempts  int       // failed attempts made with it
}

// OneTimeTokens stores single-use tokens. A token is live while it is
// unused and now is before its ExpiresAt.
type OneTimeTokens interface {
	// CreateOneTimeToken stores t. With supersede set it first voids every
	// live token of the same user and purpose, in the same transaction, so
	// that only the newest one works.
	CreateOneTimeToken(ctx context.Context, t OneTimeToken, supersede bool) error
	// PeekOneTimeToken returns the live token with the purpose and hash
	// without using it, or ErrNotFound.
	PeekOneTimeToken(ctx context.Context, purpose, hash string, now time.Time) (OneTimeToken, error)
	// ConsumeOneTimeToken marks the live token with the purpose and hash as
	// used at now and returns it, as one compare-and-set: of any number of
	// concurrent calls with the same token exactly one succeeds. It returns
	// ErrNotFound when no live token matches (unknown, used, voided,
	// expired).
	ConsumeOneTimeToken(ctx context.Context, purpose, hash string, now time.Time) (OneTimeToken, error)
	// FailOneTimeToken counts a failed attempt made with the live token id
	// and voids it once its attempts reach max. It returns the new count, or
	// ErrNotFound when the token is not live.
	FailOneTimeToken(ctx context.Context, id string, max int, now time.Time) (int, error)
	// VoidOneTimeTokens voids every live token of the user and purpose.
	VoidOneTimeTokens(ctx context.Context, userID, purpose string, now time.Time) error
}
