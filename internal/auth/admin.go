package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/latchkey/latchkey/internal/store"
	"golang.org/x/text/unicode/norm"
)

// CodeLastAdmin refuses a change that would leave no active admin.
const CodeLastAdmin = "last_admin"

// Page sizes of the admin listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Bounds on the admin listings' filters.
const (
	maxSearchLength = maxEmailLength
	maxIDLength     = 64
)

var (
	errNoUser     = Errorf(CodeNotFound, "No such user.")
	errNoSession  = Errorf(CodeNotFound, "No such session.")
	errBadCursor  = Invalid("cursor", "The cursor is not one this server issued.")
	errLastAdmin  = Errorf(CodeLastAdmin, "The last active admin cannot be demoted or deactivated.")
	errNotAnAdmin = Errorf(CodeInsufficientRole, "This requires the ADMIN role.")
)

// UserPage is one page of an admin user search. NextCursor is empty on the
// last page.
type UserPage struct {
	Users      []store.User
	NextCursor string
}

// AuditFilter selects a page of the audit trail.
type AuditFilter struct {
	UserID string // only events about this user, when not empty
	Type   string // only events of this type, when not empty
	Limit  int    // DefaultPageSize when zero, at most MaxPageSize
	Cursor string // the NextCursor of the previous page
}

// AuditPage is one page of the audit trail, newest first. NextCursor is
// empty on the last page.
type AuditPage struct {
	Events     []store.AuditEvent
	NextCursor string
}

// requireAdmin refuses an actor who is not an active admin. The transport
// checks the role too; the flows do not rely on it.
func requireAdmin(actor Principal) error {
	if actor.User.Role != store.RoleAdmin || !actor.User.Active {
		return errNotAnAdmin
	}
	return nil
}

// pageSize applies the default and the cap to a requested page size.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// SearchUsers returns a page of users whose email or username contains
// query, or whose id is query; every user when query is empty. Pages are in
// creation order and stay stable while users sign up.
func (s *Service) SearchUsers(
	ctx context.Context,
	actor Principal,
	query string,
	limit int,
	cursor string,
) (UserPage, error) {
	if err := requireAdmin(actor); err != nil {
		return UserPage{}, err
	}
	query = strings.TrimSpace(query)
	if !plainText(query) || len(query) > maxSearchLength {
		return UserPage{}, Invalid("q", "The search is too long or not valid text.")
	}
	// Folded as stored emails and usernames are, so that a search typed in
	// fullwidth letters finds the account they sign in to.
	query = norm.NFKC.String(query)
	after, err := s.decodeUserCursor(cursor)
	if err != nil {
		return UserPage{}, err
	}

	limit = pageSize(limit)
	users, err := s.store.SearchUsers(ctx, store.UserQuery{
		Search:  query,
		AfterID: after,
		Limit:   limit + 1,
	})
	if err != nil {
		return UserPage{}, fmt.Errorf("search users: %w", err)
	}
	page := UserPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.NextCursor = s.encodeCursor("u", page.Users[limit-1].ID)
	}
	return page, nil
}

// User returns the user with id, for an admin.
func (s *Service) User(ctx context.Context, actor Principal, id string) (store.User, error) {
	if err := requireAdmin(actor); err != nil {
		return store.User{}, err
	}
	if !validID(id) {
		return store.User{}, errNoUser
	}
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, errNoUser
	}
	if err != nil {
		return store.User{}, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// ChangeAccess sets a user's role or active flag for an admin. It refuses
// to demote or deactivate the last active admin, and deactivation ends the
// user's sessions at once; their access tokens are refused from the moment
// the flag changes, since every request reloads the user.
func (s *Service) ChangeAccess(
	ctx context.Context,
	actor Principal,
	userID string,
	ch store.AccessChange,
	c Client,
) (store.User, error) {
	if err := requireAdmin(actor); err != nil {
		return store.User{}, err
	}
	if ch.Role == nil && ch.Active == nil {
		return store.User{}, Errorf(CodeInvalidRequest, "Give a role, an active flag or both.")
	}
	if ch.Role != nil && *ch.Role != store.RoleUser && *ch.Role != store.RoleAdmin {
		return store.User{}, Invalid("role", "Role must be USER or ADMIN.")
	}
	if !validID(userID) {
		return store.User{}, errNoUser
	}

	now := s.now()
	before, after, err := s.store.ChangeUserAccess(ctx, userID, ch, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, errNoUser
	case errors.Is(err, store.ErrLastAdmin):
		return store.User{}, errLastAdmin
	case err != nil:
		return store.User{}, fmt.Errorf("change access: %w", err)
	}

	if before.Role != after.Role {
		s.auditAdmin(ctx, EventRoleChanged, userID, actor, c, map[string]string{
			"from": before.Role, "to": after.Role})
	}
	if before.Active == after.Active {
		return after, nil
	}
	detail := map[string]string{
		"from": strconv.FormatBool(before.Active), "to": strconv.FormatBool(after.Active)}
	var revokeErr error
	if !after.Active {
		ids, err := s.store.RevokeUserSessions(ctx, userID, "", now)
		if err != nil {
			revokeErr = fmt.Errorf("end sessions of deactivated user: %w", err)
		}
		detail["sessions_revoked"] = strconv.Itoa(len(ids))
	}
	s.auditAdmin(ctx, EventActiveChanged, userID, actor, c, detail)
	if revokeErr != nil {
		return store.User{}, revokeErr
	}
	return after, nil
}

// RevokeUserSessions ends every session of a user for an admin and returns
// how many there were.
func (s *Service) RevokeUserSessions(
	ctx context.Context,
	actor Principal,
	userID string,
	c Client,
) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	if !validID(userID) {
		return 0, errNoUser
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, errNoUser
		}
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	ids, err := s.store.RevokeUserSessions(ctx, userID, "", s.now())
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	s.auditAdmin(ctx, EventSessionRevoked, userID, actor, c, map[string]string{
		"all": "true", "count": strconv.Itoa(len(ids))})
	return len(ids), nil
}

