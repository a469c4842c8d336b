package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/token"
)

func TestKeysGenerateNamesFilesSoTheNewestSigns(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	first := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, alg := range []string{"RS256", "ES256", "EdDSA"} {
		c := keysGenerateCmd{Alg: alg, Dir: dir}
		var out strings.Builder
		if err := c.run(&out, first.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatalf("generate %s: %v", alg, err)
		}
		if !strings.Contains(out.String(), alg) {
			t.Errorf("generate %s printed %q, want the algorithm named", alg, out.String())
		}
	}

	ks, err := token.LoadKeySet(dir)
	if err != nil {
		t.Fatalf("LoadKeySet: %v", err)
	}
	if got := ks.Active().Algorithm; got != "EdDSA" {
		t.Errorf("active key is %s, want the newest, EdDSA", got)
	}
	if got := len(ks.Keys()); got != 3 {
		t.Errorf("%d keys, want 3", got)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), perm)
		}
	}

	var list strings.Builder
	if err := (&keysListCmd{Dir: dir}).run(&list); err != nil {
		t.Fatalf("list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(list.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "signs") ||
		!strings.Contains(lines[1], ks.Active().ID) {
		t.Errorf("keys list =\n%s\nwant a header, then the signing key first", list.String())
	}
}

func TestKeysGenerateAnnounceWritesAPublicKeyAndAPendingPrivateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := (&keysGenerateCmd{Alg: "EdDSA", Dir: dir}).run(io.Discard, now); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	c := keysGenerateCmd{Alg: "ES256", Dir: dir, Announce: true}
	if err := c.run(&out, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	ks, err := token.LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := ks.Keys()
	if len(keys) != 2 || keys[0].Algorithm != "EdDSA" || keys[1].Algorithm != "ES256" ||
		keys[1].CanSign {
		t.Fatalf("keys after an announcement = %v, want EdDSA signing and ES256 public only",
			keys)
	}

	pending, err := filepath.Glob(filepath.Join(dir, "*.pem.pending"))
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending files = %v, %v; want one", pending, err)
	}
	if err := os.Rename(pending[0], strings.TrimSuffix(pending[0], ".pending")); err != nil {
		t.Fatal(err)
	}
	ks, err = token.LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a := ks.Active(); a.Algorithm != "ES256" || len(ks.Keys()) != 2 {
		t.Errorf("after the rename, active = %v of %d keys; want ES256 of 2", a, len(ks.Keys()))
	}
}

func TestKeysGenerateRefusesAnUnknownAlgorithm(t *testing.T) {
	t.Parallel()
	out, err := command(t, t.TempDir(), nil, "keys", "generate", "--alg", "HS256", "--dir",
		"keys").CombinedOutput()
	if err == nil {
		t.Fatalf("keys generate --alg HS256 succeeded:\n%s", out)
	}
}

func TestServePublishesTheKeysOfJWTKeysDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := command(t, dir, nil, "keys", "generate", "--alg", "EdDSA", "--dir", "keys").
		CombinedOutput()
	if err != nil {
		t.Fatalf("keys generate: %v\n%s", err, out)
	}
	kid := regexp.MustCompile(`key (\S+)`).FindStringSubmatch(string(out))
	if kid == nil {
		t.Fatalf("keys generate printed no kid:\n%s", out)
	}

	srv := startServer(t, dir, "JWT_KEYS_DIR=keys")
	res, err := http.Get(srv.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || len(set.Keys) != 1 || set.Keys[0]["kid"] != kid[1] ||
		set.Keys[0]["alg"] != "EdDSA" {
		t.Errorf("JWKS = %d %v, want the generated key %s", res.StatusCode, set.Keys, kid[1])
	}

	c := &client{t: t, base: srv.url, http: &http.Client{Timeout: 10 * time.Second}}
	status, body := c.do("POST", "/api/auth/register", "", map[string]string{
		"email": "keys@example.com", "password": "Correct-horse9!"})
	if status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, body)
	}
	tok, _ := body["accessToken"].(string)
	head, _, _ := strings.Cut(tok, ".")
	if !strings.Contains(decodeSegment(t, head), kid[1]) {
		t.Errorf("access token header %s does not name kid %s", decodeSegment(t, head), kid[1])
	}
	if status, body := c.do("GET", "/api/auth/profile", tok, nil); status != http.StatusOK {
		t.Errorf("profile with an EdDSA token: %d %v", status, body)
	}
}

func TestServeRefusesABadKeysDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := command(t, dir, []string{"JWT_KEYS_DIR=keys", "LISTEN_ADDR=127.0.0.1:0"},
		"serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "JWT_KEYS_DIR") {
		t.Fatalf("serve with an empty key directory: err = %v, output:\n%s", err, out)
	}
}

func decodeSegment(t *testing.T, seg string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode %q: %v", seg, err)
	}
	return string(raw)
}
