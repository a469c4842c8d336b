package store

import (
	"context"
	"errors"
	"time"
)

// ErrLastAdmin means a change would leave no active user with the ADMIN
// role.
var ErrLastAdmin = errors.New("store: last active admin")

// AuditEvent is one entry of the audit trail. UserID is empty for an event
// about an unknown account, ActorID when the user acted for themselves.
// Detail holds a few short facts, never a secret.
type AuditEvent struct {
	ID        string
	Type      string
	UserID    string
	ActorID   string
	IPAddress string
	UserAgent string
	Detail    map[string]string // never nil when read back
	CreatedAt time.Time
}

// AuditQuery selects a page of the audit trail, which is ordered newest
// first by CreatedAt, then by ID.
type AuditQuery struct {
	UserID string // only events about this user, when not empty
	Type   string // only events of this type, when not empty
	// BeforeAt and BeforeID are the position of the last event of the
	// previous page; only events after it in the trail's order are
	// returned. A zero BeforeAt starts at the newest event.
	BeforeAt time.Time
	BeforeID string
	Limit    int
}

// UserQuery selects a page of users, ordered by ID. IDs are UUIDv7, so the
// order is creation order and does not move under concurrent sign-ups.
type UserQuery struct {
	// Search, when not empty, keeps the users whose email or username
	// contains it (case-insensitively) or whose ID is exactly it.
	Search  string
	AfterID string // only users with an ID above it, when not empty
	Limit   int
}

// AccessChange is an administrator's change to a user's role and active
// flag. A nil field is left as it is.
type AccessChange struct {
	Role   *string
	Active *bool
}

// Purge says which dead and old rows the cleanup job deletes. Each cutoff
// deletes the rows that ended strictly before it; a zero cutoff deletes
// nothing of its kind.
type Purge struct {
	// SessionsEnded removes sessions revoked or past their absolute expiry
	// (with their refresh tokens).
	SessionsEnded time.Time
	// SessionsIdle removes sessions whose last activity is before it: the
	// moment now minus the idle timeout.
	SessionsIdle time.Time
	// TokensExpired removes refresh and one-time tokens that expired.
	TokensExpired time.Time
	// LoginHistory and AuditEvents remove entries created before them.
	LoginHistory time.Time
	AuditEvents  time.Time
	// BatchSize bounds the rows one statement deletes, so that no
	// statement holds its locks for long; a default applies when zero.
	BatchSize int
}

// Purged counts the rows a Purge deleted, by table. Refresh tokens deleted
// along with their sessions are not counted.
type Purged struct {
	Sessions      int64
	RefreshTokens int64
	OneTimeTokens int64
	LoginHistory  int64
	AuditEvents   int64
}

// Operations is the part of the contract behind the audit trail, the
// admin API and the maintenance jobs.
type Operations interface {
	// RecordAuditEvent appends e to the audit trail.
	RecordAuditEvent(ctx context.Context, e AuditEvent) error
	// RecordLoginEvent appends e, the event of a sign-in attempt, to the
	// audit trail and a to its user's login history, in one transaction,
	// so that an attempt costs one commit. An attempt on an email with no
	// account has an empty a.UserID and adds the event only: login history
	// is kept per user. It returns ErrNotFound, writing neither, when
	// a.UserID names no user.
	RecordLoginEvent(ctx context.Context, a LoginAttempt, e AuditEvent) error
	// AuditEvents returns at most q.Limit events matching q, newest first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)

	// SearchUsers returns at most q.Limit users matching q, by ID.
	SearchUsers(ctx context.Context, q UserQuery) ([]User, error)
	// ChangeUserAccess applies ch to the user and returns the user before
	// and after it, in one transaction. It returns ErrNotFound for an
	// unknown user and ErrLastAdmin, changing nothing, when the user is an
	// active admin and no other active admin would remain; concurrent
	// changes cannot together remove the last one.
	ChangeUserAccess(ctx context.Context, userID string, ch AccessChange,
		now time.Time) (before, after User, err error)

	// CountActiveSessions counts the sessions that are not revoked, expire
	// after now and were active after idleSince.
	CountActiveSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
	// Purge deletes what p selects, in batches. Deleting is idempotent, so
	// any number of instances may purge at once.
	Purge(ctx context.Context, p Purge) (Purged, error)
}
