package token

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseKeySetReadsKeysInRotationOrder(t *testing.T) {
	t.Parallel()
	ed, es, rs := testKeys[EdDSA], testKeys[ES256], testKeys[RS256]
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, []byte("\n")) }
	tests := []struct {
		name     string
		blocks   []byte
		active   string
		verifies []string
	}{
		{"the last private key signs", join(rs.pem, ed.pem, es.pem), es.key.ID,
			[]string{es.key.ID, ed.key.ID, rs.key.ID}},
		{"an announced public key after it only verifies",
			join(ed.pem, publicPEM(t, es.key)), ed.key.ID, []string{ed.key.ID, es.key.ID}},
		{"one key alone", ed.pem, ed.key.ID, []string{ed.key.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ks, err := ParseKeySet(tc.blocks, "JWT_KEYS")
			if err != nil {
				t.Fatalf("ParseKeySet: %v", err)
			}
			if got := ks.Active().ID; got != tc.active {
				t.Errorf("active key %s; want %s", got, tc.active)
			}
			var ids []string
			for _, k := range ks.Keys() {
				ids = append(ids, k.ID)
				if !strings.HasPrefix(k.File, "JWT_KEYS#") {
					t.Errorf("key %s is named %q; want JWT_KEYS#n", k.ID, k.File)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.verifies, " ") {
				t.Errorf("keys %v; want %v", ids, tc.verifies)
			}

			a := newKeyAccess(t, ks)
			tok, _, err := a.Issue(testSubject, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if kid := tokenHeader(t, tok)["kid"]; kid != tc.active {
				t.Errorf("token kid %v; want the active key %s", kid, tc.active)
			}
			if _, err := a.Verify(tok, testNow); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestParseKeySetRefusesBadInput(t *testing.T) {
	t.Parallel()
	ed := testKeys[EdDSA]
	tests := []struct {
		name   string
		blocks []byte
	}{
		{"nothing", nil},
		{"text that is not PEM", []byte("hello")},
		{"text before the first key", append([]byte("junk\n"), ed.pem...)},
		{"text after the last key", append(append([]byte{}, ed.pem...), "junk"...)},
		{"public keys only", publicPEM(t, ed.key)},
		{"the same private key twice", append(append([]byte{}, ed.pem...), ed.pem...)},
		{"a certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
		{"more than 64 KiB", bytes.Repeat(ed.pem, 1+maxKeyFile/len(ed.pem))},
	}
	for _, tc := range tests {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			ks, err := ParseKeySet(tc.blocks, "JWT_KEYS")
			if err == nil {
				t.Fatalf("ParseKeySet = %v; want an error", ks.Keys())
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error %q quotes key material", err)
			}
		})
	}
}
