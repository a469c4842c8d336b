// Package token issues and verifies access tokens (JWTs) and makes the
// opaque tokens used for refresh, email verification and password reset,
// together with the keyed hashes under which those are stored.
package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalid means a token is malformed, forged, or fails a claim check.
	ErrInvalid = errors.New("token: invalid")
	// ErrExpired means a token is genuine and otherwise valid but past its
	// expiry.
	ErrExpired = errors.New("token: expired")
)

// MaxLength is the longest access token Verify will parse. Real ones are a
// few hundred bytes; the cap keeps a hostile header from costing more.
const MaxLength = 8 << 10

// MinSecretLen is the shortest secret accepted for signing and for keyed
// hashes: 256 bits.
const MinSecretLen = 32

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	// UserID repeats the subject for clients that read userId.
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Role   string `json:"role"`
}

// Subject is who an access token is issued to.
type Subject struct {
	UserID, SessionID, Email, Role string
}

// AccessOptions configure an Access.
type AccessOptions struct {
	// Secret is the HS256 key, at least MinSecretLen bytes. It is used only
	// when Keys is nil.
	Secret []byte
	// Keys, when set, signs with the set's active key (EdDSA, ES256 or
	// RS256, with a kid) and verifies with any key of the set; HS256 tokens
	// are then refused.
	Keys     *KeySet
	Issuer   string
	Audience string
	// TTL is the lifetime of issued tokens.
	TTL time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat; default 0.
	Leeway time.Duration
}

// Access issues and verifies access tokens. It is safe for concurrent use.
type Access struct {
	signer   signer
	issuer   string
	audience string
	ttl      time.Duration
	leeway   time.Duration
	jwks     []byte // nil in HS256 mode
	// verified caches tokens that passed every check but the ones that
	// depend on the time; nil disables it.
	verified *verifiedTokens
}

// NewAccess validates o and returns an Access.
func NewAccess(o AccessOptions) (*Access, error) {
	var s signer
	if o.Keys != nil {
		s = newKeySigner(o.Keys)
	} else {
		hs, err := newHMACSigner(o.Secret)
		if err != nil {
			return nil, err
		}
		s = hs
	}
	switch {
	case o.Issuer == "":
		return nil, errors.New("token: issuer is empty")
	case o.Audience == "":
		return nil, errors.New("token: audience is empty")
	case o.TTL < time.Second:
		return nil, fmt.Errorf("token: lifetime %s is shorter than a second", o.TTL)
	case o.Leeway < 0:
		return nil, fmt.Errorf("token: leeway %s is negative", o.Leeway)
	}
	a := &Access{
		signer:   s,
		issuer:   o.Issuer,
		audience: o.Audience,
		ttl:      o.TTL,
		leeway:   o.Leeway,
		verified: newVerifiedTokens(),
	}
	if o.Keys != nil {
		a.jwks = o.Keys.JWKS()
	}
	return a, nil
}

// TTL returns the lifetime of issued tokens.
func (a *Access) TTL() time.Duration { return a.ttl }

// JWKS returns the public keys that verify access tokens as a JSON Web Key
// Set, and false when tokens are signed with the HS256 secret, which is
// never published.
func (a *Access) JWKS() ([]byte, bool) {
	if a.jwks == nil {
		return nil, false
	}
	return slices.Clone(a.jwks), true
}

// Issue signs an access token for s, valid from now for the configured TTL,
// and returns it with its expiry (the exp claim, whole seconds).
func (a *Access) Issue(s Subject, now time.Time) (token string, expires time.Time, err error) {
	if s.UserID == "" || s.SessionID == "" {
		return "", time.Time{}, errors.New("token: subject needs a user and a session")
	}
	jti, err := newID()
	if err != nil {
		return "", time.Time{}, err
	}

	// JWT times are whole seconds; truncating here keeps the returned expiry
	// equal to the claim.
	issued := now.Truncate(time.Second)
	expires = now.Add(a.ttl).Truncate(time.Second)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer,
			Subject:   s.UserID,
			Audience:  jwt.ClaimStrings{a.audience},
			ExpiresAt: jwt.NewNumericDate(expires),
			NotBefore: jwt.NewNumericDate(issued),
			IssuedAt:  jwt.NewNumericDate(issued),
			ID:        jti,
		},
		SessionID: s.SessionID,
		UserID:    s.UserID,
		Email:     s.Email,
		Role:      s.Role,
	}

	t := jwt.NewWithClaims(a.signer.method(), claims)
	if kid := a.signer.keyID(); kid != "" {
		t.Header["kid"] = kid
	}
	token, err = t.SignedString(a.signer.signingKey())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: sign: %w", err)
	}
	return token, expires, nil
}

