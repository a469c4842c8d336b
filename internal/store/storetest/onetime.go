package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// makeOneTime stores a one-time token of u for purpose, created at base and
// living an hour.
func makeOneTime(t *testing.T, s store.Store, u store.User, purpose string,
	supersede bool) store.OneTimeToken {
	t.Helper()
	id := newID(t)
	o := store.OneTimeToken{
		ID:        id,
		UserID:    u.ID,
		Purpose:   purpose,
		TokenHash: "ott-" + id,
		CreatedAt: base,
		ExpiresAt: base.Add(time.Hour),
	}
	if err := s.CreateOneTimeToken(t.Context(), o, supersede); err != nil {
		t.Fatalf("CreateOneTimeToken: %v", err)
	}
	return o
}

func testOneTimeTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	u := makeUser(t, s)
	soon := base.Add(time.Minute)

	t.Run("a token peeks without being used and is consumed once", func(t *testing.T) {
		t.Parallel()
		o := makeOneTime(t, s, u, store.PurposeVerifyEmail, false)

		got, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
		if err != nil {
			t.Fatalf("PeekOneTimeToken: %v", err)
		}
		checkEqual(t, "peeked token", got, o)

		got, err = s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
		if err != nil {
			t.Fatalf("ConsumeOneTimeToken: %v", err)
		}
		o.UsedAt = soon
		checkEqual(t, "consumed token", got, o)

		_, err = s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second ConsumeOneTimeToken error = %v, want ErrNotFound", err)
		}
		_, err = s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PeekOneTimeToken after use error = %v, want ErrNotFound", err)
		}
	})

	t.Run("a token is refused for another purpose and after it expires", func(t *testing.T) {
		t.Parallel()
		o := makeOneTime(t, s, u, store.PurposeResetPassword, false)
		_, err := s.ConsumeOneTimeToken(t.Context(), store.PurposeMFA, o.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("consume for another purpose error = %v, want ErrNotFound", err)
		}
		_, err = s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, o.ExpiresAt)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("consume at expiry error = %v, want ErrNotFound", err)
		}
		if _, err := s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon); err != nil {
			t.Errorf("consume before expiry after refusals: %v", err)
		}
	})

	t.Run("a superseding token voids the older ones of its user and purpose", func(t *testing.T) {
		t.Parallel()
		v := makeUser(t, s)
		old := makeOneTime(t, s, v, store.PurposeResetPassword, false)
		other := makeOneTime(t, s, v, store.PurposeVerifyEmail, false)
		newer := makeOneTime(t, s, v, store.PurposeResetPassword, true)

		_, err := s.ConsumeOneTimeToken(t.Context(), old.Purpose, old.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("superseded token error = %v, want ErrNotFound", err)
		}
		for _, o := range []store.OneTimeToken{other, newer} {
			if _, err := s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon); err != nil {
				t.Errorf("consume %s token: %v", o.Purpose, err)
			}
		}
	})

	t.Run("failed attempts count and void the token at the maximum", func(t *testing.T) {
		t.Parallel()
		o := makeOneTime(t, s, u, store.PurposeMFA, false)
		for want := 1; want <= 3; want++ {
			n, err := s.FailOneTimeToken(t.Context(), o.ID, 3, soon)
			if err != nil || n != want {
				t.Fatalf("FailOneTimeToken #%d = %d, %v; want %d, nil", want, n, err, want)
			}
		}
		if _, err := s.FailOneTimeToken(t.Context(), o.ID, 3, soon); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FailOneTimeToken on a void token error = %v, want ErrNotFound", err)
		}
		_, err := s.PeekOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("peek after max failures error = %v, want ErrNotFound", err)
		}
	})

	t.Run("voiding ends the live tokens of the user and purpose only", func(t *testing.T) {
		t.Parallel()
		v := makeUser(t, s)
		reset := makeOneTime(t, s, v, store.PurposeResetPassword, false)
		verify := makeOneTime(t, s, v, store.PurposeVerifyEmail, false)
		if err := s.VoidOneTimeTokens(t.Context(), v.ID, store.PurposeResetPassword, soon); err != nil {
			t.Fatalf("VoidOneTimeTokens: %v", err)
		}
		_, err := s.PeekOneTimeToken(t.Context(), reset.Purpose, reset.TokenHash, soon)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("voided token error = %v, want ErrNotFound", err)
		}
		if _, err := s.PeekOneTimeToken(t.Context(), verify.Purpose, verify.TokenHash, soon); err != nil {
			t.Errorf("token of another purpose: %v", err)
		}
	})

	t.Run("of twenty concurrent consumptions exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		o := makeOneTime(t, s, u, store.PurposeMFA, false)
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := s.ConsumeOneTimeToken(t.Context(), o.Purpose, o.TokenHash, soon)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrNotFound):
					losses.Add(1)
				default:
					t.Errorf("ConsumeOneTimeToken: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || losses.Load() != 19 {
			t.Errorf("wins = %d, losses = %d; want 1 and 19", wins.Load(), losses.Load())
		}
	})
}
