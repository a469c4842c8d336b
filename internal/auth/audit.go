package auth

import (
	"context"
	"time"
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
}

// Auditor records security events. Record must not fail the flow that
// reports the event; an implementation logs its own failures.
type Auditor interface {
	Record(ctx context.Context, e Event)
}

type noAudit struct{}

func (noAudit) Record(context.Context, Event) {}

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
