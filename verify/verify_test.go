package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/verify"
)

const strongPassword = "Correct-horse9!"

// signingKey is a generated key with its private part, which the tests use
// to make tokens Latchkey would never issue.
type signingKey struct {
	*token.Key
	pem     []byte
	private crypto.Signer
}

func newSigningKey(t *testing.T, alg string) signingKey {
	t.Helper()
	k, p, err := token.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(p)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{Key: k, pem: p, private: priv.(crypto.Signer)}
}

func keySet(t *testing.T, keys ...signingKey) *token.KeySet {
	t.Helper()
	var ks []*token.Key
	for _, k := range keys {
		parsed, err := token.ParseKey(k.pem)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, parsed)
	}
	set, err := token.NewKeySet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// countingJWKS wraps a handler and counts the key set fetches it serves.
type countingJWKS struct {
	n atomic.Int64
}

func (c *countingJWKS) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" {
			c.n.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// register signs a new user up over HTTP and returns the access token.
func register(t *testing.T, baseURL, email string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": strongPassword})
	res, err := http.Post(baseURL+"/api/auth/register", "application/json",
		bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil ||
		res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: status %d, %v", email, res.StatusCode, err)
	}
	return out.AccessToken
}

func newVerifier(t *testing.T, o verify.Options) *verify.Verifier {
	t.Helper()
	if o.Issuer == "" {
		o.Issuer = testserver.Issuer
	}
	if o.Audience == "" {
		o.Audience = testserver.Audience
	}
	v, err := verify.New(o)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	return v
}

