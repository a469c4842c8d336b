package token

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// signer holds the key material of one signing algorithm. Access depends
// only on this, so asymmetric keys can be added beside HMAC without
// touching issuance or verification.
type signer interface {
	// method is the algorithm new tokens are signed with.
	method() jwt.SigningMethod
	signingKey() any
	// keyID is the kid header of new tokens; empty for none.
	keyID() string
	// algorithms are the alg values a token may carry to be verified at
	// all; verificationKey then pins the one its key requires.
	algorithms() []string
	// verificationKey returns the key to check t's signature with. It is a
	// jwt.Keyfunc and must refuse any token not made with method.
	verificationKey(t *jwt.Token) (any, error)
}

// hmacSigner signs with HS256.
type hmacSigner struct {
	key []byte
}

func newHMACSigner(secret []byte) (*hmacSigner, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("token: signing secret is %d bytes, want at least %d",
			len(secret), MinSecretLen)
	}
	// A copy, so that a caller reusing its buffer cannot change the key.
	return &hmacSigner{key: append([]byte(nil), secret...)}, nil
}

func (s *hmacSigner) method() jwt.SigningMethod { return jwt.SigningMethodHS256 }

func (s *hmacSigner) signingKey() any { return s.key }

// keyID is empty: there is one shared secret and nothing to select.
func (s *hmacSigner) keyID() string { return "" }

func (s *hmacSigner) algorithms() []string { return []string{jwt.SigningMethodHS256.Alg()} }

func (s *hmacSigner) verificationKey(t *jwt.Token) (any, error) {
	// The parser already limits the alg header to HS256; checking the
	// resolved method as well means a key is never handed to any other
	// implementation, whatever the parser options become.
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("%w: unexpected signing method", ErrInvalid)
	}
	return s.key, nil
}
