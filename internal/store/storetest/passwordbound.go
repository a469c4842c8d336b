package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// testPasswordBoundTokens checks that setting a password, by reset or by
// change, voids the user's pending second steps along with the reset
// links, and leaves every other token alone.
func testPasswordBoundTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	soon := base.Add(time.Minute)
	cases := []struct {
		name string
		set  func(t *testing.T, u store.User) error
	}{
		{"a reset", func(t *testing.T, u store.User) error {
			o := makeOneTime(t, s, u, store.PurposeResetPassword, false)
			_, err := s.ResetPassword(t.Context(), o.TokenHash, newPasswordHash, soon)
			return err
		}},
		{"a change", func(t *testing.T, u store.User) error {
			_, err := s.ChangePassword(t.Context(), u.ID, u.PasswordHash, newPasswordHash, soon)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" voids the user's pending second steps and reset links only",
			func(t *testing.T) {
				t.Parallel()
				u, other := makeUser(t, s), makeUser(t, s)
				voided := []store.OneTimeToken{
					makeOneTime(t, s, u, store.PurposeMFA, false),
					makeOneTime(t, s, u, store.PurposeMFA, false),
					makeOneTime(t, s, u, store.PurposeResetPassword, false),
				}
				kept := []store.OneTimeToken{
					makeOneTime(t, s, u, store.PurposeVerifyEmail, false),
					makeOneTime(t, s, other, store.PurposeMFA, false),
					makeOneTime(t, s, other, store.PurposeResetPassword, false),
				}
				if err := tc.set(t, u); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				for _, o := range voided {
					_, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
					if !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s token of the user: error = %v, want ErrNotFound", o.Purpose,
							err)
					}
				}
				for _, o := range kept {
					_, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
					if err != nil {
						t.Errorf("%s token of %s: %v; want it live", o.Purpose, o.UserID, err)
					}
				}
			})
	}
}