// claimsAt are valid Latchkey claims issued at now.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testserver.Issuer, "aud": []string{testserver.Audience}, "sub": "user-1",
		"userId": "user-1", "sid": "session-1", "jti": "id-1", "role": "USER",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, header, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func TestVerifierAcceptsLatchkeyTokensAndRefusesForgeries(t *testing.T) {
	t.Parallel()
	ours := newSigningKey(t, token.EdDSA)
	older := newSigningKey(t, token.ES256)
	foreign := newSigningKey(t, token.EdDSA)
	srv := testserver.Start(t, testserver.Options{Keys: keySet(t, older, ours)})
	v := newVerifier(t, verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json",
		Now: srv.Clock.Now})

	real := register(t, srv.URL, "ada@example.com")
	c, err := v.Verify(context.Background(), real)
	if err != nil {
		t.Fatalf("Verify(a token Latchkey issued) = %v", err)
	}
	if c.Email != "ada@example.com" || c.Role != "USER" || c.Subject == "" ||
		c.SessionID == "" || c.ID == "" {
		t.Errorf("claims = %+v, want Ada's user, session and token IDs", c)
	}
	if !c.ExpiresAt.Equal(srv.Clock.Now().Add(15 * time.Minute).Truncate(time.Second)) {
		t.Errorf("ExpiresAt = %v, want 15 minutes after issue", c.ExpiresAt)
	}

	now := srv.Clock.Now()
	valid := claimsAt(now)
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for key, val := range valid {
			c[key] = val
		}
		c[k] = v
		return c
	}
	kid := jwt.MapClaims{"kid": ours.ID}
	foreignJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": ours.ID,
		"x": base64.RawURLEncoding.EncodeToString(foreign.private.Public().(ed25519.PublicKey))}
	foreignJWKS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{foreignJWK}})
	}))
	t.Cleanup(foreignJWKS.Close)
	publicPEM, err := ours.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
	}{
		{"a token signed by a foreign key under our kid",
			sign(t, jwt.SigningMethodEdDSA, foreign.private, kid, valid)},
		{"a token signed by a foreign key under its own kid", sign(t, jwt.SigningMethodEdDSA,
			foreign.private, jwt.MapClaims{"kid": foreign.ID}, valid)},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid,
			valid)},
		{"alg none without a kid", sign(t, jwt.SigningMethodNone,
			jwt.UnsafeAllowNoneSignatureType, nil, valid)},
		{"HS256 keyed with our public key", sign(t, jwt.SigningMethodHS256, publicPEM, kid,
			valid)},
		{"HS256 keyed with the server's HMAC secret", sign(t, jwt.SigningMethodHS256,
			testserver.AccessSecret, nil, valid)},
		{"ES256 by our older key under the EdDSA key's kid", sign(t, jwt.SigningMethodES256,
			older.private, kid, valid)},
		{"a jku header pointing at a foreign key set", sign(t, jwt.SigningMethodEdDSA,
			foreign.private, jwt.MapClaims{"kid": ours.ID, "jku": foreignJWKS.URL}, valid)},
		{"a jwk header embedding a foreign key", sign(t, jwt.SigningMethodEdDSA,
			foreign.private, jwt.MapClaims{"kid": ours.ID, "jwk": foreignJWK}, valid)},
		{"a jku header on a token our key signed", sign(t, jwt.SigningMethodEdDSA,
			ours.private, jwt.MapClaims{"kid": ours.ID, "jku": foreignJWKS.URL}, valid)},
		{"an x5u header", sign(t, jwt.SigningMethodEdDSA, ours.private,
			jwt.MapClaims{"kid": ours.ID, "x5u": foreignJWKS.URL}, valid)},
		{"a wrong audience", sign(t, jwt.SigningMethodEdDSA, ours.private, kid,
			with("aud", []string{"another-service"}))},
		{"no audience", sign(t, jwt.SigningMethodEdDSA, ours.private, kid, with("aud", nil))},
		{"a wrong issuer", sign(t, jwt.SigningMethodEdDSA, ours.private, kid,
			with("iss", "https://attacker.example"))},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, ours.private, kid, with("exp", nil))},
		{"no sub", sign(t, jwt.SigningMethodEdDSA, ours.private, kid, with("sub", ""))},
		{"nbf in the future", sign(t, jwt.SigningMethodEdDSA, ours.private, kid,
			with("nbf", now.Add(time.Hour).Unix()))},
		{"an expired token with a wrong audience", sign(t, jwt.SigningMethodEdDSA,
			ours.private, kid, func() jwt.MapClaims {
				c := with("aud", []string{"another-service"})
				c["exp"] = now.Add(-time.Minute).Unix()
				return c
			}())},
		{"an edited payload", editClaim(t, real, "role", "ADMIN")},
		{"a line break in the signature", real[:len(real)-4] + "\n" + real[len(real)-4:]},
		{"garbage", "not.a.token"},
		{"an empty string", ""},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, verify.ErrInvalidToken) {
				t.Errorf("Verify = %+v, %v; want ErrInvalidToken", c, err)
			}
		})
	}

	for name, tok := range map[string]string{
		"the active key": sign(t, jwt.SigningMethodEdDSA, ours.private, kid, valid),
		"the older key": sign(t, jwt.SigningMethodES256, older.private,
			jwt.MapClaims{"kid": older.ID}, valid),
	} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("Verify(valid claims signed by %s) = %v; the cases above prove nothing",
				name, err)
		}
	}

	expired := sign(t, jwt.SigningMethodEdDSA, ours.private, kid,
		with("exp", now.Add(-time.Second).Unix()))
	if _, err := v.Verify(context.Background(), expired); !errors.Is(err, verify.ErrExpired) {
		t.Errorf("Verify(an expired token) = %v, want ErrExpired", err)
	}
	other := newVerifier(t, verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json",
		Audience: "another-service", Now: srv.Clock.Now})
	if _, err := other.Verify(context.Background(), real); !errors.Is(err,
		verify.ErrInvalidToken) {
		t.Errorf("a verifier for another audience: %v, want ErrInvalidToken", err)
	}
}

// editClaim changes one claim of a signed token and keeps its signature.
func editClaim(t *testing.T, tok, claim string, value any) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[claim] = value
	raw, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// switchable forwards to whichever backend it was last pointed at, like a
// load balancer in front of a deployment being restarted.
type switchable struct {
	mu     sync.Mutex
	target *httputil.ReverseProxy
}

func (s *switchable) point(t *testing.T, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = httputil.NewSingleHostReverseProxy(u)
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.target
	s.mu.Unlock()
	p.ServeHTTP(w, r)
}

