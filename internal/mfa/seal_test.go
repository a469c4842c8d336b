package mfa_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/mfa"
)

func newSealer(t *testing.T, key string) *mfa.Sealer {
	t.Helper()
	s, err := mfa.NewSealer([]byte(key))
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

const (
	keyA   = "0123456789abcdef0123456789abcdef"
	keyB   = "fedcba9876543210fedcba9876543210"
	secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

func TestSealedSecretsOpenOnlyForTheirUserAndKey(t *testing.T) {
	t.Parallel()
	a := newSealer(t, keyA)
	sealed, err := a.Seal("user-1", secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}

	t.Run("the sealed form does not contain the secret", func(t *testing.T) {
		t.Parallel()
		if bytes.Contains(bytes.ToUpper(sealed), []byte(secret[:8])) {
			t.Errorf("sealed form %q contains the secret", sealed)
		}
	})
	t.Run("it opens for its user under its key", func(t *testing.T) {
		t.Parallel()
		got, err := a.Open("user-1", sealed)
		if err != nil || got != secret {
			t.Errorf("Open = %q, %v; want %q, nil", got, err, secret)
		}
	})

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name   string
		sealer *mfa.Sealer
		user   string
		sealed []byte
	}{
		{"another user's id", a, "user-2", sealed},
		{"another key", newSealer(t, keyB), "user-1", sealed},
		{"a flipped bit", a, "user-1", flipped},
		{"a truncated value", a, "user-1", sealed[:20]},
		{"an unknown version", a, "user-1", append([]byte{9}, sealed[1:]...)},
		{"nothing at all", a, "user-1", nil},
	}
	for _, tc := range tests {
		t.Run("it does not open with "+tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.sealer.Open(tc.user, tc.sealed)
			if !errors.Is(err, mfa.ErrSealed) || got != "" {
				t.Errorf("Open = %q, %v; want \"\", ErrSealed", got, err)
			}
		})
	}
}

func TestSealingTwiceGivesDifferentCiphertexts(t *testing.T) {
	t.Parallel()
	s := newSealer(t, keyA)
	one, err := s.Seal("user-1", secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	two, err := s.Seal("user-1", secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Equal(one, two) {
		t.Error("two seals of one secret are equal; the nonce is not fresh")
	}
}

func TestNewSealerRefusesKeysThatAreNot32Bytes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := mfa.NewSealer(make([]byte, n)); !errors.Is(err, mfa.ErrKeySize) {
			t.Errorf("NewSealer with %d bytes: error = %v, want ErrKeySize", n, err)
		}
	}
}
