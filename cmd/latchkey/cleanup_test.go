package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// seedDeadRows writes, into the SQLite database at path, one row of every
// kind the cleanup deletes and one live row of each kind beside it, all
// days away from now so that the command's own clock cannot tip either.
// It returns the ids of the sessions, live first.
func seedDeadRows(t *testing.T, path string, now time.Time) (live, dead string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	day := 24 * time.Hour
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	u := store.User{ID: id(), Email: "seeded@example.com", PasswordHash: "x",
		Role: store.RoleUser, Active: true, CreatedAt: now.Add(-400 * day),
		UpdatedAt: now.Add(-400 * day)}
	must("create user", db.CreateUser(ctx, u))
	session := func(ends, tokenExp time.Time) (store.Session, store.RefreshToken) {
		s := store.Session{ID: id(), UserID: u.ID, CreatedAt: now.Add(-2 * day),
			LastActivity: now.Add(-time.Hour), ExpiresAt: ends}
		tok := store.RefreshToken{ID: id(), SessionID: s.ID, UserID: u.ID, TokenHash: id(),
			CreatedAt: s.CreatedAt, ExpiresAt: tokenExp}
		must("create session", db.CreateSession(ctx, s, tok))
		return s, tok
	}
	// The live session's first refresh token expired after its rotation.
	liveSession, first := session(now.Add(20*day), now.Add(-day))
	next := store.RefreshToken{ID: id(), SessionID: liveSession.ID, UserID: u.ID,
		TokenHash: id(), CreatedAt: now.Add(-2 * day), ExpiresAt: now.Add(5 * day)}
	must("rotate", db.RotateRefreshToken(ctx, first.ID, next, now.Add(-2*day)))
	deadSession, _ := session(now.Add(-day), now.Add(-day))

	for _, exp := range []time.Time{now.Add(day), now.Add(-day)} {
		must("one-time token", db.CreateOneTimeToken(ctx, store.OneTimeToken{ID: id(),
			UserID: u.ID, Purpose: store.PurposeVerifyEmail, TokenHash: id(),
			CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}, false))
	}
	for _, age := range []time.Duration{89 * day, 91 * day} {
		must("login", db.RecordLogin(ctx, store.LoginAttempt{ID: id(), UserID: u.ID,
			Success: true, CreatedAt: now.Add(-age)}))
	}
	for _, age := range []time.Duration{29 * day, 31 * day} {
		must("audit event", db.RecordAuditEvent(ctx, store.AuditEvent{ID: id(),
			Type: "login.succeeded", UserID: u.ID, CreatedAt: now.Add(-age)}))
	}
	return liveSession.ID, deadSession.ID
}

func TestCleanupCommandDeletesTheDeadRowsAndKeepsTheLiveOnes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "seeded.db")
	live, dead := seedDeadRows(t, path, time.Now().UTC())

	env := []string{"DATABASE_URL=sqlite://" + path, "AUDIT_RETENTION=30d",
		"LOGIN_HISTORY_RETENTION=90d"}
	out, err := command(t, dir, env, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	want := "deleted 1 sessions, 1 refresh tokens, 1 one-time tokens, " +
		"1 login history entries and 1 audit events"
	if !strings.Contains(string(out), want) {
		t.Errorf("first run printed %q; want it to contain %q", out, want)
	}

	out, err = command(t, dir, env, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("second cleanup: %v\n%s", err, out)
	}
	want = "deleted 0 sessions, 0 refresh tokens, 0 one-time tokens, " +
		"0 login history entries and 0 audit events"
	if !strings.Contains(string(out), want) {
		t.Errorf("second run printed %q; want it to contain %q", out, want)
	}

	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sessions := []struct {
		name string
		id   string
		kept bool
	}{
		{"the live session", live, true},
		{"the expired session", dead, false},
	}
	for _, tc := range sessions {
		_, err := db.SessionUser(ctx, tc.id)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: kept = %v (%v); want %v", tc.name, kept, err, tc.kept)
		}
	}
	tokens, err := db.SessionRefreshTokens(ctx, live)
	if err != nil || len(tokens) != 1 {
		t.Errorf("refresh tokens of the live session = %d, %v; want its current one", len(tokens),
			err)
	}
	events, err := db.AuditEvents(ctx, store.AuditQuery{Limit: 10})
	if err != nil || len(events) != 1 {
		t.Errorf("audit events left = %d, %v; want the one inside 30 days", len(events), err)
	}
}