// TestRotation runs Latchkey with one key, then restarts it with a newer
// key beside the old one, and checks through the JWKS that tokens signed
// before the rotation keep verifying until they expire, while tokens of the
// new key verify at once.
func TestRotation(t *testing.T) {
	t.Parallel()
	first := newSigningKey(t, token.EdDSA)
	second := newSigningKey(t, token.ES256)

	before := testserver.Start(t, testserver.Options{Keys: keySet(t, first)})
	after := testserver.Start(t, testserver.Options{Store: before.Store,
		Keys: keySet(t, first, second)})
	lb := &switchable{}
	lb.point(t, before.URL)
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)

	clock := testserver.NewClock(time.Now())
	var fetches countingJWKS
	jwks := httptest.NewServer(fetches.wrap(lb))
	t.Cleanup(jwks.Close)
	v := newVerifier(t, verify.Options{JWKSURL: jwks.URL + "/.well-known/jwks.json",
		Now: clock.Now, MinRefetchInterval: time.Second})

	old := register(t, front.URL, "before@example.com")
	oldClaims, err := v.Verify(context.Background(), old)
	if err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	lb.point(t, after.URL)
	clock.Advance(time.Second)
	fresh := register(t, front.URL, "after@example.com")
	if got := headerOf(t, fresh)["kid"]; got != second.ID {
		t.Fatalf("after the rotation the kid is %v, want the new key %s", got, second.ID)
	}
	if _, err := v.Verify(context.Background(), fresh); err != nil {
		t.Errorf("a token of the new key: %v, want it verified after a refetch", err)
	}
	if got := fetches.n.Load(); got != 2 {
		t.Errorf("%d key set fetches, want 2: one at first use, one for the new kid", got)
	}

	clock.Advance(oldClaims.ExpiresAt.Sub(clock.Now()) - time.Second)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Errorf("an old token a second before its expiry: %v, want it verified", err)
	}
	clock.Advance(2 * time.Second)
	if _, err := v.Verify(context.Background(), old); !errors.Is(err, verify.ErrExpired) {
		t.Errorf("an old token after its expiry: %v, want ErrExpired", err)
	}

	// Latchkey itself, restarted with the new set, still honours the old
	// token too.
	req, _ := http.NewRequest("GET", front.URL+"/api/auth/profile", nil)
	req.Header.Set("Authorization", "Bearer "+old)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("profile with a token signed before the rotation: %d, want 200",
			res.StatusCode)
	}
}

