// Package verify lets other services trust Latchkey's access tokens. It is
// net/http middleware for resource servers: it checks the bearer token of
// each request against Latchkey's published keys (a JWKS URL, fetched and
// cached) or, where Latchkey signs with HS256, against the shared secret;
// checks the issuer, the audience and the expiry; and puts the token's
// claims in the request context for handlers and for RequireRole.
//
// Keys are selected by the token's kid from the fetched set only, never from
// a jku, x5u, x5c or jwk header, and a token's alg must be the one its key
// signs with; tokens carrying those headers are refused outright. A kid
// that is not in the cached set causes one refetch, at most every
// MinRefetchInterval, so a key rotation is picked up at once and a flood of
// forged kids costs Latchkey nothing.
//
// # Revocation
//
// The verifier checks a token's signature and claims, not Latchkey's
// sessions: it cannot know that a session was ended by logout, a password
// reset or an administrator. A revoked session's access token keeps
// working at a resource server until it expires. That is the usual trade-off
// of self-contained tokens, and why access tokens are short-lived
// (ACCESS_TOKEN_EXPIRY, 15 minutes by default): the lifetime is the bound
// on revocation delay. A route that must see revocation at once can instead
// pass the caller's token to Latchkey's GET /api/auth/profile, which checks
// the session on every call.
package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalidToken means a token is missing, malformed, forged, signed
	// by a key we do not hold, or fails a claim check.
	ErrInvalidToken = errors.New("verify: invalid token")
	// ErrExpired means a token is genuine but past its expiry: the client
	// should refresh it.
	ErrExpired = errors.New("verify: token expired")
	// ErrKeysUnavailable means no key set could be fetched yet, so nothing
	// can be verified: an outage, not a bad token.
	ErrKeysUnavailable = errors.New("verify: signing keys unavailable")
)

// Defaults for the zero values of Options.
const (
	DefaultFetchTimeout       = 10 * time.Second
	DefaultMinRefetchInterval = 10 * time.Second
	DefaultCacheTTL           = 5 * time.Minute
)

// maxTokenLength is the longest token Verify parses; real ones are a few
// hundred bytes.
const maxTokenLength = 8 << 10

// minSecretLen is the shortest HS256 secret accepted: 256 bits, as
// Latchkey requires.
const minSecretLen = 32

// Options configure a Verifier. Set exactly one of JWKSURL and Secret.
type Options struct {
	// JWKSURL is the key set Latchkey publishes, such as
	// https://auth.example.com/.well-known/jwks.json.
	JWKSURL string
	// Secret is Latchkey's JWT_ACCESS_SECRET, for a deployment that signs
	// with HS256. Anyone holding it can mint tokens, so prefer JWKSURL.
	Secret []byte

	// Issuer and Audience must equal Latchkey's JWT_ISSUER and JWT_AUDIENCE
	// ("latchkey" and "latchkey-users" unless configured otherwise).
	Issuer   string
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration

	// HTTPClient fetches the key set; by default a client with a
	// FetchTimeout timeout.
	HTTPClient *http.Client
	// FetchTimeout bounds one fetch of the key set.
	FetchTimeout time.Duration
	// CacheTTL is how long a fetched key set is used before it is fetched
	// again. When zero, the server's Cache-Control max-age is used, between
	// one minute and one day, or DefaultCacheTTL without one.
	CacheTTL time.Duration
	// MinRefetchInterval is the least time between two fetches caused by
	// an unknown kid or a failed fetch.
	MinRefetchInterval time.Duration

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
	secret   []byte    // HS256 mode
	keys     *keyCache // JWKS mode
	methods  []string  // algorithms a token may name at all
}

