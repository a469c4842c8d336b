package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestAccessChangesReachEveryInstanceCache changes a user's role or active
// flag as an admin on one instance while both instances have the user's
// session cached: the acting instance sees the change at once, the other
// within a second, and neither serves the old account from its cache.
func TestAccessChangesReachEveryInstanceCache(t *testing.T) {
	t.Parallel()
	off, user, admin := false, store.RoleUser, store.RoleAdmin
	tests := []struct {
		name   string
		change store.AccessChange
		// applied reports whether an authentication result shows the
		// change.
		applied func(p auth.Principal, err error) bool
	}{
		{"a deactivation refuses the token", store.AccessChange{Active: &off},
			func(_ auth.Principal, err error) bool {
				code := auth.Public(err).Code
				return err != nil &&
					(code == auth.CodeAccountDisabled || code == auth.CodeInvalidToken)
			}},
		{"a demotion takes the role away", store.AccessChange{Role: &user},
			func(p auth.Principal, err error) bool {
				return err == nil && p.User.Role == store.RoleUser
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, channel := sharedFeed(t)
			st := storetest.SQLite(t)
			a := newInstance(t, st, client, channel, newClock())
			b := newInstance(t, st, client, channel, newClock())
			ctx := context.Background()
			root, err := a.svc.CreateUser(ctx, auth.RegisterInput{Email: "root@example.com",
				Password: "Correct-horse9!"}, store.RoleAdmin)
			if err != nil {
				t.Fatal(err)
			}
			g := signUp(t, a, "target@example.com")
			promote := store.AccessChange{Role: &admin}
			if _, _, err := st.ChangeUserAccess(ctx, g.User.ID, promote, time.Now()); err != nil {
				t.Fatal(err)
			}
			a.waitCached(t, g.AccessToken)
			b.waitCached(t, g.AccessToken)

			_, err = a.svc.ChangeAccess(ctx, auth.Principal{User: root}, g.User.ID, tc.change,
				auth.Client{IP: "127.0.0.1"})
			if err != nil {
				t.Fatalf("ChangeAccess: %v", err)
			}
			if p, err := a.svc.Authenticate(ctx, g.AccessToken); !tc.applied(p, err) {
				t.Errorf("the acting instance after the change: %+v, %v", p.User, err)
			}
			deadline := time.Now().Add(time.Second)
			for {
				p, err := b.svc.Authenticate(ctx, g.AccessToken)
				if tc.applied(p, err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the other instance a second after the change: %+v, %v", p.User,
						err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
