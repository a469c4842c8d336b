// Package storetest is the conformance suite every store engine must pass,
// and the helpers that give other packages' tests a fresh, migrated store of
// each engine.
package storetest

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// Run checks every method of the store contract against stores made by
// newStore, which must return an empty, migrated store each time it is
// called and release it when its test ends. The cases run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"users", testUsers},
		{"user access", testUserAccess},
		{"lookups of missing records", testNotFound},
		{"sessions", testSessions},
		{"session listing", testListSessions},
		{"session revocation", testRevokeSession},
		{"revocation of a user's sessions", testRevokeUserSessions},
		{"refresh tokens", testRefreshTokens},
		{"concurrent rotation", testConcurrentRotation},
		{"login history", testLoginHistory},
		{"sign-in events", testLoginEvents},
		{"one-time tokens", testOneTimeTokens},
		{"mail flows", testMailFlows},
		{"tokens a password change voids", testPasswordBoundTokens},
		{"two-factor authentication", testMFA},
		{"audit trail", testAuditTrail},
		{"user search", testSearchUsers},
		{"access changes", testChangeUserAccess},
		{"active session count", testActiveSessions},
		{"purge", testPurge},
		{"times", testTimes},
		{"deleting a user", testCascade},
		{"ping", testPing},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, newStore)
		})
	}
}

// base is the suite's clock: a fixed instant of millisecond precision, which
// every engine must give back exactly.
var base = time.Date(2030, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatalf("new id: %v", err)
	}
	return id.String()
}

// makeUser stores a new active user with a unique id and email, after
// applying edits.
func makeUser(t testing.TB, s store.Store, edits ...func(*store.User)) store.User {
	t.Helper()
	id := newID(t)
	u := store.User{
		ID:           id,
		Email:        id + "@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		Role:         store.RoleUser,
		Active:       true,
		CreatedAt:    base,
		UpdatedAt:    base,
	}
	for _, edit := range edits {
		edit(&u)
	}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// newSession returns, unsaved, a session of u created at created with the
// first refresh token of its family.
func newSession(t testing.TB, u store.User, created time.Time) (store.Session, store.RefreshToken) {
	t.Helper()
	sess := store.Session{
		ID:           newID(t),
		UserID:       u.ID,
		IPAddress:    "203.0.113.7",
		UserAgent:    "storetest/1.0",
		CreatedAt:    created,
		LastActivity: created,
		ExpiresAt:    created.Add(30 * 24 * time.Hour),
	}
	return sess, newToken(t, sess, created)
}

// newToken returns, unsaved, a refresh token of sess issued at issued.
func newToken(t testing.TB, sess store.Session, issued time.Time) store.RefreshToken {
	t.Helper()
	id := newID(t)
	return store.RefreshToken{
		ID:        id,
		SessionID: sess.ID,
		UserID:    sess.UserID,
		TokenHash: "hash-" + id,
		CreatedAt: issued,
		ExpiresAt: issued.Add(7 * 24 * time.Hour),
	}
}

// makeSession stores a session of u created at created, with its first
// refresh token.
func makeSession(
	t testing.TB,
	s store.Store,
	u store.User,
	created time.Time,
) (store.Session, store.RefreshToken) {
	t.Helper()
	sess, first := newSession(t, u, created)
	if err := s.CreateSession(t.Context(), sess, first); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess, first
}

func sessionOf(t *testing.T, s store.Store, id string) store.Session {
	t.Helper()
	su, err := s.SessionUser(t.Context(), id)
	if err != nil {
		t.Fatalf("SessionUser(%s): %v", id, err)
	}
	return su.Session
}

func tokenOf(t *testing.T, s store.Store, hash string) store.RefreshToken {
	t.Helper()
	tok, err := s.RefreshTokenByHash(t.Context(), hash)
	if err != nil {
		t.Fatalf("RefreshTokenByHash(%s): %v", hash, err)
	}
	return tok
}

// checkEqual fails the test when got differs from want; see diff.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s differs (got, want):\n%s", what, d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff describes, one line per field, how got differs from want, comparing
// times as instants and requiring every time in got to be in UTC. It
// returns "" when they match.
func diff(got, want any) string {
	var b strings.Builder
	diffValue(&b, reflect.TypeOf(want).Name(), reflect.ValueOf(got), reflect.ValueOf(want))
	return b.String()
}

func diffValue(b *strings.Builder, path string, got, want reflect.Value) {
	switch {
	case got.Type() == timeType:
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			fmt.Fprintf(b, "%s: %v, %v\n", path, g, w)
		}
		if g.Location() != time.UTC {
			fmt.Fprintf(b, "%s: location %v, UTC\n", path, g.Location())
		}
	case got.Kind() == reflect.Struct:
		for i := range got.NumField() {
			name := path + "." + got.Type().Field(i).Name
			diffValue(b, name, got.Field(i), want.Field(i))
		}
	case got.Kind() == reflect.Slice:
		if got.Len() != want.Len() {
			fmt.Fprintf(b, "%s: %d elements, %d\n", path, got.Len(), want.Len())
			return
		}
		for i := range got.Len() {
			diffValue(b, fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			fmt.Fprintf(b, "%s: %#v, %#v\n", path, got.Interface(), want.Interface())
		}
	}
}

// sqlHandle is what the suite needs from an engine beyond the contract, to
// check effects the contract cannot show, such as cascades on deletion.
type sqlHandle interface {
	DB() *sql.DB
	Rebind(query string) string
}

func handle(t *testing.T, s store.Store) sqlHandle {
	t.Helper()
	h, ok := s.(sqlHandle)
	if !ok {
		t.Fatalf("%T has no DB and Rebind methods for the suite's direct SQL checks", s)
	}
	return h
}

// execSQL runs a statement written with ? placeholders on the store's
// database.
func execSQL(t *testing.T, s store.Store, query string, args ...any) {
	t.Helper()
	h := handle(t, s)
	if _, err := h.DB().ExecContext(t.Context(), h.Rebind(query), args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// countSQL runs a SELECT COUNT(*) query written with ? placeholders on the
// store's database.
func countSQL(t *testing.T, s store.Store, query string, args ...any) int {
	t.Helper()
	h := handle(t, s)
	var n int
	if err := h.DB().QueryRowContext(t.Context(), h.Rebind(query), args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return n
}
