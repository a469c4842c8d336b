package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the length of the key secrets are sealed with: AES-256.
const KeySize = 32

// sealVersion is the first byte of a sealed secret, so that a later format
// or key can be told apart from this one.
const sealVersion = 1

// sealLabel starts the additional data of every seal, so a ciphertext made
// for another purpose under the same key does not open as a TOTP secret.
const sealLabel = "latchkey totp secret v1\x00"

// ErrKeySize means the sealing key is not KeySize bytes.
var ErrKeySize = errors.New("mfa: encryption key must be 32 bytes")

// ErrSealed means a sealed secret did not open: it was damaged, sealed for
// another user, or sealed under another key.
var ErrSealed = errors.New("mfa: sealed secret does not open")

// Sealer encrypts TOTP secrets for storage with AES-256-GCM, so that a copy
// of the database alone does not reveal them. Each sealed value is bound to
// its user's id: copied onto another account's row it does not open. A
// Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer with key, which must be KeySize bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mfa: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mfa: cipher: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts the secret of user userID under a fresh random nonce. The
// result is the version byte, the nonce and the ciphertext with its tag.
func (s *Sealer) Seal(userID, secret string) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("mfa: nonce: %w", err)
	}
	return s.aead.Seal(out, nonce, []byte(secret), additional(userID)), nil
}

// Open decrypts a secret that Seal sealed for userID, or returns ErrSealed.
func (s *Sealer) Open(userID string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return "", ErrSealed
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additional(userID))
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}

func additional(userID string) []byte {
	return []byte(sealLabel + userID)
}
