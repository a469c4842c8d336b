package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testLoginHistory(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	other := makeUser(t, s)
	attempt := func(owner store.User, at time.Duration, success bool) store.LoginAttempt {
		a := store.LoginAttempt{
			ID:        newID(t),
			UserID:    owner.ID,
			IPAddress: "198.51.100.4",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			Success:   success,
			CreatedAt: base.Add(at),
		}
		if !success {
			a.Reason = "invalid_password"
		}
		if err := s.RecordLogin(t.Context(), a); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
		return a
	}
	// Recorded out of order, so that only the query's ordering can sort them.
	third := attempt(u, 2*time.Minute, false)
	first := attempt(u, 0, true)
	fifth := attempt(u, time.Hour, true)
	second := attempt(u, time.Millisecond, false)
	fourth := attempt(u, 59*time.Minute, true)
	attempt(other, 2*time.Hour, true)

	tests := []struct {
		name  string
		limit int
		want  []store.LoginAttempt
	}{
		{"the newest attempts come first, cut at the limit", 3,
			[]store.LoginAttempt{fifth, fourth, third}},
		{"a limit above the count returns every attempt of the user", 10,
			[]store.LoginAttempt{fifth, fourth, third, second, first}},
		{"a limit of zero returns nothing", 0, []store.LoginAttempt{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.LoginHistory(t.Context(), u.ID, tc.limit)
			if err != nil {
				t.Fatalf("LoginHistory: %v", err)
			}
			checkEqual(t, "LoginHistory", got, tc.want)
		})
	}
}

// testLoginEvents checks that a sign-in's audit event and login history
// entry are written together, and that an attempt on an email with no
// account writes the event alone.
func testLoginEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	// attempt returns, unsaved, a failed attempt by userID and its event.
	attempt := func(t *testing.T, userID string) (store.LoginAttempt, store.AuditEvent) {
		a := store.LoginAttempt{ID: newID(t), UserID: userID, IPAddress: "198.51.100.7",
			UserAgent: "storetest/1.0", Reason: "invalid_credentials", CreatedAt: base}
		e := store.AuditEvent{ID: newID(t), Type: "login.failed", UserID: userID,
			IPAddress: a.IPAddress, UserAgent: a.UserAgent,
			Detail: map[string]string{"reason": a.Reason}, CreatedAt: base}
		return a, e
	}
	// stored returns the audit trail and the number of login history
	// entries, which a purge of everything counts.
	stored := func(t *testing.T, s store.Store) ([]store.AuditEvent, int64) {
		t.Helper()
		events, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		purged, err := s.Purge(t.Context(), store.Purge{LoginHistory: base.Add(time.Hour)})
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		return events, purged.LoginHistory
	}

	tests := []struct {
		name    string
		account bool
		entries int64
	}{
		{"an attempt by a user adds the event and the history entry", true, 1},
		{"an attempt on an email with no account adds the event only", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			userID := ""
			if tc.account {
				userID = makeUser(t, s).ID
			}
			a, e := attempt(t, userID)
			if err := s.RecordLoginEvent(t.Context(), a, e); err != nil {
				t.Fatalf("RecordLoginEvent: %v", err)
			}
			if tc.account {
				history, err := s.LoginHistory(t.Context(), userID, 10)
				if err != nil {
					t.Fatalf("LoginHistory: %v", err)
				}
				checkEqual(t, "login history", history, []store.LoginAttempt{a})
			}
			events, entries := stored(t, s)
			checkEqual(t, "events", events, []store.AuditEvent{e})
			if entries != tc.entries {
				t.Errorf("login history entries = %d; want %d", entries, tc.entries)
			}
		})
	}

	t.Run("an attempt naming no user writes neither", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a, e := attempt(t, newID(t))
		if err := s.RecordLoginEvent(t.Context(), a, e); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RecordLoginEvent error = %v, want ErrNotFound", err)
		}
		events, entries := stored(t, s)
		if len(events) != 0 || entries != 0 {
			t.Errorf("%d events and %d history entries stored; want none", len(events),
				entries)
		}
	})
}
