package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	testDatabasePassword = "db-password-DDDD"
	testRedisPassword    = "redis-password-EEEE"
	testSMTPPassword     = "smtp-password-FFFF"
	testMetricsToken     = "metrics-token-GGGG-0123456789abcdef"
)

// secretConfig loads a production configuration whose every secret and
// password is distinctive.
func secretConfig(t *testing.T) *Config {
	t.Helper()
	return mustLoad(t, with(productionEnv(),
		"DATABASE_URL", "postgres://app:"+testDatabasePassword+"@db/latchkey",
		"REDIS_URL", "redis://:"+testRedisPassword+"@cache:6379/0",
		"SMTP_URL", "smtp://mailer:"+testSMTPPassword+"@smtp.example.com:587",
		"METRICS_TOKEN", testMetricsToken,
	))
}

// secretForms lists every spelling of the configured secrets that must never
// appear in output.
func secretForms() []string {
	forms := []string{testDatabasePassword, testRedisPassword, testSMTPPassword}
	for _, s := range [][]byte{
		[]byte(testAccessSecret), []byte(testRefreshSecret), testMFAKey, []byte(testMetricsToken),
	} {
		forms = append(forms,
			string(s),
			hex.EncodeToString(s),
			base64.StdEncoding.EncodeToString(s),
			fmt.Sprint([]byte(s)), // what %v of a plain []byte prints
			fmt.Sprintf("%d", []byte(s)[:8]),
		)
	}
	return forms
}

func assertNoSecrets(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range secretForms() {
		if strings.Contains(out, strings.TrimSuffix(s, "]")) {
			t.Errorf("%s shows a secret (%q):\n%s", what, s, out)
		}
	}
}

func TestPrintingAConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := secretConfig(t)
	tests := []struct {
		name string
		out  string
	}{
		{"%v of the value", fmt.Sprintf("%v", *c)},
		{"%+v of the value", fmt.Sprintf("%+v", *c)},
		{"%#v of the value", fmt.Sprintf("%#v", *c)},
		{"%v %+v %#v of the pointer", fmt.Sprintf("%v %+v %#v", c, c, c)},
		{"%s of the value", fmt.Sprintf("%s", *c)},
		{"%x of the value", fmt.Sprintf("%x", *c)},
		{"%d of the value", fmt.Sprintf("%d", *c)},
		{"%q of the value", fmt.Sprintf("%q", *c)},
		{"Sprint", fmt.Sprint(c)},
		{"a wrapping struct", fmt.Sprintf("%+v", struct{ Cfg Config }{*c})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertNoSecrets(t, tt.name, tt.out)
			if !strings.Contains(tt.out, redacted) {
				t.Errorf("output lacks the %s placeholder:\n%s", redacted, tt.out)
			}
		})
	}
}

func TestPrintingAConfigStillShowsSettings(t *testing.T) {
	t.Parallel()
	c := secretConfig(t)
	out := fmt.Sprintf("%+v", c)
	for _, want := range []string{
		"ListenAddr:127.0.0.1:8080",
		"DatabaseURL:postgres://app:xxxxx@db/latchkey",
		"RedisURL:redis://:xxxxx@cache:6379/0",
		"AccessSecret:" + redacted,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%%+v lacks %q:\n%s", want, out)
		}
	}
	if got := fmt.Sprintf("%#v", *c); !strings.HasPrefix(got, "config.Config{") {
		t.Errorf("%%#v starts %.20q, want config.Config{", got)
	}
	if c.DatabaseURL != "postgres://app:"+testDatabasePassword+"@db/latchkey" {
		t.Error("printing changed the configuration itself")
	}
}

func TestLoggingAConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := secretConfig(t)
	tests := []struct {
		name    string
		handler func(*bytes.Buffer) slog.Handler
	}{
		{"text handler", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"JSON handler", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(tt.handler(&buf))
			logger.Info("config", "config", c, "value", *c, "access", c.AccessSecret, "mfa", c.MFAKey)
			out := buf.String()
			assertNoSecrets(t, tt.name, out)
			wants := []string{"listen_addr", "postgres://app:xxxxx@db/latchkey", redacted}
			for _, want := range wants {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestSecretNeverPrintsItsBytes(t *testing.T) {
	t.Parallel()
	s := Secret(testAccessSecret)
	jsonOut, err := json.Marshal(struct{ Key Secret }{s})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"String", s.String(), redacted},
		{"GoString", s.GoString(), redacted},
		{"%v", fmt.Sprintf("%v", s), redacted},
		{"%s", fmt.Sprintf("%s", s), redacted},
		{"%x", fmt.Sprintf("%x", s), redacted},
		{"%X", fmt.Sprintf("%X", s), redacted},
		{"%d", fmt.Sprintf("%d", s), redacted},
		{"%q", fmt.Sprintf("%q", s), redacted},
		{"%#v", fmt.Sprintf("%#v", s), redacted},
		{"LogValue", s.LogValue().String(), redacted},
		{"JSON", string(jsonOut), `{"Key":"` + redacted + `"}`},
		{"unset", Secret(nil).String(), notSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"no credentials", "redis://cache:6379", "redis://cache:6379"},
		{"user and password", "smtp://u:pw@host:25", "smtp://u:xxxxx@host:25"},
		{"password only", "redis://:pw@cache", "redis://:xxxxx@cache"},
		{"unparsable with credentials", "redis://u:p%zz@cache:port", "redis://xxxxx@cache:port"},
		{"unparsable without a scheme", "u:p%zz@cache", "xxxxx@cache"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := redactURL(tt.in); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLoadErrorsHideSecretsAndPasswords(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"JWT_ACCESS_SECRET":  "short-secret-XYZ",
		"MFA_ENCRYPTION_KEY": "mfa-not-a-key-XYZ!",
		"REDIS_URL":          "redis://:pw-REDIS-XYZ@cache:port",
		"SMTP_URL":           "smtps://u:pw-SMTP-XYZ@",
		"DATABASE_URL":       "postgres://u:pw-%zz-XYZ@db/x",
	}
	_, err := Load(mapLookup(env))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, s := range []string{"short-secret", "mfa-not-a-key", "pw-REDIS", "pw-SMTP", "pw-%zz"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows %q:\n%v", s, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(env) {
		t.Errorf("error has %d lines, want %d:\n%v", n, len(env), err)
	}
}
