package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Event types of the audit trail.
const (
	EventRegistered      = "user.registered"
	EventLoginSucceeded  = "login.succeeded"
	EventLoginFailed     = "login.failed"
	EventLocked          = "login.locked"
	EventLogout          = "logout"
	EventSessionRevoked  = "session.revoked"
	EventReuseDetected   = "refresh.reuse_detected"
	EventPasswordChanged = "password.changed"
	EventPasswordReset   = "password.reset"
	EventResetRequested  = "password.reset_requested"
	// EventPasswordRefused is a password change refused because the current
	// password given was wrong.
	EventPasswordRefused = "password.change_refused"
	EventEmailVerified   = "email.verified"
	EventMFAEnabled      = "mfa.enabled"
	EventMFADisabled     = "mfa.disabled"
	EventBackupCodeUsed  = "mfa.backup_code_used"
	EventRoleChanged     = "user.role_changed"
	EventActiveChanged   = "user.active_changed"
)

// Event is one security event. Detail holds a few short facts (a reason, a
// count, a session id), never a secret.
type Event struct {
	Type      string
	UserID    string // the account concerned; empty for an unknown account
	ActorID   string // the admin who acted, when it was not the user
	IP        string
	UserAgent string
	Detail    map[string]string
	At        time.Time

	// Attempt is set on the event of a sign-in attempt: the entry it adds
	// to the login history of UserID, or, when UserID is empty, the
	// attempt on an email with no account, which has no history.
	Attempt *store.LoginAttempt
}

// Auditor records security events. Record must not fail the flow that
// reports the event; an implementation logs its own failures. An auditor
// that keeps the trail in the store also keeps the login history: it writes
// an event and its Attempt in one transaction (store.RecordLoginEvent), so
// that a failed sign-in costs the same commits whether or not its email has
// an account.
type Auditor interface {
	Record(ctx context.Context, e Event)
}

// historyOnly is the auditor of a Service built without one: it keeps no
// trail, but still the login history.
type historyOnly struct {
	store store.Store
	log   *slog.Logger
}

func (h historyOnly) Record(ctx context.Context, e Event) {
	if e.Attempt == nil || e.Attempt.UserID == "" {
		return
	}
	if err := h.store.RecordLogin(ctx, *e.Attempt); err != nil {
		h.log.WarnContext(ctx, "login history write failed", "user_id", e.Attempt.UserID,
			"err", err)
	}
}

// audit records an event of type typ about userID, from client c.
func (s *Service) audit(ctx context.Context, typ, userID string, c Client, detail map[string]string) {
	s.auditor.Record(ctx, Event{
		Type:      typ,
		UserID:    userID,
		IP:        c.IP,
		UserAgent: c.UserAgent,
		Detail:    detail,
		At:        s.now(),
	})
}
