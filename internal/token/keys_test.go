package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys caches one generated key per algorithm: RSA generation is slow
// and the tests only need distinct keys, not fresh ones.
var testKeys = map[string]struct {
	key *Key
	pem []byte
}{}

func init() {
	for _, alg := range []string{EdDSA, ES256, RS256} {
		k, p, err := GenerateKey(alg)
		if err != nil {
			panic(err)
		}
		testKeys[alg] = struct {
			key *Key
			pem []byte
		}{k, p}
	}
}

// writeKeys writes each PEM into dir under its name and returns dir.
func writeKeys(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newKeyAccess(t *testing.T, ks *KeySet) *Access {
	t.Helper()
	a, err := NewAccess(AccessOptions{Keys: ks, Issuer: "latchkey", Audience: "latchkey-users",
		TTL: 15 * time.Minute})
	if err != nil {
		t.Fatalf("NewAccess: %v", err)
	}
	return a
}

func loadKeys(t *testing.T, files map[string][]byte) *KeySet {
	t.Helper()
	ks, err := LoadKeySet(writeKeys(t, files))
	if err != nil {
		t.Fatalf("LoadKeySet: %v", err)
	}
	return ks
}

func publicPEM(t *testing.T, k *Key) []byte {
	t.Helper()
	p, err := k.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("unmarshal header: %v", err)
	}
	return h
}

func TestEachAlgorithmSignsWithItsKeyID(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{EdDSA, ES256, RS256} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			k := testKeys[alg]
			a := newKeyAccess(t, loadKeys(t, map[string][]byte{"a.pem": k.pem}))
			tok, _, err := a.Issue(testSubject, testNow)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			h := tokenHeader(t, tok)
			if h["alg"] != alg || h["kid"] != k.key.ID {
				t.Errorf("header = %v, want alg %s and kid %s", h, alg, k.key.ID)
			}
			c, err := a.Verify(tok, testNow)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != testSubject.UserID {
				t.Errorf("sub = %q, want %q", c.Subject, testSubject.UserID)
			}
		})
	}
}

func TestLoadKeySetPicksTheNewestPrivateKey(t *testing.T) {
	t.Parallel()
	ed, es, rs := testKeys[EdDSA], testKeys[ES256], testKeys[RS256]
	tests := []struct {
		name       string
		files      map[string][]byte
		wantActive string
		wantKIDs   []string // the JWKS order: active first, then newest to oldest
	}{
		{
			name:       "the last name signs",
			files:      map[string][]byte{"2030-01.pem": ed.pem, "2030-02.pem": es.pem},
			wantActive: es.key.ID,
			wantKIDs:   []string{es.key.ID, ed.key.ID},
		},
		{
			name: "an announced public key verifies but does not sign",
			files: map[string][]byte{"2030-01.pem": ed.pem, "2030-02.pem": es.pem,
				"2030-03.pem": publicPEM(t, rs.key)},
			wantActive: es.key.ID,
			wantKIDs:   []string{es.key.ID, rs.key.ID, ed.key.ID},
		},
		{
			name: "a private key joins its announcement",
			files: map[string][]byte{"2030-01.pem": ed.pem, "2030-02.pub.pem": publicPEM(t, es.key),
				"2030-02.pem": es.pem},
			wantActive: es.key.ID,
			wantKIDs:   []string{es.key.ID, ed.key.ID},
		},
		{
			name:       "files that are not .pem are ignored",
			files:      map[string][]byte{"2030-01.pem": ed.pem, "2030-02.pem.bak": es.pem},
			wantActive: ed.key.ID,
			wantKIDs:   []string{ed.key.ID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ks := loadKeys(t, tt.files)
			if got := ks.Active(); got.ID != tt.wantActive || !got.Active || !got.CanSign {
				t.Errorf("Active() = %+v, want the signing key %s", got, tt.wantActive)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
				t.Fatalf("JWKS is not JSON: %v", err)
			}
			var kids []string
			for _, k := range set.Keys {
				kids = append(kids, k["kid"].(string))
				if _, ok := k["d"]; ok {
					t.Errorf("JWKS key %v has a private member", k)
				}
				if k["use"] != "sig" || k["alg"] == "" {
					t.Errorf("JWKS key %v, want use sig and an alg", k)
				}
			}
			if strings.Join(kids, ",") != strings.Join(tt.wantKIDs, ",") {
				t.Errorf("JWKS kids = %v, want %v", kids, tt.wantKIDs)
			}
			if got := ks.Keys(); len(got) != len(tt.wantKIDs) || got[0].ID != tt.wantActive {
				t.Errorf("Keys() = %v, want %d keys, the active first", got, len(tt.wantKIDs))
			}
		})
	}
}

