package cleanup_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/cleanup"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

const day = 24 * time.Hour

var retention = cleanup.Retention{
	IdleTimeout:  7 * day,
	LoginHistory: 90 * day,
	Audit:        365 * day,
}

// clock is a time source the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

// fixture writes rows through the store contract, each at a chosen age.
type fixture struct {
	t    *testing.T
	s    store.Store
	user store.User
}

func newFixture(t *testing.T, s store.Store, now time.Time) *fixture {
	t.Helper()
	u := store.User{
		ID: newID(t), Email: "kept@example.com", PasswordHash: "x", Role: store.RoleUser,
		Active: true, CreatedAt: now.Add(-400 * day), UpdatedAt: now.Add(-400 * day),
	}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return &fixture{t: t, s: s, user: u}
}

// session stores a session created at created, last active at active and
// ending at ends, with one refresh token expiring at tokenExp.
func (f *fixture) session(created, active, ends, tokenExp time.Time) store.Session {
	f.t.Helper()
	sess := store.Session{ID: newID(f.t), UserID: f.user.ID, CreatedAt: created,
		LastActivity: active, ExpiresAt: ends}
	tok := store.RefreshToken{ID: newID(f.t), SessionID: sess.ID, UserID: f.user.ID,
		TokenHash: newID(f.t), CreatedAt: created, ExpiresAt: tokenExp}
	if err := f.s.CreateSession(f.t.Context(), sess, tok); err != nil {
		f.t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func (f *fixture) oneTime(exp time.Time) store.OneTimeToken {
	f.t.Helper()
	o := store.OneTimeToken{ID: newID(f.t), UserID: f.user.ID,
		Purpose: store.PurposeResetPassword, TokenHash: newID(f.t),
		CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}
	if err := f.s.CreateOneTimeToken(f.t.Context(), o, false); err != nil {
		f.t.Fatalf("CreateOneTimeToken: %v", err)
	}
	return o
}

func (f *fixture) login(at time.Time) {
	f.t.Helper()
	err := f.s.RecordLogin(f.t.Context(), store.LoginAttempt{ID: newID(f.t),
		UserID: f.user.ID, Success: true, CreatedAt: at})
	if err != nil {
		f.t.Fatalf("RecordLogin: %v", err)
	}
}

func (f *fixture) event(at time.Time) {
	f.t.Helper()
	err := f.s.RecordAuditEvent(f.t.Context(), store.AuditEvent{ID: newID(f.t),
		Type: "login.succeeded", UserID: f.user.ID, CreatedAt: at})
	if err != nil {
		f.t.Fatalf("RecordAuditEvent: %v", err)
	}
}

func (f *fixture) sessionExists(id string) bool {
	f.t.Helper()
	_, err := f.s.SessionUser(f.t.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.t.Fatalf("SessionUser: %v", err)
	}
	return err == nil
}

func (f *fixture) oneTimeExists(o store.OneTimeToken, now time.Time) bool {
	f.t.Helper()
	_, err := f.s.PeekOneTimeToken(f.t.Context(), o.Purpose, o.TokenHash, now)
	return err == nil
}

func (f *fixture) history() int {
	f.t.Helper()
	list, err := f.s.LoginHistory(f.t.Context(), f.user.ID, 100)
	if err != nil {
		f.t.Fatalf("LoginHistory: %v", err)
	}
	return len(list)
}

func (f *fixture) events() int {
	f.t.Helper()
	list, err := f.s.AuditEvents(f.t.Context(), store.AuditQuery{Limit: 100})
	if err != nil {
		f.t.Fatalf("AuditEvents: %v", err)
	}
	return len(list)
}

func TestCleanupRemovesExactlyWhatOutlivedItsRetention(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2031, time.June, 1, 12, 0, 0, 0, time.UTC)}
		now := clk.Now()
		f := newFixture(t, s, now)
		job := cleanup.New(s, retention, clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
		ms := time.Millisecond
		far := now.Add(30 * day)

		live := f.session(now.Add(-time.Hour), now.Add(-time.Hour), far, now.Add(6*day))
		idleSoon := f.session(now.Add(-8*day), now.Add(-7*day+ms), far, now.Add(6*day))
		idle := f.session(now.Add(-8*day), now.Add(-7*day-ms), far, now.Add(6*day))
		expired := f.session(now.Add(-30*day), now.Add(-time.Hour), now.Add(-ms), now.Add(-ms))
		revoked := f.session(now.Add(-time.Hour), now.Add(-time.Hour), far, now.Add(6*day))
		if err := s.RevokeSession(t.Context(), "", revoked.ID, now.Add(-time.Minute)); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		// A live session whose first token expired after a rotation.
		rotated := f.session(now.Add(-8*day), now.Add(-time.Hour), far, now.Add(-ms))
		next := store.RefreshToken{ID: newID(t), SessionID: rotated.ID, UserID: f.user.ID,
			TokenHash: newID(t), CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(day)}
		first, err := s.SessionRefreshTokens(t.Context(), rotated.ID)
		if err != nil {
			t.Fatalf("SessionRefreshTokens: %v", err)
		}
		if err := s.RotateRefreshToken(t.Context(), first[0].ID, next,
			now.Add(-time.Hour)); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}

		liveOTT := f.oneTime(now.Add(ms))
		f.oneTime(now.Add(-ms))
		f.login(now.Add(-90*day + ms))
		f.login(now.Add(-90*day - ms))
		f.event(now.Add(-365*day + ms))
		f.event(now.Add(-365*day - ms))

		got, err := job.Run(t.Context())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := store.Purged{Sessions: 3, RefreshTokens: 1, OneTimeTokens: 1, LoginHistory: 1,
			AuditEvents: 1}
		if got != want {
			t.Errorf("first run purged %+v; want %+v", got, want)
		}
		sessions := []struct {
			name string
			id   string
			kept bool
		}{
			{"a session in use", live.ID, true},
			{"a session a millisecond short of its idle timeout", idleSoon.ID, true},
			{"a session a millisecond past its idle timeout", idle.ID, false},
			{"a session past its absolute lifetime", expired.ID, false},
			{"a revoked session", revoked.ID, false},
			{"a session whose old token expired", rotated.ID, true},
		}
		for _, tc := range sessions {
			if kept := f.sessionExists(tc.id); kept != tc.kept {
				t.Errorf("%s: kept = %v, want %v", tc.name, kept, tc.kept)
			}
		}
		tokens, err := s.SessionRefreshTokens(t.Context(), rotated.ID)
		if err != nil || len(tokens) != 1 || tokens[0].ID != next.ID {
			t.Errorf("tokens of the rotated session = %v, %v; want only the live successor",
				tokens, err)
		}
		if !f.oneTimeExists(liveOTT, now) {
			t.Error("the live one-time token is gone")
		}
		if n := f.history(); n != 1 {
			t.Errorf("%d login history entries left; want the one inside 90 days", n)
		}
		if n := f.events(); n != 1 {
			t.Errorf("%d audit events left; want the one inside a year", n)
		}

		// A day later, what was just inside its retention is out of it.
		clk.Advance(day)
		got, err = job.Run(t.Context())
		if err != nil {
			t.Fatalf("second Run: %v", err)
		}
		want = store.Purged{Sessions: 1, OneTimeTokens: 1, LoginHistory: 1, AuditEvents: 1}
		if got != want {
			t.Errorf("second run purged %+v; want %+v", got, want)
		}
		if f.sessionExists(idleSoon.ID) || !f.sessionExists(live.ID) {
			t.Error("the second run kept the newly idle session or removed the live one")
		}
	})
}

func TestCleanupLoopRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	s := storetest.SQLite(t)
	clk := &clock{t: time.Now().UTC()}
	f := newFixture(t, s, clk.Now())
	job := cleanup.New(s, retention, clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		job.Loop(ctx, 5*time.Millisecond)
	}()

	// Each old event must go by a later run of the loop.
	for round := range 3 {
		f.event(clk.Now().Add(-400 * day))
		deadline := time.Now().Add(30 * time.Second)
		for f.events() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the loop did not purge the old event", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Loop did not return after its context was cancelled")
	}
}
