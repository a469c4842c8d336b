package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

const testPEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"

func TestLoadReadsJWTKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
	}{
		{"with line breaks", testPEM},
		{"with line breaks written as \\n", strings.ReplaceAll(testPEM, "\n", `\n`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, map[string]string{"JWT_KEYS": tc.value})
			if got := string(c.JWTKeys); got != testPEM {
				t.Errorf("JWTKeys = %q; want %q", got, testPEM)
			}
			if s := fmt.Sprintf("%v %+v %s", c.JWTKeys, c, c.JWTKeys); strings.Contains(s,
				"MC4CAQAw") {
				t.Errorf("a formatted config shows the key: %s", s)
			}
		})
	}
	if c := mustLoad(t, nil); c.JWTKeys != nil {
		t.Errorf("JWTKeys without the variable = %v; want nil", c.JWTKeys)
	}
}

func TestLoadRefusesBadJWTKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"text that is not PEM", map[string]string{"JWT_KEYS": "not a key"}},
		{"both JWT_KEYS and JWT_KEYS_DIR",
			map[string]string{"JWT_KEYS": testPEM, "JWT_KEYS_DIR": "/etc/latchkey/keys"}},
	}
	for _, tc := range tests {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			ps := loadProblems(t, tc.env)
			if vars := problemVars(ps); !slices.Contains(vars, "JWT_KEYS") {
				t.Errorf("problems %v; want one for JWT_KEYS", vars)
			}
			for _, p := range ps {
				if strings.Contains(p.Message, "MC4CAQAw") {
					t.Errorf("problem %q quotes the key", p.Message)
				}
			}
		})
	}
}

func TestLoggedConfigShowsOnlyWhetherJWTKeysAreSet(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	c := mustLoad(t, map[string]string{"JWT_KEYS": testPEM})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	if !strings.Contains(buf.String(), "jwt_keys="+redacted) ||
		strings.Contains(buf.String(), "MC4CAQAw") {
		t.Errorf("logged config = %s; want jwt_keys=%s and no key", buf.String(), redacted)
	}
}