func TestLoadKeySetRefusesBadKeys(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ed := testKeys[EdDSA]
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1, 2, 3}})

	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"an empty directory", map[string][]byte{}},
		{"only public keys", map[string][]byte{"a.pem": publicPEM(t, ed.key)}},
		{"a file that is not PEM", map[string][]byte{"a.pem": []byte("hello")}},
		{"a certificate", map[string][]byte{"a.pem": pem.EncodeToMemory(
			&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})}},
		{"two keys in one file", map[string][]byte{"a.pem": append(ed.pem,
			testKeys[ES256].pem...)}},
		{"an encrypted key", map[string][]byte{"a.pem": encrypted}},
		{"a P-384 key", map[string][]byte{"a.pem": pkcs8(p384)}},
		{"a 1024-bit RSA key", map[string][]byte{"a.pem": pkcs8(rsa1024)}},
		{"the same private key twice", map[string][]byte{"a.pem": ed.pem, "b.pem": ed.pem}},
		{"a huge file", map[string][]byte{"a.pem": append(ed.pem,
			make([]byte, maxKeyFile)...)}},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			if ks, err := LoadKeySet(writeKeys(t, tt.files)); err == nil {
				t.Errorf("LoadKeySet = %v, nil; want an error", ks.Keys())
			}
		})
	}
	t.Run("refuses a directory that does not exist", func(t *testing.T) {
		t.Parallel()
		if _, err := LoadKeySet(filepath.Join(t.TempDir(), "missing")); err == nil {
			t.Error("LoadKeySet(missing) = nil error, want one")
		}
	})
}

func TestParseKeyAcceptsTraditionalEncodings(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, alg string
		pem       []byte
	}{
		{"SEC 1 EC key", ES256, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY",
			Bytes: sec1})},
		{"PKCS #1 RSA key", RS256, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
			Bytes: x509.MarshalPKCS1PrivateKey(rs)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseKey(tt.pem)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.Algorithm != tt.alg || !k.CanSign || k.ID == "" {
				t.Errorf("ParseKey = %v (can sign %v), want a signing %s key", k, k.CanSign,
					tt.alg)
			}
		})
	}
}

func TestKeyStringShowsNoKeyMaterial(t *testing.T) {
	t.Parallel()
	ed := testKeys[EdDSA]
	priv, err := x509.ParsePKCS8PrivateKey(mustBlock(t, ed.pem))
	if err != nil {
		t.Fatal(err)
	}
	seed := priv.(ed25519.PrivateKey).Seed()[:8]
	forms := []string{
		base64.StdEncoding.EncodeToString(seed)[:8],
		fmt.Sprintf("%x", seed),
		strings.Trim(fmt.Sprint(seed), "[]"),
		strings.Trim(fmt.Sprintf("%#v", seed), "[]byte{}"),
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", ed.key, "value", *ed.key)
	for _, s := range []string{ed.key.String(), fmtV(ed.key), fmtV(*ed.key), logged.String()} {
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("formatted key %q shows key material (%s)", s, f)
			}
		}
	}
}

