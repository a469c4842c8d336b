package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// auditColumns are the columns scanned by auditDest; audit_events is
// aliased a.
const auditColumns = `a.id, a.type, COALESCE(a.user_id, ''), COALESCE(a.actor_id, ''),
	a.ip_address, a.user_agent, a.detail, a.created_at`

// Filters of the audit listing. Each combination has a statement of its
// own, so that every engine sees plain conditions it can match to an index
// rather than an optional condition spelled as an OR.
const (
	auditByUser = 1 << iota
	auditByType
	auditAfterCursor
	auditVariants = 1 << iota
)

// opsQueries are the statements behind store.Operations, in the engine's
// placeholder style.
type opsQueries struct {
	insertAudit   string
	auditList     [auditVariants]string
	usersAll      string
	usersSearch   string
	lockForAccess string
	otherAdmins   string
	countActive   string
	purgeSessions string
	purgeRefresh  string
	purgeOneTime  string
	purgeLogins   string
	purgeAudit    string
}

func newOpsQueries(bind func(string) string) opsQueries {
	q := opsQueries{
		insertAudit: bind(`INSERT INTO audit_events (id, type, user_id, actor_id, ip_address,
			user_agent, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		usersAll: bind(`SELECT ` + userColumns + ` FROM users u
			WHERE u.id > ?
			ORDER BY u.id LIMIT ?`),
		usersSearch: bind(`SELECT ` + userColumns + ` FROM users u
			WHERE u.id > ? AND (u.email LIKE ? ESCAPE '\' OR u.username LIKE ? ESCAPE '\'
				OR u.id = ?)
			ORDER BY u.id LIMIT ?`),
		// A write to the target and to every active admin takes their row
		// locks for the rest of the transaction, so that two concurrent
		// changes cannot each count the other's admin as the one that
		// remains. Rows are locked in scan order, the same for every caller.
		lockForAccess: bind(`UPDATE users SET role = role
			WHERE id = ? OR (role = ? AND active)`),
		otherAdmins: bind(`SELECT COUNT(*) FROM users
			WHERE role = ? AND active AND id <> ?`),
		countActive: bind(`SELECT COUNT(*) FROM sessions
			WHERE revoked_at IS NULL AND expires_at > ? AND last_activity > ?`),
		// Deleting by a bounded list of ids keeps each statement short on
		// both engines (neither takes LIMIT on DELETE portably).
		purgeSessions: bind(`DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions
			WHERE revoked_at < ? OR expires_at < ? OR last_activity < ?
			LIMIT ?)`),
		purgeRefresh: bind(`DELETE FROM refresh_tokens WHERE id IN (
			SELECT id FROM refresh_tokens WHERE expires_at < ? LIMIT ?)`),
		purgeOneTime: bind(`DELETE FROM one_time_tokens WHERE id IN (
			SELECT id FROM one_time_tokens WHERE expires_at < ? LIMIT ?)`),
		purgeLogins: bind(`DELETE FROM login_history WHERE id IN (
			SELECT id FROM login_history WHERE created_at < ? LIMIT ?)`),
		purgeAudit: bind(`DELETE FROM audit_events WHERE id IN (
			SELECT id FROM audit_events WHERE created_at < ? LIMIT ?)`),
	}
	for v := range auditVariants {
		var where []string
		if v&auditByUser != 0 {
			where = append(where, "a.user_id = ?")
		}
		if v&auditByType != 0 {
			where = append(where, "a.type = ?")
		}
		if v&auditAfterCursor != 0 {
			where = append(where, "(a.created_at < ? OR (a.created_at = ? AND a.id < ?))")
		}
		query := `SELECT ` + auditColumns + ` FROM audit_events a`
		if len(where) > 0 {
			query += ` WHERE ` + strings.Join(where, " AND ")
		}
		q.auditList[v] = bind(query + ` ORDER BY a.created_at DESC, a.id DESC LIMIT ?`)
	}
	return q
}

// jsonDest scans a JSON object column into a map.
type jsonDest struct{ m *map[string]string }

// Scan implements sql.Scanner.
func (d jsonDest) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return fmt.Errorf("cannot scan %T into a JSON object", src)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("decode JSON object: %w", err)
	}
	*d.m = m
	return nil
}

func auditDest(e *store.AuditEvent) []any {
	return []any{&e.ID, &e.Type, &e.UserID, &e.ActorID, &e.IPAddress, &e.UserAgent,
		jsonDest{&e.Detail}, timeDest{&e.CreatedAt}}
}

// RecordAuditEvent appends e to the audit trail.
func (s *Store) RecordAuditEvent(ctx context.Context, e store.AuditEvent) error {
	args, err := s.auditArgs(e)
	if err != nil {
		return s.fail("record audit event", err)
	}
	_, err = s.write.ExecContext(ctx, s.ops.insertAudit, args...)
	return s.fail("record audit event", err)
}

// RecordLoginEvent appends e to the audit trail and, when a names a user, a
// to that user's login history, in one transaction.
func (s *Store) RecordLoginEvent(ctx context.Context, a store.LoginAttempt,
	e store.AuditEvent) error {
	args, err := s.auditArgs(e)
	if err != nil {
		return s.fail("record login event", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if a.UserID != "" {
			if _, err := tx.ExecContext(ctx, s.q.insertLogin, s.loginArgs(a)...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, s.ops.insertAudit, args...)
		return err
	})
	return s.fail("record login event", err)
}

// auditArgs are the arguments of the insertAudit statement for e.
func (s *Store) auditArgs(e store.AuditEvent) ([]any, error) {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.Type, nullString(e.UserID), nullString(e.ActorID), e.IPAddress,
		e.UserAgent, string(raw), s.ts(e.CreatedAt)}, nil
}

// AuditEvents returns at most q.Limit events matching q, newest first; an
// empty, non-nil slice when there are none or the limit is not positive.
func (s *Store) AuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	events := []store.AuditEvent{}
	if q.Limit <= 0 {
		return events, nil
	}
	variant := 0
	var args []any
	if q.UserID != "" {
		variant |= auditByUser
		args = append(args, q.UserID)
	}
	if q.Type != "" {
		variant |= auditByType
		args = append(args, q.Type)
	}
	if !q.BeforeAt.IsZero() {
		variant |= auditAfterCursor
		at := s.ts(q.BeforeAt)
		args = append(args, at, at, q.BeforeID)
	}
	args = append(args, q.Limit)

	rows, err := s.read.QueryContext(ctx, s.ops.auditList[variant], args...)
	if err != nil {
		return nil, s.fail("audit events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e store.AuditEvent
		if err := rows.Scan(auditDest(&e)...); err != nil {
			return nil, s.fail("audit events", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("audit events", err)
	}
	return events, nil
}

// CountActiveSessions counts the sessions that are not revoked, expire
// after now and were active after idleSince.
func (s *Store) CountActiveSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, s.ops.countActive, s.ts(now), s.ts(idleSince)).Scan(&n)
	if err != nil {
		return 0, s.fail("count active sessions", err)
	}
	return n, nil
}
