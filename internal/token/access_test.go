package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef-access")
	otherKey   = []byte("fedcba9876543210fedcba9876543210-other")
	// testNow is a fixed instant: tests control the clock through the now
	// argument and never read the wall clock.
	testNow = time.Date(2030, 5, 17, 9, 30, 15, 500_000_000, time.UTC)
)

var testSubject = Subject{UserID: "user-1", SessionID: "session-1", Email: "ada@example.com",
	Role: "USER"}

func newTestAccess(t testing.TB, leeway time.Duration) *Access {
	t.Helper()
	a, err := NewAccess(AccessOptions{
		Secret:   testSecret,
		Issuer:   "latchkey",
		Audience: "latchkey-users",
		TTL:      15 * time.Minute,
		Leeway:   leeway,
	})
	if err != nil {
		t.Fatalf("NewAccess: %v", err)
	}
	return a
}

// validClaims returns the claims Issue would make at testNow.
func validClaims() Claims {
	now := testNow.Truncate(time.Second)
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "latchkey",
			Subject:   "user-1",
			Audience:  jwt.ClaimStrings{"latchkey-users"},
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        "AAAAAAAAAAAAAAAAAAAAAA",
		},
		SessionID: "session-1",
		UserID:    "user-1",
		Email:     "ada@example.com",
		Role:      "USER",
	}
}

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign with %s: %v", method.Alg(), err)
	}
	return s
}

// hmacToken signs header and claims, given as JSON, with HS256 under key
// whatever the header says, the way an attacker crafting a token would.
func hmacToken(t testing.TB, header string, claims any, key []byte) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func TestNewAccessValidatesOptions(t *testing.T) {
	t.Parallel()
	valid := AccessOptions{Secret: testSecret, Issuer: "i", Audience: "a", TTL: time.Minute}
	tests := []struct {
		name   string
		change func(*AccessOptions)
	}{
		{"a 31-byte secret is refused", func(o *AccessOptions) { o.Secret = testSecret[:31] }},
		{"a missing secret is refused", func(o *AccessOptions) { o.Secret = nil }},
		{"an empty issuer is refused", func(o *AccessOptions) { o.Issuer = "" }},
		{"an empty audience is refused", func(o *AccessOptions) { o.Audience = "" }},
		{"a zero lifetime is refused", func(o *AccessOptions) { o.TTL = 0 }},
		{"a negative leeway is refused", func(o *AccessOptions) { o.Leeway = -time.Second }},
	}
	if _, err := NewAccess(valid); err != nil {
		t.Fatalf("NewAccess(valid options) = %v, want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := valid
			tt.change(&o)
			if _, err := NewAccess(o); err == nil {
				t.Errorf("NewAccess(%+v) = nil error, want one", o)
			}
		})
	}
}

func TestNewAccessCopiesTheSecret(t *testing.T) {
	t.Parallel()
	secret := append([]byte(nil), testSecret...)
	a, err := NewAccess(AccessOptions{Secret: secret, Issuer: "latchkey",
		Audience: "latchkey-users", TTL: time.Minute})
	if err != nil {
		t.Fatalf("NewAccess: %v", err)
	}
	tok, _, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	secret[0] ^= 0xff
	if _, err := a.Verify(tok, testNow); err != nil {
		t.Errorf("Verify after the caller changed its buffer = %v, want nil", err)
	}
}

func TestIssueAndVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	tok, expires, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := testNow.Add(15 * time.Minute).Truncate(time.Second); !expires.Equal(want) {
		t.Errorf("expires = %v, want %v", expires, want)
	}
	if got, want := a.TTL(), 15*time.Minute; got != want {
		t.Errorf("TTL() = %v, want %v", got, want)
	}

	claims, err := a.Verify(tok, testNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	checks := []struct{ field, got, want string }{
		{"sub", claims.Subject, testSubject.UserID},
		{"userId", claims.UserID, testSubject.UserID},
		{"sid", claims.SessionID, testSubject.SessionID},
		{"email", claims.Email, testSubject.Email},
		{"role", claims.Role, testSubject.Role},
		{"iss", claims.Issuer, "latchkey"},
		{"aud", strings.Join(claims.Audience, ","), "latchkey-users"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("claim %s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !claims.ExpiresAt.Equal(expires) {
		t.Errorf("exp = %v, want %v", claims.ExpiresAt, expires)
	}
	if want := testNow.Truncate(time.Second); !claims.IssuedAt.Equal(want) ||
		!claims.NotBefore.Equal(want) {
		t.Errorf("iat, nbf = %v, %v; want both %v", claims.IssuedAt, claims.NotBefore, want)
	}
	if id, err := base64.RawURLEncoding.DecodeString(claims.ID); err != nil || len(id) != 16 {
		t.Errorf("jti = %q, want 16 random bytes as base64url", claims.ID)
	}

	header, _, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(header)
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil || h["alg"] != "HS256" {
		t.Errorf("header = %s, want alg HS256", raw)
	}
}

func TestIssueGivesEachTokenItsOwnID(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	seen := make(map[string]bool)
	for range 100 {
		tok, _, err := a.Issue(testSubject, testNow)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		c, err := a.Verify(tok, testNow)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if seen[c.ID] {
			t.Fatalf("jti %q issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestIssueRequiresUserAndSession(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	for _, s := range []Subject{{SessionID: "s"}, {UserID: "u"}} {
		if tok, _, err := a.Issue(s, testNow); err == nil {
			t.Errorf("Issue(%+v) = %q, nil; want an error", s, tok)
		}
	}
}

func TestVerifyRefusesForgedTokens(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	good, _, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa key: %v", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa key: %v", err)
	}

	with := func(change func(*Claims)) Claims {
		c := validClaims()
		change(&c)
		return c
	}
	hs256 := func(c Claims) string { return sign(t, jwt.SigningMethodHS256, testSecret, c) }
	later := testNow.Add(time.Minute)

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			validClaims())},
		{"alg none in any case", hmacToken(t, `{"alg":"nOnE","typ":"JWT"}`, validClaims(),
			testSecret)},
		{"HS384 with the same key", sign(t, jwt.SigningMethodHS384, testSecret, validClaims())},
		{"HS512 with the same key", sign(t, jwt.SigningMethodHS512, testSecret, validClaims())},
		{"RS256 with a real RSA key", sign(t, jwt.SigningMethodRS256, rsaKey, validClaims())},
		{"an RS256 header over an HMAC of the secret", hmacToken(t,
			`{"alg":"RS256","typ":"JWT"}`, validClaims(), testSecret)},
		{"ES256 with a real key", sign(t, jwt.SigningMethodES256, ecKey, validClaims())},
		{"no alg header", hmacToken(t, `{"typ":"JWT"}`, validClaims(), testSecret)},
		{"the wrong key", sign(t, jwt.SigningMethodHS256, otherKey, validClaims())},
		{"an edited payload raising the role", editPayload(t, good, "role", "ADMIN")},
		{"an edited payload changing the user", editPayload(t, good, "sub", "user-2")},
		{"a signature with its spare bits flipped", flipLastChar(t, good)},
		{"a signature cut short", good[:len(good)-2]},
		{"a line break inside the signature", good[:len(good)-5] + "\n" + good[len(good)-5:]},
		{"a carriage return inside the signature", good[:len(good)-5] + "\r" +
			good[len(good)-5:]},
		{"a trailing line break", good + "\n"},
		{"padding after the signature", good + "="},
		{"no signature", good[:strings.LastIndex(good, ".")+1]},
		{"the wrong issuer", hs256(with(func(c *Claims) { c.Issuer = "someone-else" }))},
		{"no issuer", hs256(with(func(c *Claims) { c.Issuer = "" }))},
		{"the wrong audience", hs256(with(func(c *Claims) {
			c.Audience = jwt.ClaimStrings{"another-app"}
		}))},
		{"no audience", hs256(with(func(c *Claims) { c.Audience = nil }))},
		{"no sid", hs256(with(func(c *Claims) { c.SessionID = "" }))},
		{"no sub", hs256(with(func(c *Claims) { c.Subject = ""; c.UserID = "" }))},
		{"a userId differing from sub", hs256(with(func(c *Claims) { c.UserID = "user-2" }))},
		{"no jti", hs256(with(func(c *Claims) { c.ID = "" }))},
		{"no exp", hs256(with(func(c *Claims) { c.ExpiresAt = nil }))},
		{"iat in the future", hs256(with(func(c *Claims) {
			c.IssuedAt = jwt.NewNumericDate(later)
		}))},
		{"nbf in the future", hs256(with(func(c *Claims) {
			c.NotBefore = jwt.NewNumericDate(later)
		}))},
		{"an empty string", ""},
		{"garbage", "not a token"},
		{"three dots", "..."},
		{"two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"},
		{"four segments", good + ".x"},
		{"a header that is not JSON", "bm90IGpzb24." + good[strings.Index(good, ".")+1:]},
		{"a one megabyte token", hs256(with(func(c *Claims) {
			c.Email = strings.Repeat("a", 1<<20)
		}))},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			claims, err := a.Verify(tt.token, testNow)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify = %v, want ErrInvalid", err)
			}
			if errors.Is(err, ErrExpired) {
				t.Errorf("Verify = %v, want it not to wrap ErrExpired", err)
			}
			if claims.Subject != "" || claims.SessionID != "" || claims.Role != "" {
				t.Errorf("Verify returned claims %+v with the error, want none", claims)
			}
		})
	}

	if _, err := a.Verify(hs256(validClaims()), testNow); err != nil {
		t.Errorf("Verify(the unforged claims) = %v, want nil; the cases above prove nothing",
			err)
	}
}

