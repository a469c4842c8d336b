package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// opaqueBytes is the entropy of an opaque token: 256 bits.
const opaqueBytes = 32

// OpaqueLen is the length of an opaque token: 32 bytes as unpadded base64url.
const OpaqueLen = 43

// NewOpaque returns a fresh token of 32 random bytes (crypto/rand) as
// unpadded base64url.
func NewOpaque() (string, error) {
	var b [opaqueBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// WellFormed reports whether tok looks like an opaque token (43 base64url
// characters in canonical form), to refuse garbage before hashing it.
func WellFormed(tok string) bool {
	if len(tok) != OpaqueLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if decodeChar(tok[i]) < 0 {
			return false
		}
	}
	// 43 characters carry 258 bits; an encoder of 32 bytes leaves the last
	// two at zero, so any other value is not one of ours.
	return decodeChar(tok[OpaqueLen-1])&0b11 == 0
}

// decodeChar returns the value of a base64url character, or -1.
func decodeChar(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// Labels of the subkeys derived from the secret. Distinct labels make the
// stored hash of a token and the token that succeeds it unrelated values.
const (
	hashLabel      = "latchkey opaque token hash v1"
	successorLabel = "latchkey refresh token successor v1"
)

// Keyed computes keyed hashes of opaque tokens, so that a leaked database
// alone neither reveals live tokens nor lets anyone check guesses. It is
// safe for concurrent use.
type Keyed struct {
	hashKey      []byte
	successorKey []byte
}

// NewKeyed derives the hashing keys from secret, the refresh/pepper secret,
// which must be at least MinSecretLen bytes.
func NewKeyed(secret []byte) (*Keyed, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("token: hashing secret is %d bytes, want at least %d",
			len(secret), MinSecretLen)
	}
	hashKey, err := hkdf.Key(sha256.New, secret, nil, hashLabel, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("token: derive hash key: %w", err)
	}
	successorKey, err := hkdf.Key(sha256.New, secret, nil, successorLabel, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("token: derive successor key: %w", err)
	}
	return &Keyed{hashKey: hashKey, successorKey: successorKey}, nil
}

// Hash returns the keyed hash (HMAC-SHA256 under a subkey derived for
// hashing) of tok as 64 lower-case hex characters, the form stored in the
// database.
func (k *Keyed) Hash(tok string) string {
	return hex.EncodeToString(mac(k.hashKey, tok))
}

// Successor derives the refresh token that follows tok in its rotation
// family (HMAC-SHA256 under a different derived subkey, base64url), so the
// same parent always yields the same successor and nothing secret is stored.
// The successor is itself a well-formed opaque token.
func (k *Keyed) Successor(tok string) string {
	return base64.RawURLEncoding.EncodeToString(mac(k.successorKey, tok))
}

func mac(key []byte, tok string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tok))
	return m.Sum(nil)
}