// AuditTrail returns a page of the audit trail for an admin, newest first.
func (s *Service) AuditTrail(
	ctx context.Context,
	actor Principal,
	f AuditFilter,
) (AuditPage, error) {
	if err := requireAdmin(actor); err != nil {
		return AuditPage{}, err
	}
	if f.UserID != "" && !validID(f.UserID) {
		return AuditPage{}, Invalid("userId", "The user id is not valid.")
	}
	if !plainText(f.Type) || len(f.Type) > maxIDLength {
		return AuditPage{}, Invalid("type", "The event type is not valid.")
	}
	at, id, err := s.decodeAuditCursor(f.Cursor)
	if err != nil {
		return AuditPage{}, err
	}

	limit := pageSize(f.Limit)
	events, err := s.store.AuditEvents(ctx, store.AuditQuery{
		UserID:   f.UserID,
		Type:     f.Type,
		BeforeAt: at,
		BeforeID: id,
		Limit:    limit + 1,
	})
	if err != nil {
		return AuditPage{}, fmt.Errorf("audit trail: %w", err)
	}
	page := AuditPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		last := page.Events[limit-1]
		page.NextCursor = s.encodeCursor("a",
			strconv.FormatInt(last.CreatedAt.UnixMicro(), 10)+":"+last.ID)
	}
	return page, nil
}

// auditAdmin records an event an admin caused. The actor is left out when
// admins act on their own account, as for any event a user causes.
func (s *Service) auditAdmin(ctx context.Context, typ, userID string, actor Principal,
	c Client, detail map[string]string) {
	e := Event{
		Type:      typ,
		UserID:    userID,
		IP:        c.IP,
		UserAgent: c.UserAgent,
		Detail:    detail,
		At:        s.now(),
	}
	if actor.User.ID != userID {
		e.ActorID = actor.User.ID
	}
	s.auditor.Record(ctx, e)
}

// validID reports whether id has the form of the identifiers we issue, the
// canonical text of a UUID. Anything else cannot name a row, and is kept
// from the store: PostgreSQL refuses NUL bytes and invalid UTF-8 in text
// parameters with an error of its own.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// Cursors are opaque to clients: a kind letter and the position of the
// last item of a page, base64url-encoded, followed by a keyed hash of
// both. They carry nothing a client could not already see in the page;
// the hash makes any cursor the server did not issue (an edited one, one
// of the other listing) a bad request rather than a page that starts
// wherever the client likes.
func (s *Service) encodeCursor(kind, pos string) string {
	body := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
	return body + "." + s.cursorTag(body)
}

// cursorTag is the keyed hash of a cursor's body. The prefix, a byte no
// opaque token holds, keeps it apart from the stored hashes of tokens.
func (s *Service) cursorTag(body string) string {
	return s.keyed.Hash("\x00admin cursor\x00" + body)[:cursorTagLength]
}

// cursorTagLength is how many hex characters of the keyed hash a cursor
// keeps: 128 bits.
const cursorTagLength = 32

func (s *Service) decodeCursor(kind, cursor string) (string, error) {
	body, tag, ok := strings.Cut(cursor, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(tag), []byte(s.cursorTag(body))) != 1 {
		return "", errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", errBadCursor
	}
	pos, ok := strings.CutPrefix(string(raw), kind+":")
	if !ok || pos == "" {
		return "", errBadCursor
	}
	return pos, nil
}

func (s *Service) decodeUserCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	id, err := s.decodeCursor("u", cursor)
	if err != nil || !validID(id) {
		return "", errBadCursor
	}
	return id, nil
}

func (s *Service) decodeAuditCursor(cursor string) (time.Time, string, error) {
	if cursor == "" {
		return time.Time{}, "", nil
	}
	pos, err := s.decodeCursor("a", cursor)
	if err != nil {
		return time.Time{}, "", err
	}
	micros, id, ok := strings.Cut(pos, ":")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || n <= 0 || !validID(id) {
		return time.Time{}, "", errBadCursor
	}
	return time.UnixMicro(n).UTC(), id, nil
}