// editPayload sets one claim of a signed token and keeps the old signature.
func editPayload(t testing.TB, tok, claim, value string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal payload: %v", err)
	}
	m[claim] = value
	raw, err = json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal payload: %v", err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// flipLastChar changes the two unused low bits of the signature's last
// base64 character, which a lax decoder would ignore.
func flipLastChar(t testing.TB, tok string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	if last < 0 || last&3 != 0 {
		t.Fatalf("signature ends in %q, want a canonical final character", tok[len(tok)-1])
	}
	return tok[:len(tok)-1] + string(alphabet[last|1])
}

func TestVerifyReportsExpiry(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	tok, expires, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	wrongAud := sign(t, jwt.SigningMethodHS256, testSecret, func() Claims {
		c := validClaims()
		c.Audience = jwt.ClaimStrings{"another-app"}
		return c
	}())
	wrongKey := sign(t, jwt.SigningMethodHS256, otherKey, validClaims())
	noSID := sign(t, jwt.SigningMethodHS256, testSecret, func() Claims {
		c := validClaims()
		c.SessionID = ""
		return c
	}())

	tests := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"a token is valid one second before its expiry", tok, expires.Add(-time.Second), nil},
		{"a token is expired at its expiry", tok, expires, ErrExpired},
		{"a token is expired long after its expiry", tok, expires.Add(24 * time.Hour),
			ErrExpired},
		{"an expired token with the wrong audience is invalid", wrongAud,
			expires.Add(time.Second), ErrInvalid},
		{"an expired token with the wrong key is invalid", wrongKey,
			expires.Add(time.Second), ErrInvalid},
		{"an expired token without sid is invalid", noSID, expires.Add(time.Second),
			ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Verify(tt.token, tt.at)
			if tt.want == nil {
				if err != nil {
					t.Errorf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if tt.want == ErrExpired && errors.Is(err, ErrInvalid) {
				t.Errorf("Verify = %v, want it not to wrap ErrInvalid", err)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	t.Parallel()
	issuer := newTestAccess(t, 0)
	tok, expires, err := issuer.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	issued := testNow.Truncate(time.Second)

	tests := []struct {
		name   string
		leeway time.Duration
		at     time.Time
		want   error
	}{
		{"without leeway a token is expired at its expiry", 0, expires, ErrExpired},
		{"leeway keeps a token valid just past its expiry", 30 * time.Second,
			expires.Add(20 * time.Second), nil},
		{"leeway ends", 30 * time.Second, expires.Add(30 * time.Second), ErrExpired},
		{"without leeway a token from a clock ahead is refused", 0,
			issued.Add(-time.Second), ErrInvalid},
		{"leeway accepts a token from a clock slightly ahead", 30 * time.Second,
			issued.Add(-20 * time.Second), nil},
		{"leeway does not cover a clock far ahead", 30 * time.Second,
			issued.Add(-31 * time.Second), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newTestAccess(t, tt.leeway).Verify(tok, tt.at)
			if tt.want == nil && err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	a := newTestAccess(f, 0)
	// The fuzzing engine runs this setup again in each worker, so the
	// accepted tokens are built from fixed claims rather than by Issue,
	// whose random jti would differ between processes.
	admin := validClaims()
	admin.Role, admin.ID = "ADMIN", "BBBBBBBBBBBBBBBBBBBBBB"
	issued := make(map[string]bool)
	for _, c := range []Claims{validClaims(), admin} {
		tok := sign(f, jwt.SigningMethodHS256, testSecret, c)
		if _, err := a.Verify(tok, testNow); err != nil {
			f.Fatalf("Verify(seed) = %v, want nil", err)
		}
		issued[tok] = true
		f.Add(tok)
		f.Add(editPayload(f, tok, "role", "OWNER"))
	}
	f.Add(sign(f, jwt.SigningMethodHS512, testSecret, validClaims()))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims()))
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")

	f.Fuzz(func(t *testing.T, s string) {
		claims, err := a.Verify(s, testNow)
		if err == nil && !issued[s] {
			t.Fatalf("Verify accepted %q, which was never issued (claims %+v)", s, claims)
		}
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify = %v, want ErrInvalid or ErrExpired", err)
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	a := newTestAccess(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := a.Issue(testSubject, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures the check of a token seen for the first time
// (parsing and the signature) and of one that verified before (the claims
// that depend on the time), which is what every later request of a client
// costs.
func BenchmarkVerify(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			a := newTestAccess(b, 0)
			if !cached {
				a.verified = nil
			}
			tok, _, err := a.Issue(testSubject, testNow)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(tok, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAVerifiedTokenIsJudgedAgainstTheTimeOnEveryUse(t *testing.T) {
	t.Parallel()
	for _, leeway := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprintf("leeway %s", leeway), func(t *testing.T) {
			t.Parallel()
			cached := newTestAccess(t, leeway)
			tok, expires, err := cached.Issue(testSubject, testNow)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if _, err := cached.Verify(tok, testNow); err != nil {
				t.Fatalf("first Verify = %v, want nil", err)
			}
			if _, ok := cached.verified.get(tok); !ok {
				t.Fatal("a token that verified was not remembered")
			}
			issued := testNow.Truncate(time.Second)
			// Each instant is judged by an Access that has never seen the
			// token, and the answers must agree.
			for _, at := range []time.Time{
				testNow, expires.Add(-time.Second), expires, expires.Add(leeway / 2),
				expires.Add(leeway), expires.Add(time.Hour), issued.Add(-time.Second),
				issued.Add(-leeway / 2), issued.Add(-leeway - time.Second),
			} {
				fresh := newTestAccess(t, leeway)
				fresh.verified = nil
				_, want := fresh.Verify(tok, at)
				_, got := cached.Verify(tok, at)
				if (got == nil) != (want == nil) || errors.Is(got, ErrExpired) !=
					errors.Is(want, ErrExpired) || errors.Is(got, ErrInvalid) !=
					errors.Is(want, ErrInvalid) {
					t.Errorf("at %s: cached Verify = %v, uncached %v", at, got, want)
				}
			}
		})
	}
}

func TestOnlyTokensThatVerifiedAreRemembered(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	forged := sign(t, jwt.SigningMethodHS256, otherKey, validClaims())
	for range 2 {
		if _, err := a.Verify(forged, testNow); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify(forged) = %v, want ErrInvalid", err)
		}
	}
	if _, ok := a.verified.get(forged); ok {
		t.Error("a forged token was remembered")
	}
}

func TestAFullVerifiedCacheStillVerifies(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	for i := range maxVerifiedTokens {
		a.verified.put(fmt.Sprint("live-", i), validClaims(), testNow.Add(time.Hour), testNow)
	}
	tok, _, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if _, err := a.Verify(tok, testNow); err != nil {
		t.Fatalf("Verify with a full cache = %v, want nil", err)
	}
	// Once the entries are dead, a sweep makes room again.
	later := testNow.Add(2 * time.Hour)
	tok, _, err = a.Issue(testSubject, later)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if _, err := a.Verify(tok, later); err != nil {
		t.Fatalf("Verify = %v, want nil", err)
	}
	if _, ok := a.verified.get(tok); !ok || len(a.verified.entries) != 1 {
		t.Errorf("after a sweep: remembered %v, %d entries; want the new token alone",
			ok, len(a.verified.entries))
	}
}
