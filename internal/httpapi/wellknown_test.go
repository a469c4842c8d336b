package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
)

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(raw)
}

func TestJWKSPublishesOnlyPublicKeys(t *testing.T) {
	t.Parallel()
	older, _, err := token.GenerateKey(token.RS256)
	if err != nil {
		t.Fatal(err)
	}
	active, _, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(older, active)
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{Keys: ks})

	res, body := get(t, srv.URL+"/.well-known/jwks.json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") ||
		!strings.Contains(cc, "public") {
		t.Errorf("Cache-Control %q, want public with a max-age", cc)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != active.ID || set.Keys[1]["kid"] != older.ID {
		t.Fatalf("keys = %v, want the active key, then the older one", set.Keys)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %v has the private member %s", k["kid"], private)
			}
		}
	}
	if strings.Contains(body, string(testserver.AccessSecret)) {
		t.Error("the JWKS contains the HMAC secret")
	}

	res, body = get(t, srv.URL+"/.well-known/jwks.json", "If-None-Match", res.Header.Get("ETag"))
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("with the ETag: %d %q, want 304 and no body", res.StatusCode, body)
	}
	res, _ = get(t, srv.URL+"/.well-known/jwks.json", "If-None-Match", `"something-else"`)
	if res.StatusCode != http.StatusOK {
		t.Errorf("with another ETag: %d, want 200", res.StatusCode)
	}
}

func TestJWKSIsNotFoundInHS256Mode(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	res, body := get(t, srv.URL+"/.well-known/jwks.json")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("JWKS in HS256 mode = %d %s, want 404 not_found", res.StatusCode, body)
	}
	if strings.Contains(body, string(testserver.AccessSecret)) {
		t.Error("the answer contains the HMAC secret")
	}
}
