package httpapi_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
)

// TestJWKSHoldsOnlyPublicMembers publishes a key of every algorithm, one of
// them known by its public part alone, and checks each published key
// member by member against the public members of its type: anything else,
// a private member under any name included, fails.
func TestJWKSHoldsOnlyPublicMembers(t *testing.T) {
	t.Parallel()
	var keys []*token.Key
	for _, alg := range []string{token.RS256, token.ES256, token.EdDSA} {
		k, _, err := token.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	announced, _, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := announced.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	publicOnly, err := token.ParseKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(append(keys, publicOnly)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{Keys: ks})

	res, body := get(t, srv.URL+"/.well-known/jwks.json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q, want public, max-age=300", cc)
	}
	if res.Header.Get("ETag") == "" {
		t.Error("no ETag")
	}

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatal(err)
	}
	allowed := map[string][]string{
		"RSA": {"alg", "e", "kid", "kty", "n", "use"},
		"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
		"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
	}
	wantAlg := map[string]string{"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
	var kids []string
	for _, k := range set.Keys {
		kty, _ := k["kty"].(string)
		members := slices.Sorted(maps.Keys(k))
		if want, ok := allowed[kty]; !ok || !slices.Equal(members, want) {
			t.Errorf("key %v of type %q has members %v; want exactly %v", k["kid"], kty,
				members, want)
		}
		if k["alg"] != wantAlg[kty] || k["use"] != "sig" {
			t.Errorf("key %v: alg %v, use %v; want %s and sig", k["kid"], k["alg"], k["use"],
				wantAlg[kty])
		}
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
	}
	want := []string{keys[2].ID, publicOnly.ID, keys[1].ID, keys[0].ID}
	if !slices.Equal(kids, want) {
		t.Errorf("kids %v; want the active key, then the others newest first: %v", kids, want)
	}

	secret := testserver.AccessSecret
	for name, enc := range map[string]string{
		"raw":       string(secret),
		"base64url": base64.RawURLEncoding.EncodeToString(secret),
		"base64":    base64.StdEncoding.EncodeToString(secret),
		"hex":       hex.EncodeToString(secret),
	} {
		if strings.Contains(body, enc) {
			t.Errorf("the JWKS holds the HMAC secret (%s)", name)
		}
	}
}