func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestUnknownKidsRefetchAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	ours := newSigningKey(t, token.EdDSA)
	var fetches countingJWKS
	srv := testserver.Start(t, testserver.Options{Keys: keySet(t, ours), Wrap: fetches.wrap})
	clock := testserver.NewClock(srv.Clock.Now())
	v := newVerifier(t, verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json",
		Now: clock.Now, MinRefetchInterval: time.Minute})

	if _, err := v.Verify(context.Background(), register(t, srv.URL, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := fetches.n.Load(); got != 1 {
		t.Fatalf("%d fetches after the first use, want 1", got)
	}
	// Within the interval of the first fetch, unknown kids fetch nothing;
	// once it has passed, twenty of them fetch once.
	stranger := newSigningKey(t, token.EdDSA)
	early := sign(t, jwt.SigningMethodEdDSA, stranger.private, jwt.MapClaims{"kid": "early"},
		claimsAt(clock.Now()))
	if _, err := v.Verify(context.Background(), early); !errors.Is(err,
		verify.ErrInvalidToken) {
		t.Fatalf("forged token: %v, want ErrInvalidToken", err)
	}
	if got := fetches.n.Load(); got != 1 {
		t.Errorf("%d fetches after an unknown kid within the interval, want 1", got)
	}
	clock.Advance(time.Minute)
	for i := range 20 {
		forged := sign(t, jwt.SigningMethodEdDSA, stranger.private,
			jwt.MapClaims{"kid": "unknown-" + string(rune('a'+i))}, claimsAt(clock.Now()))
		if _, err := v.Verify(context.Background(), forged); !errors.Is(err,
			verify.ErrInvalidToken) {
			t.Fatalf("forged token %d: %v, want ErrInvalidToken", i, err)
		}
	}
	if got := fetches.n.Load(); got != 2 {
		t.Errorf("%d fetches after twenty unknown kids, want 2: the first use and one refetch",
			got)
	}
	clock.Advance(time.Minute)
	forged := sign(t, jwt.SigningMethodEdDSA, stranger.private, jwt.MapClaims{"kid": "later"},
		claimsAt(clock.Now()))
	v.Verify(context.Background(), forged)
	if got := fetches.n.Load(); got != 3 {
		t.Errorf("%d fetches once the interval passed, want 3", got)
	}
}

func TestCachedKeysAreRefetchedWhenStale(t *testing.T) {
	t.Parallel()
	ours := newSigningKey(t, token.EdDSA)
	var fetches countingJWKS
	srv := testserver.Start(t, testserver.Options{Keys: keySet(t, ours), Wrap: fetches.wrap})
	clock := testserver.NewClock(srv.Clock.Now())
	v := newVerifier(t, verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json",
		Now: clock.Now})
	tok := register(t, srv.URL, "a@example.com")

	for range 5 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := fetches.n.Load(); got != 1 {
		t.Fatalf("%d fetches for five verifications, want 1", got)
	}
	// Latchkey sends max-age=300; past it, the next use refreshes in the
	// background and still verifies with the cached key.
	clock.Advance(301 * time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fetches.n.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := fetches.n.Load(); got != 2 {
		t.Errorf("%d fetches after the set went stale, want 2", got)
	}
}

func TestKeysUnavailable(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tests := []struct {
		name string
		url  string
	}{
		{"an unreachable server", down.URL + "/.well-known/jwks.json"},
		{"an HS256 Latchkey, which has no key set", testserver.Start(t,
			testserver.Options{}).URL + "/.well-known/jwks.json"},
	}
	ours := newSigningKey(t, token.EdDSA)
	tok := sign(t, jwt.SigningMethodEdDSA, ours.private, jwt.MapClaims{"kid": ours.ID},
		claimsAt(time.Now()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, verify.Options{JWKSURL: tt.url, FetchTimeout: 5 * time.Second})
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err,
				verify.ErrKeysUnavailable) {
				t.Errorf("Verify = %v, want ErrKeysUnavailable", err)
			}
			if err := v.Refresh(context.Background()); err == nil {
				t.Error("Refresh = nil, want the fetch error")
			}
		})
	}
}

