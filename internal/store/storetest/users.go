package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func testUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("a created user reads back by id and by email, field for field", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := makeUser(t, s, func(u *store.User) {
			u.Username = "ada"
			u.Role = store.RoleAdmin
			u.Active = false
			u.EmailVerified = true
			u.TwoFactorEnabled = true
			u.UpdatedAt = base.Add(90 * time.Minute)
		})

		got, err := s.UserByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "UserByID", got, want)
		got, err = s.UserByEmail(t.Context(), want.Email)
		if err != nil {
			t.Fatalf("UserByEmail: %v", err)
		}
		checkEqual(t, "UserByEmail", got, want)
	})

	t.Run("users without a username read back with an empty one", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := makeUser(t, s)
		second := makeUser(t, s)

		for _, want := range []store.User{first, second} {
			got, err := s.UserByID(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			checkEqual(t, "UserByID", got, want)
		}
	})

	t.Run("a taken email or username is refused with its sentinel", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		existing := makeUser(t, s, func(u *store.User) { u.Username = "grace" })

		tests := []struct {
			name    string
			edit    func(u *store.User)
			wantErr error
		}{
			{
				name:    "the same email with another username is ErrEmailTaken",
				edit:    func(u *store.User) { u.Email = existing.Email; u.Username = "other" },
				wantErr: store.ErrEmailTaken,
			},
			{
				name:    "the same email without a username is ErrEmailTaken",
				edit:    func(u *store.User) { u.Email = existing.Email },
				wantErr: store.ErrEmailTaken,
			},
			{
				name:    "the same username with another email is ErrUsernameTaken",
				edit:    func(u *store.User) { u.Username = existing.Username },
				wantErr: store.ErrUsernameTaken,
			},
			{
				name: "the same email and username is ErrEmailTaken",
				edit: func(u *store.User) {
					u.Email = existing.Email
					u.Username = existing.Username
				},
				wantErr: store.ErrEmailTaken,
			},
			{
				name:    "the same id is ErrConflict",
				edit:    func(u *store.User) { u.ID = existing.ID },
				wantErr: store.ErrConflict,
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				id := newID(t)
				u := store.User{
					ID: id, Email: id + "@example.com", PasswordHash: "x",
					Role: store.RoleUser, CreatedAt: base, UpdatedAt: base,
				}
				tc.edit(&u)

				err := s.CreateUser(t.Context(), u)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("CreateUser error = %v, want %v", err, tc.wantErr)
				}
				got, err := s.UserByID(t.Context(), existing.ID)
				if err != nil {
					t.Fatalf("UserByID(existing): %v", err)
				}
				checkEqual(t, "existing user", got, existing)
				if u.ID == existing.ID {
					return
				}
				if _, err := s.UserByID(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("UserByID(refused user) error = %v, want ErrNotFound", err)
				}
			})
		}
	})

	t.Run("UpdatePasswordHash replaces the hash and the update time only", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := makeUser(t, s)
		other := makeUser(t, s)
		now := base.Add(48 * time.Hour)

		if err := s.UpdatePasswordHash(t.Context(), want.ID, "$2b$12$new", now); err != nil {
			t.Fatalf("UpdatePasswordHash: %v", err)
		}
		want.PasswordHash = "$2b$12$new"
		want.UpdatedAt = now
		got, err := s.UserByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "updated user", got, want)
		got, err = s.UserByID(t.Context(), other.ID)
		if err != nil {
			t.Fatalf("UserByID(other): %v", err)
		}
		checkEqual(t, "other user", got, other)
	})

	t.Run("RehashPassword replaces the hash only while it is still the old one",
		func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			want := makeUser(t, s)
			now := base.Add(48 * time.Hour)

			const upgraded = "$argon2id$v=19$m=19456,t=2,p=1$dXBncmFkZWQ$dXBncmFkZWQ"
			if err := s.RehashPassword(t.Context(), want.ID, want.PasswordHash, upgraded,
				now); err != nil {
				t.Fatalf("RehashPassword: %v", err)
			}
			stale := want.PasswordHash
			want.PasswordHash = upgraded
			want.UpdatedAt = now

			// A second login that verified the password against the
			// replaced hash must not write over the hash now stored.
			err := s.RehashPassword(t.Context(), want.ID, stale, "$2b$12$stale", now.Add(time.Hour))
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RehashPassword from a replaced hash error = %v, want ErrNotFound", err)
			}
			got, err := s.UserByID(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			checkEqual(t, "user after the refused rehash", got, want)
		})
}