// New validates o and returns a Verifier. It fetches nothing yet: the
// key set is fetched on first use, or by Refresh.
func New(o Options) (*Verifier, error) {
	switch {
	case o.Issuer == "":
		return nil, errors.New("verify: Issuer is empty")
	case o.Audience == "":
		return nil, errors.New("verify: Audience is empty")
	case o.Leeway < 0:
		return nil, errors.New("verify: Leeway is negative")
	case (o.JWKSURL == "") == (o.Secret == nil):
		return nil, errors.New("verify: set exactly one of JWKSURL and Secret")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &Verifier{issuer: o.Issuer, audience: o.Audience, leeway: o.Leeway, now: o.Now}

	if o.Secret != nil {
		if len(o.Secret) < minSecretLen {
			return nil, fmt.Errorf("verify: Secret is %d bytes, want at least %d",
				len(o.Secret), minSecretLen)
		}
		v.secret = append([]byte(nil), o.Secret...)
		v.methods = []string{jwt.SigningMethodHS256.Alg()}
		return v, nil
	}

	u, err := url.Parse(o.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("verify: JWKSURL %q is not an http(s) URL", o.JWKSURL)
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MinRefetchInterval <= 0 {
		o.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.FetchTimeout}
	}
	v.keys = newKeyCache(o)
	v.methods = []string{"EdDSA", "ES256", "RS256"}
	return v, nil
}

// Refresh fetches the key set now, for a service that wants to fail at
// start when Latchkey cannot be reached. It does nothing in HS256 mode.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.keys == nil {
		return nil
	}
	return v.keys.fetch(ctx)
}

// Claims are the verified claims of an access token.
type Claims struct {
	Subject   string    // sub: the user's ID
	SessionID string    // sid: the Latchkey session the token belongs to
	Email     string    // the user's email when the token was issued
	Role      string    // the user's role when the token was issued, such as USER or ADMIN
	Issuer    string    // iss
	Audience  []string  // aud
	ID        string    // jti: unique per token
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

// tokenClaims is the wire form of Claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Email     string `json:"email"`
	Role      string `json:"role"`
}

// Verify checks tok and returns its claims. The error wraps ErrExpired for
// a genuine token past its expiry, ErrKeysUnavailable when the key set
// could not be fetched, and ErrInvalidToken otherwise.
func (v *Verifier) Verify(ctx context.Context, tok string) (*Claims, error) {
	if tok == "" || len(tok) > maxTokenLength || !compactForm(tok) {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	now := v.now()
	parser := jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	)

	var tc tokenClaims
	_, err := parser.ParseWithClaims(tok, &tc, func(t *jwt.Token) (any, error) {
		return v.key(ctx, t)
	})
	switch {
	case errors.Is(err, ErrKeysUnavailable):
		return nil, err
	case errors.Is(err, jwt.ErrTokenExpired) && onlyExpired(err):
		return nil, fmt.Errorf("%w: %w", ErrExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	case tc.Subject == "":
		return nil, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}

	c := &Claims{
		Subject:   tc.Subject,
		SessionID: tc.SessionID,
		Email:     tc.Email,
		Role:      tc.Role,
		Issuer:    tc.Issuer,
		Audience:  tc.Audience,
		ID:        tc.ID,
		ExpiresAt: tc.ExpiresAt.Time,
	}
	if tc.IssuedAt != nil {
		c.IssuedAt = tc.IssuedAt.Time
	}
	return c, nil
}

// onlyExpired reports whether err, from a token whose signature held,
// names no failed check but expiry: golang-jwt joins every failed claim
// check into one error.
func onlyExpired(err error) bool {
	for _, other := range []error{jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidAudience,
		jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenUnverifiable, jwt.ErrTokenMalformed, jwt.ErrTokenRequiredClaimMissing} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// foreignKeyHeaders point at or embed a key, or (crit) name extensions a
// verifier would have to understand. Latchkey's tokens carry none.
var foreignKeyHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit"}

// key is the jwt.Keyfunc: the key of our own set that kid names, provided
// the token's alg is that key's algorithm.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	for _, h := range foreignKeyHeaders {
		if _, ok := t.Header[h]; ok {
			return nil, fmt.Errorf("%w: %s header", ErrInvalidToken, h)
		}
	}
	if v.secret != nil {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("%w: alg is not HS256", ErrInvalidToken)
		}
		return v.secret, nil
	}

	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, fmt.Errorf("%w: no kid header", ErrInvalidToken)
	}
	k, err := v.keys.get(ctx, kid)
	if err != nil {
		return nil, err
	}
	if t.Method.Alg() != k.alg {
		return nil, fmt.Errorf("%w: alg %s does not match the key's %s", ErrInvalidToken,
			t.Method.Alg(), k.alg)
	}
	return k.public, nil
}

// publicKey is one usable key of the fetched set.
type publicKey struct {
	public crypto.PublicKey
	alg    string
}

// compactForm reports whether s has only the characters of a JWS compact
// serialization, so that no second spelling of a token (with inserted line
// breaks, which base64 decoders skip) verifies.
func compactForm(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
