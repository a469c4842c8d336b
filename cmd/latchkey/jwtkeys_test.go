package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/token"
)

func TestServeSignsWithTheKeysOfJWTKeys(t *testing.T) {
	t.Parallel()
	older, olderPEM, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	active, activePEM, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	// As a platform that cannot pass line breaks would write them.
	value := strings.ReplaceAll(string(olderPEM)+string(activePEM), "\n", `\n`)
	srv := startServer(t, t.TempDir(), "JWT_KEYS="+value)

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
	if res.StatusCode != http.StatusOK || len(set.Keys) != 2 ||
		set.Keys[0]["kid"] != active.ID || set.Keys[1]["kid"] != older.ID {
		t.Fatalf("JWKS = %d %v; want the active key %s, then %s", res.StatusCode, set.Keys,
			active.ID, older.ID)
	}

	c := &client{t: t, base: srv.url, http: &http.Client{Timeout: 10 * time.Second}}
	status, body := c.do("POST", "/api/auth/register", "", map[string]string{
		"email": "env-keys@example.com", "password": "Correct-horse9!"})
	if status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, body)
	}
	tok, _ := body["accessToken"].(string)
	head, _, _ := strings.Cut(tok, ".")
	if h := decodeSegment(t, head); !strings.Contains(h, active.ID) ||
		!strings.Contains(h, `"EdDSA"`) {
		t.Errorf("access token header %s; want EdDSA and kid %s", h, active.ID)
	}
	if status, body := c.do("GET", "/api/auth/profile", tok, nil); status != http.StatusOK {
		t.Errorf("profile with a token of JWT_KEYS: %d %v", status, body)
	}
	if strings.Contains(srv.logs.String(), "PRIVATE KEY") {
		t.Errorf("the log shows key material:\n%s", srv.logs)
	}
}

func TestServeRefusesBadJWTKeysWithoutEchoingThem(t *testing.T) {
	t.Parallel()
	_, pub, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(pub), "-----END", "garbage\n-----END", 1)
	out, err := command(t, t.TempDir(), []string{"JWT_KEYS=" + broken,
		"LISTEN_ADDR=127.0.0.1:0"}, "serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "JWT_KEYS") {
		t.Fatalf("serve with a broken key: err = %v, output:\n%s", err, out)
	}
	body := strings.Split(string(pub), "\n")[1]
	if strings.Contains(string(out), body) {
		t.Errorf("the refusal quotes the key:\n%s", out)
	}
}
