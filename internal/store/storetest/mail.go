package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const newPasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA"

func testMailFlows(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	soon := base.Add(time.Minute)

	t.Run("verifying an email spends the token once and marks the user", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		o := makeOneTime(t, s, u, store.PurposeVerifyEmail, true)

		got, err := s.VerifyEmail(t.Context(), o.TokenHash, soon)
		if err != nil {
			t.Fatalf("VerifyEmail: %v", err)
		}
		want := u
		want.EmailVerified = true
		want.UpdatedAt = soon
		checkEqual(t, "verified user", got, want)
		stored, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "stored user", stored, want)

		_, err = s.VerifyEmail(t.Context(), o.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second VerifyEmail error = %v, want ErrNotFound", err)
		}
	})

	t.Run("a token is refused for the wrong flow, after expiry and when unknown", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		verify := makeOneTime(t, s, u, store.PurposeVerifyEmail, false)
		reset := makeOneTime(t, s, u, store.PurposeResetPassword, false)
		attempts := []struct {
			name string
			try  func() error
		}{
			{"a reset token cannot verify", func() error {
				_, err := s.VerifyEmail(t.Context(), reset.TokenHash, soon)
				return err
			}},
			{"a verification token cannot reset", func() error {
				_, err := s.ResetPassword(t.Context(), verify.TokenHash, newPasswordHash, soon)
				return err
			}},
			{"an expired token cannot verify", func() error {
				_, err := s.VerifyEmail(t.Context(), verify.TokenHash, verify.ExpiresAt)
				return err
			}},
			{"an expired token cannot reset", func() error {
				_, err := s.ResetPassword(t.Context(), reset.TokenHash, newPasswordHash,
					reset.ExpiresAt)
				return err
			}},
			{"an unknown hash cannot reset", func() error {
				_, err := s.ResetPassword(t.Context(), "no-such-hash", newPasswordHash, soon)
				return err
			}},
		}
		for _, a := range attempts {
			if err := a.try(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: error = %v, want ErrNotFound", a.name, err)
			}
		}
		got, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "user after refused tokens", got, u)
		for _, o := range []store.OneTimeToken{verify, reset} {
			if _, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon); err != nil {
				t.Errorf("%s token after refusals: %v", o.Purpose, err)
			}
		}
	})

	t.Run("a reset sets the password, verifies the email and voids the other reset tokens",
		func(t *testing.T) {
			t.Parallel()
			u := makeUser(t, s)
			older := makeOneTime(t, s, u, store.PurposeResetPassword, false)
			used := makeOneTime(t, s, u, store.PurposeResetPassword, false)
			verify := makeOneTime(t, s, u, store.PurposeVerifyEmail, false)

			got, err := s.ResetPassword(t.Context(), used.TokenHash, newPasswordHash, soon)
			if err != nil {
				t.Fatalf("ResetPassword: %v", err)
			}
			want := u
			want.PasswordHash = newPasswordHash
			want.EmailVerified = true
			want.UpdatedAt = soon
			checkEqual(t, "reset user", got, want)

			for _, o := range []store.OneTimeToken{older, used} {
				_, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("reset token after the reset: error = %v, want ErrNotFound", err)
				}
			}
			_, err = s.PeekOneTimeToken(t.Context(), verify.Purpose, verify.TokenHash, soon)
			if err != nil {
				t.Errorf("verification token after the reset: %v", err)
			}
		})

	t.Run("a change sets the password and voids only the user's reset tokens", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		other := makeUser(t, s)
		reset := makeOneTime(t, s, u, store.PurposeResetPassword, false)
		verify := makeOneTime(t, s, u, store.PurposeVerifyEmail, false)
		othersReset := makeOneTime(t, s, other, store.PurposeResetPassword, false)

		got, err := s.ChangePassword(t.Context(), u.ID, u.PasswordHash, newPasswordHash, soon)
		if err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		want := u
		want.PasswordHash = newPasswordHash
		want.UpdatedAt = soon
		checkEqual(t, "changed user", got, want)

		_, err = s.PeekOneTimeToken(t.Context(), reset.Purpose, reset.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reset token after the change: error = %v, want ErrNotFound", err)
		}
		for _, o := range []store.OneTimeToken{verify, othersReset} {
			if _, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon); err != nil {
				t.Errorf("%s token of %s after the change: %v", o.Purpose, o.UserID, err)
			}
		}
		_, err = s.ChangePassword(t.Context(), newID(t), u.PasswordHash, newPasswordHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ChangePassword of an unknown user error = %v, want ErrNotFound", err)
		}
	})

	t.Run("a change from a hash that was replaced meanwhile changes nothing", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		// A reset commits between the check of the current password
		// against u.PasswordHash and the change's write.
		used := makeOneTime(t, s, u, store.PurposeResetPassword, false)
		want, err := s.ResetPassword(t.Context(), used.TokenHash, newPasswordHash, soon)
		if err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		reset := makeOneTime(t, s, u, store.PurposeResetPassword, false)
		step := makeOneTime(t, s, u, store.PurposeMFA, false)

		const stale = "$argon2id$v=19$m=19456,t=2,p=1$c3RhbGVzYWx0$c3RhbGVoYXNo"
		_, err = s.ChangePassword(t.Context(), u.ID, u.PasswordHash, stale, soon.Add(time.Second))
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ChangePassword from the replaced hash error = %v, want ErrNotFound", err)
		}
		got, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkEqual(t, "user after the refused change", got, want)
		for _, o := range []store.OneTimeToken{reset, step} {
			if _, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon); err != nil {
				t.Errorf("%s token after the refused change: %v; want it live", o.Purpose, err)
			}
		}
	})

	t.Run("of ten concurrent changes from one hash exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		var (
			mu     sync.Mutex
			winner string
			losses atomic.Int32
			wg     sync.WaitGroup
		)
		for i := range 10 {
			wg.Go(func() {
				hash := fmt.Sprintf("%s-%d", newPasswordHash, i)
				_, err := s.ChangePassword(t.Context(), u.ID, u.PasswordHash, hash, soon)
				switch {
				case err == nil:
					mu.Lock()
					defer mu.Unlock()
					if winner != "" {
						t.Errorf("changes to %s and %s both succeeded", winner, hash)
					}
					winner = hash
				case errors.Is(err, store.ErrNotFound):
					losses.Add(1)
				default:
					t.Errorf("ChangePassword: %v", err)
				}
			})
		}
		wg.Wait()
		if winner == "" || losses.Load() != 9 {
			t.Fatalf("winner = %q, losses = %d; want one winner and 9 losses", winner,
				losses.Load())
		}
		got, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if got.PasswordHash != winner {
			t.Errorf("stored hash = %q; want the winner's, %q", got.PasswordHash, winner)
		}
	})

	t.Run("of ten concurrent resets with one token exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		u := makeUser(t, s)
		o := makeOneTime(t, s, u, store.PurposeResetPassword, true)
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := s.ResetPassword(t.Context(), o.TokenHash, newPasswordHash, soon)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrNotFound):
					losses.Add(1)
				default:
					t.Errorf("ResetPassword: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || losses.Load() != 9 {
			t.Errorf("wins = %d, losses = %d; want 1 and 9", wins.Load(), losses.Load())
		}
	})
}