func fmtV(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

func mustBlock(t *testing.T, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// TestRotation issues with one set, rotates to a set with a newer key, and
// checks that old tokens keep verifying until they expire while new tokens
// carry the new kid.
func TestRotation(t *testing.T) {
	t.Parallel()
	ed, es := testKeys[EdDSA], testKeys[ES256]
	dir := writeKeys(t, map[string][]byte{"2030-01.pem": ed.pem})
	before, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	oldAccess := newKeyAccess(t, before)
	oldTok, oldExp, err := oldAccess.Issue(testSubject, testNow)
	if err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(dir, "2030-02.pem"), es.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	newAccess := newKeyAccess(t, after)
	newTok, _, err := newAccess.Issue(testSubject, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if kid := tokenHeader(t, newTok)["kid"]; kid != es.key.ID {
		t.Errorf("after rotation kid = %v, want the new key %s", kid, es.key.ID)
	}

	if _, err := newAccess.Verify(oldTok, oldExp.Add(-time.Second)); err != nil {
		t.Errorf("a token signed before the rotation, just before its expiry: %v, want nil",
			err)
	}
	if _, err := newAccess.Verify(oldTok, oldExp.Add(time.Second)); !errors.Is(err,
		ErrExpired) {
		t.Errorf("a token signed before the rotation, after its expiry: %v, want ErrExpired",
			err)
	}
	if _, err := oldAccess.Verify(newTok, testNow.Add(time.Minute)); !errors.Is(err,
		ErrInvalid) {
		t.Errorf("the old set verifying a token of the new key: %v, want ErrInvalid", err)
	}
}

func TestKeySetVerifyRefusesForgedTokens(t *testing.T) {
	t.Parallel()
	ed, es := testKeys[EdDSA], testKeys[ES256]
	// Our set holds an EdDSA key (active) and an older ES256 key.
	ks := loadKeys(t, map[string][]byte{"2030-01.pem": es.pem, "2030-02.pem": ed.pem})
	a := newKeyAccess(t, ks)
	good, _, err := a.Issue(testSubject, testNow)
	if err != nil {
		t.Fatal(err)
	}
	edPriv := signerOf(t, ed.pem)
	esPriv := signerOf(t, es.pem)
	foreign, _, err := GenerateKey(EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	foreignPub := publicPEM(t, foreign)
	foreignJWK := map[string]any{"kty": "OKP", "crv": "Ed25519",
		"x": base64.RawURLEncoding.EncodeToString(foreign.public.(ed25519.PublicKey))}

	// signWith signs the valid claims with key under method, with the given
	// extra header fields.
	signWith := func(method jwt.SigningMethod, key any, header map[string]any) string {
		t.Helper()
		tok := jwt.NewWithClaims(method, validClaims())
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return s
	}
	ours := map[string]any{"kid": ed.key.ID}

	tests := []struct {
		name  string
		token string
	}{
		{"a token signed by a foreign key under our kid",
			signWith(jwt.SigningMethodEdDSA, foreign.private, ours)},
		{"a token signed by a foreign key under its own kid",
			signWith(jwt.SigningMethodEdDSA, foreign.private, map[string]any{"kid": foreign.ID})},
		{"alg none under our kid", signWith(jwt.SigningMethodNone,
			jwt.UnsafeAllowNoneSignatureType, ours)},
		{"HS256 keyed with our public key's PEM", signWith(jwt.SigningMethodHS256,
			publicPEM(t, ed.key), ours)},
		{"HS256 keyed with the HMAC secret", signWith(jwt.SigningMethodHS256, testSecret, nil)},
		{"ES256 by our ES256 key under our EdDSA key's kid", signWith(jwt.SigningMethodES256,
			esPriv, ours)},
		{"no kid", signWith(jwt.SigningMethodEdDSA, edPriv, nil)},
		{"a kid that is not a string", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": 7})},
		{"a jwk header embedding a foreign key", signWith(jwt.SigningMethodEdDSA,
			foreign.private, map[string]any{"jwk": foreignJWK})},
		{"a jwk header, even when signed by our key", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": ed.key.ID, "jwk": foreignJWK})},
		{"a jku header pointing elsewhere", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": ed.key.ID, "jku": "https://attacker.example/jwks.json"})},
		{"an x5u header", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": ed.key.ID, "x5u": "https://attacker.example/cert.pem"})},
		{"an x5c header", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": ed.key.ID, "x5c": []string{string(foreignPub)}})},
		{"a crit header", signWith(jwt.SigningMethodEdDSA, edPriv,
			map[string]any{"kid": ed.key.ID, "crit": []string{"exp"}})},
		{"an edited payload", editPayload(t, good, "role", "ADMIN")},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := a.Verify(tt.token, testNow); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify = %v, want ErrInvalid", err)
			}
		})
	}

	for name, tok := range map[string]string{
		"the active key": good,
		"the older key": signWith(jwt.SigningMethodES256, esPriv,
			map[string]any{"kid": es.key.ID}),
	} {
		if _, err := a.Verify(tok, testNow); err != nil {
			t.Errorf("Verify(a token of %s) = %v, want nil; the cases above prove nothing",
				name, err)
		}
	}
}

// signerOf returns the private key of a PKCS #8 PEM.
func signerOf(t *testing.T, p []byte) any {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(mustBlock(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHS256AccessPublishesNoKeys(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	if doc, ok := a.JWKS(); ok || doc != nil {
		t.Errorf("JWKS() = %s, %v; want nothing in HS256 mode", doc, ok)
	}
	ks := loadKeys(t, map[string][]byte{"a.pem": testKeys[EdDSA].pem})
	if doc, ok := newKeyAccess(t, ks).JWKS(); !ok || !strings.Contains(string(doc),
		testKeys[EdDSA].key.ID) {
		t.Errorf("JWKS() = %s, %v; want the key set", doc, ok)
	}
}

func TestHS256RefusesForeignKeyHeaders(t *testing.T) {
	t.Parallel()
	a := newTestAccess(t, 0)
	for _, h := range []string{"jku", "jwk", "x5u", "x5c", "crit"} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
		tok.Header[h] = "x"
		s, err := tok.SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(s, testNow); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(HS256 token with a %s header) = %v, want ErrInvalid", h, err)
		}
	}
}
