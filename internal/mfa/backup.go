package mfa

import (
	"crypto/rand"
	"fmt"
)

// BackupCodeCount is how many backup codes one set has.
const BackupCodeCount = 10

// backupAlphabet is Crockford's base32 alphabet in lower case: no i, l, o
// or u, which are easy to misread. 32 symbols give 5 bits each.
const backupAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// backupChars is the length of a backup code without its separator: 50
// random bits, beyond guessing at the rate lockout allows.
const backupChars = 10

// backupHalf is where the display form puts its hyphen.
const backupHalf = backupChars / 2

// NewBackupCodes returns n distinct fresh backup codes in display form,
// such as "7kq2m-x9dpa".
func NewBackupCodes(n int) ([]string, error) {
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	var raw [backupChars]byte
	for len(codes) < n {
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("mfa: backup codes: %w", err)
		}
		var b [backupChars + 1]byte
		for i, j := 0, 0; i < backupChars; i++ {
			if i == backupHalf {
				b[j] = '-'
				j++
			}
			// 256 is a multiple of 32, so the low five bits are uniform.
			b[j] = backupAlphabet[raw[i]&31]
			j++
		}
		code := string(b[:])
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, code)
	}
	return codes, nil
}

// CanonicalBackupCode returns the form a backup code is hashed in: its ten
// symbols in lower case, without the hyphen. It accepts the display form
// with or without the hyphen and ASCII letters in either case; ok is false
// for anything else, including look-alike characters from outside ASCII,
// which are refused rather than mapped.
func CanonicalBackupCode(s string) (code string, ok bool) {
	if len(s) == backupChars+1 {
		if s[backupHalf] != '-' {
			return "", false
		}
		s = s[:backupHalf] + s[backupHalf+1:]
	}
	if len(s) != backupChars {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
			b[i] = c
		}
		if !inAlphabet(c) {
			return "", false
		}
	}
	return string(b), true
}

func inAlphabet(c byte) bool {
	for i := 0; i < len(backupAlphabet); i++ {
		if backupAlphabet[i] == c {
			return true
		}
	}
	return false
}
