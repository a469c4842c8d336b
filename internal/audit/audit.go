// Package audit keeps Latchkey's audit trail: it records the security
// events the authentication flows report in the store, where the admin API
// pages through them.
package audit

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// Limits on what one event may carry, so that a flow passing something
// unexpected cannot bloat the trail.
const (
	maxDetailKeys   = 16
	maxKeyLength    = 64
	maxValueLength  = 256
	maxUserAgent    = 512
	maxTypeLength   = 64
	writeTimeout    = 5 * time.Second
	redactedValue   = "[redacted]"
	truncatedMarker = "…"
)

// secretWords mark detail keys whose values are never stored. Flows put no
// secrets in an event's detail; this keeps a slip from reaching the trail.
var secretWords = []string{"password", "secret", "token", "hash", "cookie", "authorization",
	"otp", "code"}

// Writer is the part of the store the recorder writes to.
type Writer interface {
	RecordAuditEvent(ctx context.Context, e store.AuditEvent) error
	RecordLoginEvent(ctx context.Context, a store.LoginAttempt, e store.AuditEvent) error
}

// Recorder is an auth.Auditor that appends each event to the store's audit
// trail.
type Recorder struct {
	w   Writer
	log *slog.Logger
}

var _ auth.Auditor = (*Recorder)(nil)

// New returns a Recorder writing to w and logging its own failures to log
// (slog.Default() when nil).
func New(w Writer, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{w: w, log: log}
}

// Record stores e, and with the event of a sign-in attempt the attempt's
// login history entry, in one write. The write is detached from the
// request's cancellation: a client that hangs up right after a failed login
// must not keep it out of the trail. A failure is logged, never returned,
// so that no flow fails because the trail could not be written.
func (r *Recorder) Record(ctx context.Context, e auth.Event) {
	ev := Sanitize(e)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	var err error
	if e.Attempt != nil {
		err = r.w.RecordLoginEvent(ctx, *e.Attempt, ev)
	} else {
		err = r.w.RecordAuditEvent(ctx, ev)
	}
	if err != nil {
		r.log.ErrorContext(ctx, "audit event not recorded", "type", ev.Type,
			"user_id", ev.UserID, "err", err)
	}
}

// Sanitize turns a flow's event into the row the trail stores: a new id,
// text cut to its limits and made safe for every engine, and the values of
// secret-looking detail keys replaced by a placeholder.
func Sanitize(e auth.Event) store.AuditEvent {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	ev := store.AuditEvent{
		ID:        uuid.Must(uuid.NewV7()).String(),
		Type:      clean(e.Type, maxTypeLength),
		UserID:    clean(e.UserID, maxKeyLength),
		ActorID:   clean(e.ActorID, maxKeyLength),
		IPAddress: clean(e.IP, maxKeyLength),
		UserAgent: clean(e.UserAgent, maxUserAgent),
		Detail:    make(map[string]string, min(len(e.Detail), maxDetailKeys)),
		CreatedAt: at.UTC(),
	}
	for k, v := range e.Detail {
		if len(ev.Detail) == maxDetailKeys {
			ev.Detail["truncated"] = "true"
			break
		}
		k = clean(k, maxKeyLength)
		if secretKey(k) {
			v = redactedValue
		}
		ev.Detail[k] = clean(v, maxValueLength)
	}
	return ev
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// clean drops invalid UTF-8 and NUL bytes (PostgreSQL refuses both in text)
// and cuts s to at most n bytes on a character boundary.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	if len(s) <= n {
		return s
	}
	cut := n - len(truncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker
}

// Multi returns an auth.Auditor that hands each event to every one of
// auditors in turn, for instance to the metrics and to the trail.
func Multi(auditors ...auth.Auditor) auth.Auditor {
	return multi(auditors)
}

type multi []auth.Auditor

func (m multi) Record(ctx context.Context, e auth.Event) {
	for _, a := range m {
		a.Record(ctx, e)
	}
}