func testUserAccess(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("role and active flag change and read back", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		u := makeUser(t, s)
		later := base.Add(time.Hour)

		got, err := s.UpdateUserAccess(t.Context(), u.ID, store.RoleAdmin, false, later)
		if err != nil {
			t.Fatalf("UpdateUserAccess: %v", err)
		}
		want := u
		want.Role, want.Active, want.UpdatedAt = store.RoleAdmin, false, later
		checkEqual(t, "returned user", got, want)
		read, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "stored user", read, want)
	})
}

func testNotFound(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	ghost := store.User{ID: newID(t), Email: "ghost@example.com"}
	ghostSession, ghostToken := newSession(t, ghost, base)
	now := base.Add(time.Hour)

	tests := []struct {
		name string
		call func(t *testing.T) error
	}{
		{"UserByID with an unknown id", func(t *testing.T) error {
			_, err := s.UserByID(t.Context(), ghost.ID)
			return err
		}},
		{"UserByEmail with an unknown email", func(t *testing.T) error {
			_, err := s.UserByEmail(t.Context(), ghost.Email)
			return err
		}},
		{"UserByEmail with the email in another case", func(t *testing.T) error {
			_, err := s.UserByEmail(t.Context(), "UPPER-"+u.Email)
			return err
		}},
		{"UpdatePasswordHash of an unknown user", func(t *testing.T) error {
			return s.UpdatePasswordHash(t.Context(), ghost.ID, "x", now)
		}},
		{"RehashPassword of an unknown user", func(t *testing.T) error {
			return s.RehashPassword(t.Context(), ghost.ID, u.PasswordHash, "x", now)
		}},
		{"UpdateUserAccess of an unknown user", func(t *testing.T) error {
			_, err := s.UpdateUserAccess(t.Context(), ghost.ID, store.RoleAdmin, false, now)
			return err
		}},
		{"CreateSession for an unknown user", func(t *testing.T) error {
			return s.CreateSession(t.Context(), ghostSession, ghostToken)
		}},
		{"SessionUser with an unknown id", func(t *testing.T) error {
			_, err := s.SessionUser(t.Context(), ghostSession.ID)
			return err
		}},
		{"TouchSession of an unknown session", func(t *testing.T) error {
			return s.TouchSession(t.Context(), ghostSession.ID, now)
		}},
		{"RevokeSession of an unknown session", func(t *testing.T) error {
			return s.RevokeSession(t.Context(), "", ghostSession.ID, now)
		}},
		{"RefreshState with an unknown hash", func(t *testing.T) error {
			_, err := s.RefreshState(t.Context(), ghostToken.TokenHash)
			return err
		}},
		{"RefreshTokenByHash with an unknown hash", func(t *testing.T) error {
			_, err := s.RefreshTokenByHash(t.Context(), ghostToken.TokenHash)
			return err
		}},
		{"RotateRefreshToken of an unknown token", func(t *testing.T) error {
			return s.RotateRefreshToken(t.Context(), ghostToken.ID,
				newToken(t, ghostSession, now), now)
		}},
		{"RecordLogin for an unknown user", func(t *testing.T) error {
			return s.RecordLogin(t.Context(), store.LoginAttempt{
				ID: newID(t), UserID: ghost.ID, CreatedAt: now,
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is ErrNotFound", func(t *testing.T) {
			t.Parallel()
			if err := tc.call(t); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("error = %v, want ErrNotFound", err)
			}
		})
	}
}
