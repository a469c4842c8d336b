package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeEnvFile writes content to a .env file in a fresh directory.
func writeEnvFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

func TestLoadEnvFilePrefersTheRealEnvironment(t *testing.T) {
	t.Parallel()
	path := writeEnvFile(t, strings.Join([]string{
		"# local settings",
		"LISTEN_ADDR=127.0.0.1:9999",
		"ACCESS_TOKEN_EXPIRY=5m",
		`MAIL_FROM="Example Auth <auth@example.com>"`,
		"PUBLIC_URL=http://from-file.example",
		"RATE_LIMIT_MAX=7",
		"",
	}, "\n"))
	env := map[string]string{
		"LISTEN_ADDR":    "127.0.0.1:7777",
		"PUBLIC_URL":     "  ",
		"RATE_LIMIT_MAX": "",
	}

	lookup, err := LoadEnvFile(path, mapLookup(env))
	if err != nil {
		t.Fatalf("LoadEnvFile: %v", err)
	}

	tests := []struct {
		name   string
		key    string
		want   string
		wantOK bool
	}{
		{"the environment wins over the file", "LISTEN_ADDR", "127.0.0.1:7777", true},
		{"the file fills what the environment lacks", "ACCESS_TOKEN_EXPIRY", "5m", true},
		{"quoted values lose their quotes", "MAIL_FROM", "Example Auth <auth@example.com>", true},
		{"a blank environment value does not hide the file", "PUBLIC_URL",
			"http://from-file.example", true},
		{"an empty environment value does not hide the file", "RATE_LIMIT_MAX", "7", true},
		{"a variable in neither is absent", "REDIS_URL", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := lookup(tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("lookup(%s) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}

	c, err := Load(lookup)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.ListenAddr != "127.0.0.1:7777" || c.AccessTTL != 5*time.Minute || c.RateLimitMax != 7 {
		t.Errorf("Load through the file: ListenAddr %q, AccessTTL %v, RateLimitMax %d; "+
			"want 127.0.0.1:7777, 5m0s, 7", c.ListenAddr, c.AccessTTL, c.RateLimitMax)
	}
}

func TestLoadEnvFileWithoutPathToleratesAMissingFile(t *testing.T) {
	t.Chdir(t.TempDir())
	env := map[string]string{"LISTEN_ADDR": ":1"}
	lookup, err := LoadEnvFile("", mapLookup(env))
	if err != nil {
		t.Fatalf("LoadEnvFile without a .env: %v", err)
	}
	if got, ok := lookup("LISTEN_ADDR"); got != ":1" || !ok {
		t.Errorf("lookup(LISTEN_ADDR) = %q, %v; want %q, true", got, ok, ":1")
	}
}

func TestLoadEnvFileWithoutPathReadsDotEnv(t *testing.T) {
	dir := t.TempDir()
	content := []byte("JWT_ISSUER=from-dotenv\n")
	if err := os.WriteFile(filepath.Join(dir, ".env"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	lookup, err := LoadEnvFile("", mapLookup(nil))
	if err != nil {
		t.Fatalf("LoadEnvFile: %v", err)
	}
	if got, ok := lookup("JWT_ISSUER"); got != "from-dotenv" || !ok {
		t.Errorf("lookup(JWT_ISSUER) = %q, %v; want %q, true", got, ok, "from-dotenv")
	}
}

func TestLoadEnvFileRefusesAMissingExplicitPath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "production.env")
	_, err := LoadEnvFile(path, mapLookup(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadEnvFile(%q) error = %v, want fs.ErrNotExist", path, err)
	}
}

func TestLoadEnvFileKeepsSecretsOutOfParseErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-that-must-not-leak"
	path := writeEnvFile(t, "JWT_ACCESS_SECRET=\""+secret+"\nLISTEN_ADDR=:8080\n")
	_, err := LoadEnvFile(path, mapLookup(nil))
	if err == nil {
		t.Fatal("LoadEnvFile accepted an unterminated quote")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q shows the secret", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}
