package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// makeEvent stores an audit event of type typ about userID at base plus at.
func makeEvent(t *testing.T, s store.Store, typ, userID string, at time.Duration) store.AuditEvent {
	t.Helper()
	e := store.AuditEvent{
		ID:        newID(t),
		Type:      typ,
		UserID:    userID,
		IPAddress: "192.0.2.10",
		UserAgent: "storetest/1.0",
		Detail:    map[string]string{"reason": "invalid_credentials"},
		CreatedAt: base.Add(at),
	}
	if err := s.RecordAuditEvent(t.Context(), e); err != nil {
		t.Fatalf("RecordAuditEvent: %v", err)
	}
	return e
}

func testAuditTrail(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("an event reads back as it was recorded", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		want := store.AuditEvent{
			ID:        newID(t),
			Type:      "user.role_changed",
			UserID:    u.ID,
			ActorID:   newID(t),
			IPAddress: "2001:db8::1",
			UserAgent: "Mozilla/5.0 \"quoted\" ünïcode",
			Detail:    map[string]string{"from": "USER", "to": "ADMIN", "quote": `"}`},
			CreatedAt: base,
		}
		if err := s.RecordAuditEvent(t.Context(), want); err != nil {
			t.Fatalf("RecordAuditEvent: %v", err)
		}
		got, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		checkEqual(t, "events", got, []store.AuditEvent{want})
	})

	t.Run("an event without user, actor or detail has an empty detail", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		e := store.AuditEvent{ID: newID(t), Type: "login.failed", CreatedAt: base}
		if err := s.RecordAuditEvent(t.Context(), e); err != nil {
			t.Fatalf("RecordAuditEvent: %v", err)
		}
		got, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		e.Detail = map[string]string{}
		checkEqual(t, "events", got, []store.AuditEvent{e})
	})

	t.Run("events of a deleted user stay in the trail", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		e := makeEvent(t, s, "user.registered", u.ID, 0)
		execSQL(t, s, "DELETE FROM users WHERE id = ?", u.ID)
		got, err := s.AuditEvents(t.Context(), store.AuditQuery{UserID: u.ID, Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		checkEqual(t, "events", got, []store.AuditEvent{e})
	})

	s := newStore(t)
	alice, bob := newID(t), newID(t)
	// Recorded out of order, two at the same instant, so that only the
	// query's ordering can sort them.
	a3 := makeEvent(t, s, "login.failed", alice, 2*time.Minute)
	a1 := makeEvent(t, s, "login.succeeded", alice, 0)
	a2 := makeEvent(t, s, "login.failed", alice, time.Minute)
	a4 := makeEvent(t, s, "login.failed", alice, 2*time.Minute)
	b1 := makeEvent(t, s, "login.failed", bob, 90*time.Second)
	anon := makeEvent(t, s, "login.failed", "", 3*time.Minute)
	// Same instant: the larger id comes first.
	tied := []store.AuditEvent{a3, a4}
	slices.SortFunc(tied, func(x, y store.AuditEvent) int { return -compareStrings(x.ID, y.ID) })
	aNewest, aNext := tied[0], tied[1]

	tests := []struct {
		name string
		q    store.AuditQuery
		want []store.AuditEvent
	}{
		{"every event, newest first", store.AuditQuery{Limit: 10},
			[]store.AuditEvent{anon, aNewest, aNext, b1, a2, a1}},
		{"the events of one user", store.AuditQuery{UserID: alice, Limit: 10},
			[]store.AuditEvent{aNewest, aNext, a2, a1}},
		{"the events of one type", store.AuditQuery{Type: "login.succeeded", Limit: 10},
			[]store.AuditEvent{a1}},
		{"the events of one user and type", store.AuditQuery{UserID: alice,
			Type: "login.failed", Limit: 10}, []store.AuditEvent{aNewest, aNext, a2}},
		{"a page cut at the limit", store.AuditQuery{Limit: 2},
			[]store.AuditEvent{anon, aNewest}},
		{"the page after an event sharing its instant with the next", store.AuditQuery{
			BeforeAt: aNewest.CreatedAt, BeforeID: aNewest.ID, Limit: 2},
			[]store.AuditEvent{aNext, b1}},
		{"the page after a cursor with filters", store.AuditQuery{UserID: alice,
			Type: "login.failed", BeforeAt: aNext.CreatedAt, BeforeID: aNext.ID, Limit: 5},
			[]store.AuditEvent{a2}},
		{"the page after the oldest event is empty", store.AuditQuery{
			BeforeAt: a1.CreatedAt, BeforeID: a1.ID, Limit: 5}, []store.AuditEvent{}},
		{"a limit of zero returns nothing", store.AuditQuery{}, []store.AuditEvent{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.AuditEvents(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("AuditEvents: %v", err)
			}
			checkEqual(t, "events", got, tc.want)
		})
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testSearchUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	named := func(email, username string) func(*store.User) {
		return func(u *store.User) { u.Email, u.Username = email, username }
	}
	ada := makeUser(t, s, named("ada@example.com", "countess"))
	grace := makeUser(t, s, named("grace@navy.example", ""))
	percent := makeUser(t, s, named("100%real@example.com", "per_cent"))
	underscore := makeUser(t, s, named("under_score@example.org", ""))
	all := []store.User{ada, grace, percent, underscore}
	slices.SortFunc(all, func(x, y store.User) int { return compareStrings(x.ID, y.ID) })

	tests := []struct {
		name string
		q    store.UserQuery
		want []store.User
	}{
		{"every user, by id", store.UserQuery{Limit: 10}, all},
		{"a page cut at the limit", store.UserQuery{Limit: 2}, all[:2]},
		{"the page after a cursor", store.UserQuery{AfterID: all[1].ID, Limit: 10}, all[2:]},
		{"a part of an email in another case", store.UserQuery{Search: "NAVY", Limit: 10},
			[]store.User{grace}},
		{"a part of a username", store.UserQuery{Search: "ntes", Limit: 10},
			[]store.User{ada}},
		{"an exact id", store.UserQuery{Search: percent.ID, Limit: 10},
			[]store.User{percent}},
		{"a percent sign matched literally", store.UserQuery{Search: "0%r", Limit: 10},
			[]store.User{percent}},
		{"an underscore matched literally", store.UserQuery{Search: "r_s", Limit: 10},
			[]store.User{underscore}},
		{"a search matching nothing", store.UserQuery{Search: "nobody", Limit: 10},
			[]store.User{}},
		{"a limit of zero returns nothing", store.UserQuery{}, []store.User{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.SearchUsers(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("SearchUsers: %v", err)
			}
			checkEqual(t, "users", got, tc.want)
		})
	}
}

func testChangeUserAccess(t *testing.T, newStore func(t *testing.T) store.Store) {
	admin := func(u *store.User) { u.Role = store.RoleAdmin }
	inactive := func(u *store.User) { u.Active = false }
	later := base.Add(time.Hour)
	role := func(r string) *string { return &r }
	flag := func(b bool) *bool { return &b }

	t.Run("a change returns and stores the user before and after it", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		before, after, err := s.ChangeUserAccess(t.Context(), u.ID,
			store.AccessChange{Role: role(store.RoleAdmin)}, later)
		if err != nil {
			t.Fatalf("ChangeUserAccess: %v", err)
		}
		want := u
		want.Role, want.UpdatedAt = store.RoleAdmin, later
		checkEqual(t, "before", before, u)
		checkEqual(t, "after", after, want)
		read, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "stored user", read, want)
	})

	t.Run("a change that alters nothing writes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		_, after, err := s.ChangeUserAccess(t.Context(), u.ID,
			store.AccessChange{Role: role(store.RoleUser), Active: flag(true)}, later)
		if err != nil {
			t.Fatalf("ChangeUserAccess: %v", err)
		}
		checkEqual(t, "after", after, u)
	})

	t.Run("an unknown user is not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, _, err := s.ChangeUserAccess(t.Context(), newID(t),
			store.AccessChange{Active: flag(false)}, later)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	guard := []struct {
		name   string
		others []func(*store.User) // edits of the other users
		change store.AccessChange
		want   error
	}{
		{"the only admin cannot be demoted", nil,
			store.AccessChange{Role: role(store.RoleUser)}, store.ErrLastAdmin},
		{"the only admin cannot be deactivated", nil,
			store.AccessChange{Active: flag(false)}, store.ErrLastAdmin},
		{"an inactive admin does not count as another", []func(*store.User){admin, inactive},
			store.AccessChange{Active: flag(false)}, store.ErrLastAdmin},
		{"an admin can be demoted while another is active", []func(*store.User){admin},
			store.AccessChange{Role: role(store.RoleUser)}, nil},
		{"the only admin may still change nothing that matters", nil,
			store.AccessChange{Role: role(store.RoleAdmin), Active: flag(true)}, nil},
	}
	for _, tc := range guard {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			u := makeUser(t, s, admin)
			makeUser(t, s)
			if tc.others != nil {
				makeUser(t, s, tc.others...)
			}
			_, _, err := s.ChangeUserAccess(t.Context(), u.ID, tc.change, later)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			read, err := s.UserByID(t.Context(), u.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			if tc.want != nil {
				checkEqual(t, "unchanged user", read, u)
			}
		})
	}

	t.Run("of admins demoting each other at once, one stays", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for range 5 {
			a, b := makeUser(t, s, admin), makeUser(t, s, admin)
			// Earlier rounds left one admin each; retire it so that a and b
			// are the only active admins.
			execSQL(t, s, "UPDATE users SET active = ? WHERE id <> ? AND id <> ?",
				false, a.ID, b.ID)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, u := range []store.User{a, b} {
				wg.Go(func() {
					_, _, errs[i] = s.ChangeUserAccess(t.Context(), u.ID,
						store.AccessChange{Role: role(store.RoleUser)}, later)
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, store.ErrLastAdmin):
					t.Fatalf("ChangeUserAccess: %v", err)
				}
			}
			left := countSQL(t, s, "SELECT COUNT(*) FROM users WHERE role = ? AND active = ?",
				store.RoleAdmin, true)
			if ok != 1 || left != 1 {
				t.Fatalf("%d changes succeeded leaving %d active admins; want 1 and 1", ok, left)
			}
		}
	})
}

func testActiveSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	now := base.Add(24 * time.Hour)
	idle := time.Hour

	makeSession(t, s, u, now.Add(-time.Minute)) // live
	recent, _ := makeSession(t, s, u, now.Add(-2*time.Hour))
	if err := s.TouchSession(t.Context(), recent.ID, now.Add(-30*time.Minute)); err != nil {
		t.Fatalf("TouchSession: %v", err)
	} // live: active half an hour ago
	makeSession(t, s, u, now.Add(-2*time.Hour)) // idle
	revoked, _ := makeSession(t, s, u, now.Add(-time.Minute))
	if err := s.RevokeSession(t.Context(), "", revoked.ID, now); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	makeSession(t, s, u, now.Add(-31*24*time.Hour)) // past its absolute expiry

	got, err := s.CountActiveSessions(t.Context(), now, now.Add(-idle))
	if err != nil {
		t.Fatalf("CountActiveSessions: %v", err)
	}
	if got != 2 {
		t.Errorf("CountActiveSessions = %d, want 2", got)
	}
}

func testPurge(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("exactly the dead and old rows go, in batches", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		now := base.Add(100 * 24 * time.Hour)
		p := store.Purge{
			SessionsEnded: now,
			SessionsIdle:  now.Add(-7 * 24 * time.Hour),
			TokensExpired: now,
			LoginHistory:  now.Add(-90 * 24 * time.Hour),
			AuditEvents:   now.Add(-365 * 24 * time.Hour),
			BatchSize:     2,
		}

		// Sessions: created an hour ago (live), idle past the cutoff,
		// revoked, past the absolute expiry.
		live, liveToken := makeSession(t, s, u, now.Add(-time.Hour))
		expiredToken := newToken(t, live, now.Add(-8*24*time.Hour)) // expired a day ago
		if err := s.RotateRefreshToken(t.Context(), liveToken.ID, expiredToken,
			now.Add(-time.Hour)); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		var dead []string
		for range 3 {
			idle, _ := makeSession(t, s, u, now.Add(-8*24*time.Hour))
			dead = append(dead, idle.ID)
		}
		revoked, _ := makeSession(t, s, u, now.Add(-time.Hour))
		if err := s.RevokeSession(t.Context(), "", revoked.ID, now.Add(-time.Minute)); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		old, _ := makeSession(t, s, u, now.Add(-31*24*time.Hour))
		if err := s.TouchSession(t.Context(), old.ID, now.Add(-time.Hour)); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		dead = append(dead, revoked.ID, old.ID)

		keepOTT := makeOneTimeAt(t, s, u, now.Add(time.Minute))
		makeOneTimeAt(t, s, u, now.Add(-time.Minute))
		makeOneTimeAt(t, s, u, now.Add(-time.Hour))

		logins := []time.Duration{-89 * 24 * time.Hour, -91 * 24 * time.Hour, -400 * 24 * time.Hour}
		for _, age := range logins {
			if err := s.RecordLogin(t.Context(), store.LoginAttempt{ID: newID(t), UserID: u.ID,
				Success: true, CreatedAt: now.Add(age)}); err != nil {
				t.Fatalf("RecordLogin: %v", err)
			}
		}
		for _, age := range []time.Duration{-364, -366, -367, -1000} {
			makeEvent(t, s, "login.failed", u.ID, now.Sub(base)+age*24*time.Hour)
		}

		got, err := s.Purge(t.Context(), p)
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		want := store.Purged{Sessions: 5, RefreshTokens: 1, OneTimeTokens: 2, LoginHistory: 2,
			AuditEvents: 3}
		checkEqual(t, "purged counts", got, want)

		for _, id := range dead {
			if _, err := s.SessionUser(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("dead session %s: error %v, want ErrNotFound", id, err)
			}
		}
		if _, err := s.SessionUser(t.Context(), live.ID); err != nil {
			t.Errorf("live session: %v", err)
		}
		tokens, err := s.SessionRefreshTokens(t.Context(), live.ID)
		if err != nil {
			t.Fatalf("SessionRefreshTokens: %v", err)
		}
		if len(tokens) != 1 || tokens[0].ID != liveToken.ID {
			t.Errorf("live session keeps %d tokens; want only its unexpired one", len(tokens))
		}
		if n := countSQL(t, s, "SELECT COUNT(*) FROM refresh_tokens"); n != 1 {
			t.Errorf("%d refresh tokens left; want 1 (the dead sessions' went with them)", n)
		}
		if _, err := s.PeekOneTimeToken(t.Context(), keepOTT.Purpose, keepOTT.TokenHash,
			now); err != nil {
			t.Errorf("live one-time token: %v", err)
		}
		if n := countSQL(t, s, "SELECT COUNT(*) FROM one_time_tokens"); n != 1 {
			t.Errorf("%d one-time tokens left; want 1", n)
		}
		if n := countSQL(t, s, "SELECT COUNT(*) FROM login_history"); n != 1 {
			t.Errorf("%d login history entries left; want 1", n)
		}
		events, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		if len(events) != 1 || !events[0].CreatedAt.Equal(now.Add(-364*24*time.Hour)) {
			t.Errorf("audit events left: %v; want only the one 364 days old", events)
		}

		again, err := s.Purge(t.Context(), p)
		if err != nil {
			t.Fatalf("second Purge: %v", err)
		}
		checkEqual(t, "second purge counts", again, store.Purged{})
	})

	t.Run("a zero purge deletes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		sess, _ := makeSession(t, s, u, base)
		if err := s.RevokeSession(t.Context(), "", sess.ID, base); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		makeEvent(t, s, "logout", u.ID, 0)
		got, err := s.Purge(t.Context(), store.Purge{})
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		checkEqual(t, "purged counts", got, store.Purged{})
	})

	t.Run("concurrent purges delete each row once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		for i := range 40 {
			makeEvent(t, s, "login.failed", u.ID, time.Duration(i)*time.Second)
		}
		var wg sync.WaitGroup
		counts := make([]int64, 4)
		for i := range counts {
			wg.Go(func() {
				got, err := s.Purge(t.Context(), store.Purge{AuditEvents: base.Add(time.Hour),
					BatchSize: 3})
				if err != nil {
					t.Errorf("Purge: %v", err)
				}
				counts[i] = got.AuditEvents
			})
		}
		wg.Wait()
		var total int64
		for _, n := range counts {
			total += n
		}
		if total != 40 {
			t.Errorf("purges deleted %v rows, %d in all; want 40 in all", counts, total)
		}
	})
}

// makeOneTimeAt stores a verification token of u expiring at exp.
func makeOneTimeAt(t *testing.T, s store.Store, u store.User, exp time.Time) store.OneTimeToken {
	t.Helper()
	id := newID(t)
	o := store.OneTimeToken{
		ID:        id,
		UserID:    u.ID,
		Purpose:   store.PurposeVerifyEmail,
		TokenHash: "ott-" + id,
		CreatedAt: exp.Add(-24 * time.Hour),
		ExpiresAt: exp,
	}
	if err := s.CreateOneTimeToken(t.Context(), o, false); err != nil {
		t.Fatalf("CreateOneTimeToken: %v", err)
	}
	return o
}
