package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func generate(t *testing.T) map[string]crypto.PublicKey {
	t.Helper()
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.PublicKey{EdDSA: edPub, ES256: &ec.PublicKey, RS256: &rs.PublicKey}
}

type equaler interface{ Equal(crypto.PublicKey) bool }

func TestFromPublicRoundTrips(t *testing.T) {
	t.Parallel()
	for alg, pub := range generate(t) {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			k, err := FromPublic(pub, "kid-1")
			if err != nil {
				t.Fatalf("FromPublic: %v", err)
			}
			if k.Algorithm != alg || k.Use != "sig" || k.ID != "kid-1" || k.D != "" {
				t.Errorf("FromPublic = %+v, want alg %s, use sig, kid-1, no d", k, alg)
			}
			raw, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			var back Key
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			got, gotAlg, err := back.Public()
			if err != nil {
				t.Fatalf("Public(%s): %v", raw, err)
			}
			if gotAlg != alg || !got.(equaler).Equal(pub) {
				t.Errorf("Public = %v, %s; want the original key and %s", got, gotAlg, alg)
			}
		})
	}
}

// TestThumbprintMatchesRFC8037 uses the Ed25519 example of RFC 8037
// appendix A.3.
func TestThumbprintMatchesRFC8037(t *testing.T) {
	t.Parallel()
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
}

func TestThumbprintsDiffer(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for alg, pub := range generate(t) {
		tp, err := Thumbprint(pub)
		if err != nil {
			t.Fatalf("Thumbprint(%s): %v", alg, err)
		}
		if len(tp) != 43 {
			t.Errorf("Thumbprint(%s) = %q, want 43 base64url characters", alg, tp)
		}
		if other, ok := seen[tp]; ok {
			t.Errorf("%s and %s share thumbprint %s", alg, other, tp)
		}
		seen[tp] = alg
	}
}

func TestPublicRefusesBadKeys(t *testing.T) {
	t.Parallel()
	keys := generate(t)
	good := map[string]Key{}
	for alg, pub := range keys {
		k, err := FromPublic(pub, "k")
		if err != nil {
			t.Fatal(err)
		}
		good[alg] = k
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallKey, _ := members(&small.PublicKey)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	p384Point, err := p384.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	change := func(alg string, f func(*Key)) Key {
		k := good[alg]
		f(&k)
		return k
	}

	tests := []struct {
		name string
		key  Key
	}{
		{"a private member", change(EdDSA, func(k *Key) { k.D = k.X })},
		{"use enc", change(EdDSA, func(k *Key) { k.Use = "enc" })},
		{"alg RS256 on an Ed25519 key", change(EdDSA, func(k *Key) { k.Algorithm = RS256 })},
		{"alg HS256 on an EC key", change(ES256, func(k *Key) { k.Algorithm = "HS256" })},
		{"alg ES256 on an RSA key", change(RS256, func(k *Key) { k.Algorithm = ES256 })},
		{"a short Ed25519 key", change(EdDSA, func(k *Key) { k.X = k.X[:20] })},
		{"padded base64", change(EdDSA, func(k *Key) { k.X += "=" })},
		{"a point off the curve", change(ES256, func(k *Key) {
			y, _ := base64.RawURLEncoding.DecodeString(k.Y)
			y[31] ^= 1
			k.Y = enc(y)
		})},
		{"a missing y", change(ES256, func(k *Key) { k.Y = "" })},
		{"a P-384 key", Key{KeyType: "EC", Curve: "P-384",
			X: enc(p384Point[1:49]), Y: enc(p384Point[49:])}},
		{"a 1024-bit RSA key", smallKey},
		{"an even RSA exponent", change(RS256, func(k *Key) { k.E = enc([]byte{1, 0, 0}) })},
		{"an RSA exponent of 1", change(RS256, func(k *Key) { k.E = enc([]byte{1}) })},
		{"an RSA exponent with a leading zero", change(RS256, func(k *Key) {
			k.E = enc([]byte{0, 1, 0, 1})
		})},
		{"a symmetric key", Key{KeyType: "oct", ID: "k"}},
		{"an unknown key type", Key{KeyType: "XYZ"}},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			if pub, alg, err := tt.key.Public(); err == nil {
				t.Errorf("Public(%+v) = %v, %s, nil; want an error", tt.key, pub, alg)
			}
		})
	}
	for alg, k := range good {
		if _, _, err := k.Public(); err != nil {
			t.Errorf("Public(the unchanged %s key) = %v; the cases above prove nothing", alg, err)
		}
	}
}

func TestFromPublicRefusesUnsupportedKeys(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, pub := range map[string]crypto.PublicKey{
		"P-384":      &p384.PublicKey,
		"HMAC bytes": []byte(strings.Repeat("k", 32)),
	} {
		if _, err := FromPublic(pub, "k"); err == nil {
			t.Errorf("FromPublic(%s) = nil error, want one", name)
		}
	}
}