// Verify checks signature, that alg is exactly the configured one (never
// taken from the token: alg none, RS256, ES256, other HMAC sizes are
// refused), iss, aud, exp, nbf, iat not in the future beyond leeway, and that
// sub, sid and jti are present. With a KeySet, the key is the one of our own
// set that kid names, and alg must be that key's algorithm; a header that
// points at or embeds a key (jku, x5u, jwk, x5c) is refused. The error wraps
// ErrExpired for a token that is valid but for its expiry, and ErrInvalid
// for anything else.
//
// A token that passed is remembered by its exact text, and when it comes
// again only the checks that depend on now (exp, nbf, iat) run again; see
// verifiedTokens.
func (a *Access) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > MaxLength {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLength)
	}
	if a.verified != nil {
		if claims, ok := a.verified.get(token); ok {
			return a.recheck(claims, now)
		}
	}
	if !compactForm(token) {
		return Claims{}, fmt.Errorf("%w: characters outside base64url", ErrInvalid)
	}

	var claims Claims
	_, err := a.parser(now).ParseWithClaims(token, &claims, a.keyFunc)
	if err != nil {
		if a.expiredOnly(err, claims, now) {
			return Claims{}, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkIdentity(claims); err != nil {
		return Claims{}, err
	}
	if a.verified != nil {
		a.verified.put(token, claims, claims.ExpiresAt.Add(a.leeway), now)
	}
	return claims, nil
}

// recheck runs the claims checks that depend on the time again, on the
// claims of a token that passed every check before: a cached token is
// accepted exactly when parsing it afresh would accept it.
func (a *Access) recheck(claims Claims, now time.Time) (Claims, error) {
	err := jwt.NewValidator(append(a.validatorOptions(now),
		jwt.WithExpirationRequired())...).Validate(claims)
	if err == nil {
		return claims, nil
	}
	if a.expiredOnly(err, claims, now) {
		return Claims{}, fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
}

// keyFunc refuses foreign key headers before the signer picks a key, so no
// signer can be made to look at them.
func (a *Access) keyFunc(t *jwt.Token) (any, error) {
	if err := checkHeader(t.Header); err != nil {
		return nil, err
	}
	return a.signer.verificationKey(t)
}

// parser checks everything validatorOptions does, plus the algorithm, a
// required exp and canonical base64, so that no second encoding of a token
// verifies.
func (a *Access) parser(now time.Time) *jwt.Parser {
	opts := append(a.validatorOptions(now),
		jwt.WithValidMethods(a.signer.algorithms()),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(),
	)
	return jwt.NewParser(opts...)
}

// expiredOnly reports whether err, from verifying a token whose signature
// held, is about expiry alone: the same claims without exp pass every other
// check. Only then is the token reported as expired rather than invalid,
// so that a client refreshes instead of signing in again.
func (a *Access) expiredOnly(err error, claims Claims, now time.Time) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) || claims.ExpiresAt == nil {
		return false
	}
	rest := claims
	rest.ExpiresAt = nil
	if jwt.NewValidator(a.validatorOptions(now)...).Validate(rest) != nil {
		return false
	}
	return checkIdentity(claims) == nil
}

func (a *Access) validatorOptions(now time.Time) []jwt.ParserOption {
	return []jwt.ParserOption{
		jwt.WithIssuer(a.issuer),
		jwt.WithAudience(a.audience),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(a.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
}

// compactForm reports whether s has only the characters of a JWS compact
// serialization. Base64 decoders skip line breaks, so without this check a
// token with one inserted would still verify: a second spelling of the same
// token that could slip past a revocation list keyed on the string.
func compactForm(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && decodeChar(s[i]) < 0 {
			return false
		}
	}
	return true
}

// checkIdentity requires the claims that tie a token to a user, a session
// and an identity of its own.
func checkIdentity(c Claims) error {
	switch {
	case c.Subject == "":
		return fmt.Errorf("%w: no sub claim", ErrInvalid)
	case c.SessionID == "":
		return fmt.Errorf("%w: no sid claim", ErrInvalid)
	case c.ID == "":
		return fmt.Errorf("%w: no jti claim", ErrInvalid)
	case c.UserID != c.Subject:
		return fmt.Errorf("%w: userId differs from sub", ErrInvalid)
	}
	return nil
}

// newID returns a random 128-bit identifier, base64url encoded.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
