package mfa_test

import (
	"regexp"
	"testing"

	"github.com/latchkey/latchkey/internal/mfa"
)

func TestNewBackupCodesAreDistinctAndCarryFiftyBits(t *testing.T) {
	t.Parallel()
	codes, err := mfa.NewBackupCodes(mfa.BackupCodeCount)
	if err != nil {
		t.Fatalf("NewBackupCodes: %v", err)
	}
	if len(codes) != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	// Ten symbols of a 32-letter alphabet: 50 bits.
	form := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !form.MatchString(c) {
			t.Errorf("code %q is not five and five Crockford base32 symbols", c)
		}
		if seen[c] {
			t.Errorf("code %q appears twice", c)
		}
		seen[c] = true
	}
}

func TestCanonicalBackupCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"the display form is accepted", "7kq2m-x9dpa", "7kq2mx9dpa", true},
		{"the form without hyphen is accepted", "7kq2mx9dpa", "7kq2mx9dpa", true},
		{"upper-case ASCII letters are accepted", "7KQ2M-X9DPA", "7kq2mx9dpa", true},
		{"a misplaced hyphen is refused", "7kq2-mx9dpa", "", false},
		{"a space is refused", "7kq2m x9dpa", "", false},
		{"surrounding spaces are refused", " 7kq2m-x9dpa", "", false},
		{"a letter outside the alphabet is refused", "7kq2m-x9dpi", "", false},
		{"a short code is refused", "7kq2m-x9dp", "", false},
		{"the Kelvin sign for k is refused", "7\u212aq2m-x9dpa", "", false},
		{"full-width letters are refused", "７ｋｑ２ｍ-ｘ９ｄｐａ", "", false},
		{"the empty string is refused", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := mfa.CanonicalBackupCode(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CanonicalBackupCode(%q) = %q, %v; want %q, %v", tc.in, got, ok,
					tc.want, tc.ok)
			}
		})
	}
}
