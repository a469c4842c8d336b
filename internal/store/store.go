// Package store defines Latchkey's storage contract: the records it keeps and
// the operations the authentication flows need from a database. Engines live
// in sub-packages (sqlite, postgres) and must all pass the conformance suite
// in package storetest.
//
// The contract is deliberately narrow: every operation that must be atomic
// for security (refresh token rotation, revocation) is a single method, so
// no caller can get the read-then-write race wrong.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every engine returns, so callers never inspect driver
// errors or message text.
var (
	// ErrNotFound means no live or dead record matched the lookup.
	ErrNotFound = errors.New("store: not found")
	// ErrEmailTaken means another user already has the normalized email.
	ErrEmailTaken = errors.New("store: email taken")
	// ErrUsernameTaken means another user already has the normalized username.
	ErrUsernameTaken = errors.New("store: username taken")
	// ErrConflict means a compare-and-set lost: the record was changed by a
	// concurrent writer since it was read.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable wraps failures to reach the database at all
	// (connection refused, timeouts), which the API reports as 503.
	ErrUnavailable = errors.New("store: unavailable")
)

// Roles a user can have.
const (
	RoleUser  = "USER"
	RoleAdmin = "ADMIN"
)

// User is an account. Email and Username are stored normalized (trimmed,
// lower case); Username is empty when the user chose none.
type User struct {
	ID               string
	Email            string
	Username         string
	PasswordHash     string
	Role             string
	Active           bool
	EmailVerified    bool
	TwoFactorEnabled bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Session is one successful login. It is live while RevokedAt is zero, now is
// before ExpiresAt (the absolute lifetime) and the idle timeout has not passed
// since LastActivity; the idle rule belongs to the caller, which knows the
// configured timeout.
type Session struct {
	ID           string
	UserID       string
	IPAddress    string
	UserAgent    string
	CreatedAt    time.Time
	LastActivity time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time // zero while not revoked
}

// RefreshToken is the stored form of an opaque refresh token: only its keyed
// hash is kept. The tokens of one session form its rotation family.
type RefreshToken struct {
	ID        string
	SessionID string
	UserID    string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt time.Time // zero until a successor was issued
	RevokedAt time.Time // zero while not revoked
}

// LoginAttempt is one entry of a user's login history.
type LoginAttempt struct {
	ID        string
	UserID    string
	IPAddress string
	UserAgent string
	Success   bool
	Reason    string
	CreatedAt time.Time
}

// SessionUser is a session together with its user, the pair every
// authenticated request needs.
type SessionUser struct {
	Session Session
	User    User
}

// RefreshState is a refresh token looked up by hash with the session and user
// it belongs to.
type RefreshState struct {
	Token   RefreshToken
	Session Session
	User    User
}

// Store is the storage contract. All times passed in and returned are UTC;
// engines keep at least millisecond precision.
type Store interface {
	OneTimeTokens
	Operations
	MFA
	MailFlows

	// CreateUser inserts u. It returns ErrEmailTaken or ErrUsernameTaken when
	// the normalized email or username is already used.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns the user with id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with the normalized email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UpdatePasswordHash replaces the user's password hash whatever it was,
	// for tools that set a hash outright, such as an import of accounts from
	// another system. The flows use the compare-and-set writes
	// (RehashPassword, ChangePassword) instead.
	UpdatePasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// RehashPassword replaces the user's password hash with hash only while
	// it is still old, so that upgrading the hash a login just verified
	// cannot undo a password reset or change committed meanwhile. It
	// returns ErrNotFound when there is no such user or the hash changed.
	RehashPassword(ctx context.Context, userID, old, hash string, now time.Time) error
	// UpdateUserAccess sets the user's role and active flag and returns the
	// updated user, or ErrNotFound.
	UpdateUserAccess(ctx context.Context, userID, role string, active bool,
		now time.Time) (User, error)

	// CreateSession inserts a session together with the first refresh token
	// of its family, atomically.
	CreateSession(ctx context.Context, s Session, first RefreshToken) error
	// SessionUser returns the session with id and its user, or ErrNotFound.
	SessionUser(ctx context.Context, sessionID string) (SessionUser, error)
	// TouchSession moves the session's LastActivity to now if it is still
	// not revoked.
	TouchSession(ctx context.Context, sessionID string, now time.Time) error
	// ListSessions returns the user's sessions that are not revoked and whose
	// ExpiresAt is after now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeSession revokes the session and every refresh token of its
	// family. It returns ErrNotFound when the session does not exist or
	// belongs to another user than userID (when userID is not empty).
	// Revoking an already revoked session is not an error.
	RevokeSession(ctx context.Context, userID, sessionID string, now time.Time) error
	// RevokeUserSessions revokes every session of the user except the one
	// with id except (when not empty), with their refresh tokens, and
	// returns the ids of the sessions it revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) ([]string, error)

	// RefreshState returns the refresh token with the given hash, live or
	// not, with its session and user; ErrNotFound when no token has it.
	RefreshState(ctx context.Context, tokenHash string) (RefreshState, error)
	// RefreshTokenByHash returns the refresh token with the given hash, or
	// ErrNotFound.
	RefreshTokenByHash(ctx context.Context, tokenHash string) (RefreshToken, error)
	// SessionRefreshTokens returns every refresh token of the session's
	// family, live or not, oldest first.
	SessionRefreshTokens(ctx context.Context, sessionID string) ([]RefreshToken, error)
	// RotateRefreshToken is the compare-and-set at the heart of rotation. In
	// one transaction it marks the token with id as rotated at now, only if
	// it is neither rotated nor revoked, inserts next (in the same session),
	// and moves the session's LastActivity to now. When the token was already
	// rotated or revoked it writes nothing and returns ErrConflict.
	RotateRefreshToken(ctx context.Context, id string, next RefreshToken, now time.Time) error

	// RecordLogin appends an entry to the user's login history.
	RecordLogin(ctx context.Context, a LoginAttempt) error
	// LoginHistory returns the user's most recent login attempts, newest
	// first, at most limit of them.
	LoginHistory(ctx context.Context, userID string, limit int) ([]LoginAttempt, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