func TestSecretMode(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	v := newVerifier(t, verify.Options{Secret: testserver.AccessSecret, Now: srv.Clock.Now})
	tok := register(t, srv.URL, "hs@example.com")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify(an HS256 Latchkey token) = %v", err)
	}

	ed := newSigningKey(t, token.EdDSA)
	valid := claimsAt(srv.Clock.Now())
	for name, forged := range map[string]string{
		"another secret": sign(t, jwt.SigningMethodHS256,
			[]byte(strings.Repeat("x", 40)), nil, valid),
		"HS512 with the secret": sign(t, jwt.SigningMethodHS512, testserver.AccessSecret, nil,
			valid),
		"an EdDSA token": sign(t, jwt.SigningMethodEdDSA, ed.private,
			jwt.MapClaims{"kid": ed.ID}, valid),
		"a jwk header": sign(t, jwt.SigningMethodHS256, testserver.AccessSecret,
			jwt.MapClaims{"jwk": map[string]string{"kty": "oct", "k": "AAAA"}}, valid),
	} {
		if _, err := v.Verify(context.Background(), forged); !errors.Is(err,
			verify.ErrInvalidToken) {
			t.Errorf("Verify(%s) = %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("s", 32))
	tests := []struct {
		name string
		o    verify.Options
	}{
		{"neither a URL nor a secret", verify.Options{Issuer: "i", Audience: "a"}},
		{"both a URL and a secret", verify.Options{Issuer: "i", Audience: "a",
			JWKSURL: "https://auth.example/.well-known/jwks.json", Secret: secret}},
		{"a short secret", verify.Options{Issuer: "i", Audience: "a", Secret: secret[:31]}},
		{"no issuer", verify.Options{Audience: "a", Secret: secret}},
		{"no audience", verify.Options{Issuer: "i", Secret: secret}},
		{"a negative leeway", verify.Options{Issuer: "i", Audience: "a", Secret: secret,
			Leeway: -time.Second}},
		{"a URL that is not http", verify.Options{Issuer: "i", Audience: "a",
			JWKSURL: "file:///etc/jwks.json"}},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := verify.New(tt.o); err == nil {
				t.Errorf("New(%+v) = nil error, want one", tt.o)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	ours := newSigningKey(t, token.EdDSA)
	srv := testserver.Start(t, testserver.Options{Keys: keySet(t, ours)})
	admin := srv.CreateUser(t, "admin@example.com", strongPassword, "ADMIN")
	v := newVerifier(t, verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json",
		Now: srv.Clock.Now})

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, c.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("/hello", v.Middleware(hello))
	mux.Handle("/admin", v.Middleware(verify.RequireRole("ADMIN")(hello)))
	mux.Handle("/unguarded-admin", verify.RequireRole("ADMIN")(hello))
	rs := httptest.NewServer(mux)
	t.Cleanup(rs.Close)

	user := register(t, srv.URL, "user@example.com")
	userID := subjectOf(t, v, user)
	adminTok := login(t, srv.URL, "admin@example.com")
	expired := sign(t, jwt.SigningMethodEdDSA, ours.private, jwt.MapClaims{"kid": ours.ID},
		func() jwt.MapClaims {
			c := claimsAt(srv.Clock.Now().Add(-time.Hour))
			return c
		}())

	tests := []struct {
		name, path, auth string
		status           int
		code, body       string
		challenge        string
	}{
		{"a valid token reaches the handler with its claims", "/hello", "Bearer " + user,
			200, "", userID, ""},
		{"the scheme is case-insensitive", "/hello", "bearer " + user, 200, "", userID, ""},
		{"no token gets a challenge", "/hello", "", 401, "invalid_token", "", "Bearer"},
		{"a basic credential is no bearer token", "/hello", "Basic dXNlcjpwYXNz", 401,
			"invalid_token", "", "Bearer"},
		{"an invalid token", "/hello", "Bearer " + user + "x", 401, "invalid_token", "",
			`error="invalid_token"`},
		{"an expired token says so", "/hello", "Bearer " + expired, 401, "invalid_token", "",
			"expired"},
		{"a user is refused the admin route", "/admin", "Bearer " + user, 403,
			"insufficient_role", "", ""},
		{"an admin passes the admin route", "/admin", "Bearer " + adminTok, 200, "",
			admin.ID, ""},
		{"RequireRole without Middleware refuses", "/unguarded-admin", "Bearer " + adminTok,
			401, "invalid_token", "", "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("GET", rs.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, raw, tt.status)
			}
			if tt.code != "" {
				var e struct{ Error, Code string }
				if err := json.Unmarshal(raw, &e); err != nil || e.Code != tt.code ||
					e.Error == "" {
					t.Errorf("body %s, want code %s with a message", raw, tt.code)
				}
			}
			if tt.body != "" && string(raw) != tt.body {
				t.Errorf("body %q, want %q", raw, tt.body)
			}
			if ch := res.Header.Get("WWW-Authenticate"); !strings.Contains(ch, tt.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", ch, tt.challenge)
			}
		})
	}
}

func TestMiddlewareAnswers503WhenKeysAreUnavailable(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	v := newVerifier(t, verify.Options{JWKSURL: down.URL + "/jwks.json"})
	ours := newSigningKey(t, token.EdDSA)
	tok := sign(t, jwt.SigningMethodEdDSA, ours.private, jwt.MapClaims{"kid": ours.ID},
		claimsAt(time.Now()))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	v.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code,
			rec.Header().Get("Retry-After"))
	}
}

func subjectOf(t *testing.T, v *verify.Verifier, tok string) string {
	t.Helper()
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject
}

func login(t *testing.T, baseURL, email string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": strongPassword})
	res, err := http.Post(baseURL+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("login %s: status %d, %v", email, res.StatusCode, err)
	}
	return out.AccessToken
}
