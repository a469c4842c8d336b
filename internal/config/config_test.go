package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// Distinctive secret values, so that a leak is easy to spot in any output.
const (
	testAccessSecret  = "access-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	testRefreshSecret = "refresh-secret-RRRRRRRRRRRRRRRRRRRRRRRRRRRRR"
)

var testMFAKey = []byte("mfa-key-MMMMMMMMMMMMMMMMMMMMMMMM") // exactly 32 bytes

// mapLookup turns a map into the lookup function Load takes.
func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// productionEnv is a complete, valid production configuration.
func productionEnv() map[string]string {
	return map[string]string{
		"APP_ENV":            "production",
		"PUBLIC_URL":         "https://auth.example.com",
		"JWT_ACCESS_SECRET":  testAccessSecret,
		"JWT_REFRESH_SECRET": testRefreshSecret,
		"MFA_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(testMFAKey),
	}
}

// with returns a copy of env with the given pairs set; an empty value
// deletes the variable.
func with(env map[string]string, pairs ...string) map[string]string {
	out := make(map[string]string, len(env)+len(pairs)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			delete(out, pairs[i])
			continue
		}
		out[pairs[i]] = pairs[i+1]
	}
	return out
}

func mustLoad(t *testing.T, env map[string]string) *Config {
	t.Helper()
	c, err := Load(mapLookup(env))
	if err != nil {
		t.Fatalf("Load: unexpected error:\n%v", err)
	}
	return c
}

// loadProblems runs Load on a configuration that must be refused and returns
// what it reported.
func loadProblems(t *testing.T, env map[string]string) []Problem {
	t.Helper()
	c, err := Load(mapLookup(env))
	if err == nil {
		t.Fatalf("Load succeeded with %+v, want an error", c)
	}
	if c != nil {
		t.Errorf("Load returned a config along with its error")
	}
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("Load error is %T, want *config.Error", err)
	}
	if len(cfgErr.Problems) == 0 {
		t.Fatal("Load error lists no problems")
	}
	return cfgErr.Problems
}

func problemVars(ps []Problem) []string {
	vars := make([]string, len(ps))
	for i, p := range ps {
		vars[i] = p.Var
	}
	return vars
}

func TestLoadAppliesDefaultsInDevelopment(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, nil)

	got := map[string]any{
		"Env":                  c.Env,
		"ListenAddr":           c.ListenAddr,
		"TLSCertFile":          c.TLSCertFile,
		"TLSKeyFile":           c.TLSKeyFile,
		"PublicURL":            c.PublicURL.String(),
		"DatabaseURL":          c.DatabaseURL,
		"RedisURL":             c.RedisURL,
		"AccessSecret":         len(c.AccessSecret),
		"RefreshSecret":        len(c.RefreshSecret),
		"Issuer":               c.Issuer,
		"Audience":             c.Audience,
		"AccessTTL":            c.AccessTTL,
		"RefreshTTL":           c.RefreshTTL,
		"RefreshReuseGrace":    c.RefreshReuseGrace,
		"SessionIdleTimeout":   c.SessionIdleTimeout,
		"SessionMaxAge":        c.SessionMaxAge,
		"PasswordHash":         c.PasswordHash,
		"BcryptRounds":         c.BcryptRounds,
		"PasswordComposition":  c.PasswordComposition,
		"MaxLoginAttempts":     c.MaxLoginAttempts,
		"LockoutDuration":      c.LockoutDuration,
		"RateLimitWindow":      c.RateLimitWindow,
		"RateLimitMax":         c.RateLimitMax,
		"RateLimitLoginWindow": c.RateLimitLoginWindow,
		"RateLimitLoginMax":    c.RateLimitLoginMax,
		"RateLimitResetWindow": c.RateLimitResetWindow,
		"RateLimitResetMax":    c.RateLimitResetMax,
		"CORSOrigins":          len(c.CORSOrigins),
		"TrustedProxies":       len(c.TrustedProxies),
		"SMTPURL":              c.SMTPURL,
		"MailFrom":             c.MailFrom,
		"MFAKey":               len(c.MFAKey),
		"JWTKeysDir":           c.JWTKeysDir,
		"AutoMigrate":          c.AutoMigrate,
		"MetricsAddr":          c.MetricsAddr,
		"DataDir":              c.DataDir,
		"LogLevel":             c.LogLevel,
		"LogFormat":            c.LogFormat,
		"Production()":         c.Production(),
	}
	want := map[string]any{
		"Env":                  "development",
		"ListenAddr":           "127.0.0.1:8080",
		"TLSCertFile":          "",
		"TLSKeyFile":           "",
		"PublicURL":            "http://localhost:8080",
		"DatabaseURL":          "",
		"RedisURL":             "",
		"AccessSecret":         0,
		"RefreshSecret":        0,
		"Issuer":               "latchkey",
		"Audience":             "latchkey-users",
		"AccessTTL":            15 * time.Minute,
		"RefreshTTL":           7 * 24 * time.Hour,
		"RefreshReuseGrace":    10 * time.Second,
		"SessionIdleTimeout":   7 * 24 * time.Hour,
		"SessionMaxAge":        30 * 24 * time.Hour,
		"PasswordHash":         "argon2id",
		"BcryptRounds":         12,
		"PasswordComposition":  true,
		"MaxLoginAttempts":     5,
		"LockoutDuration":      15 * time.Minute,
		"RateLimitWindow":      15 * time.Minute,
		"RateLimitMax":         100,
		"RateLimitLoginWindow": 15 * time.Minute,
		"RateLimitLoginMax":    5,
		"RateLimitResetWindow": time.Hour,
		"RateLimitResetMax":    3,
		"CORSOrigins":          0,
		"TrustedProxies":       0,
		"SMTPURL":              "",
		"MailFrom":             "Latchkey <no-reply@localhost>",
		"MFAKey":               0,
		"JWTKeysDir":           "",
		"AutoMigrate":          true,
		"MetricsAddr":          "",
		"DataDir":              "./data",
		"LogLevel":             slog.LevelInfo,
		"LogFormat":            "text",
		"Production()":         false,
	}
	for field, w := range want {
		if g := got[field]; g != w {
			t.Errorf("%s = %v, want %v", field, g, w)
		}
	}

	db, err := c.Database()
	if err != nil {
		t.Fatalf("Database: %v", err)
	}
	if want := (Database{Kind: KindSQLite, Path: "data/latchkey.db"}); db != want {
		t.Errorf("Database() = %+v, want %+v", db, want)
	}
}

func TestLoadAppliesProductionDefaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, productionEnv())
	if !c.Production() {
		t.Errorf("Production() = false, want true")
	}
	if c.AutoMigrate {
		t.Errorf("AutoMigrate = true, want false by default in production")
	}
	if c.LogFormat != LogJSON {
		t.Errorf("LogFormat = %q, want %q by default in production", c.LogFormat, LogJSON)
	}
	if string(c.AccessSecret) != testAccessSecret {
		t.Errorf("AccessSecret was not taken as the variable's bytes")
	}
	if string(c.RefreshSecret) != testRefreshSecret {
		t.Errorf("RefreshSecret was not taken as the variable's bytes")
	}
	if string(c.MFAKey) != string(testMFAKey) {
		t.Errorf("MFAKey was not decoded from base64")
	}
}

func TestLoadReadsEveryVariable(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{
		"APP_ENV":                 " Development ",
		"LISTEN_ADDR":             ":9000",
		"TLS_CERT_FILE":           "/etc/latchkey/cert.pem",
		"TLS_KEY_FILE":            "/etc/latchkey/key.pem",
		"PUBLIC_URL":              "https://auth.example.com/base/",
		"DATABASE_URL":            "postgres://app:pw@db:5432/latchkey?sslmode=require",
		"REDIS_URL":               "rediss://:pw@cache:6380/2",
		"JWT_ISSUER":              "https://auth.example.com",
		"JWT_AUDIENCE":            "api",
		"ACCESS_TOKEN_EXPIRY":     "300000",
		"REFRESH_TOKEN_EXPIRY":    "14d",
		"REFRESH_REUSE_GRACE":     "1m",
		"SESSION_IDLE_TIMEOUT":    "1d12h",
		"SESSION_MAX_AGE":         "90d",
		"PASSWORD_HASH":           "BCRYPT",
		"BCRYPT_ROUNDS":           "10",
		"PASSWORD_COMPOSITION":    "false",
		"MAX_LOGIN_ATTEMPTS":      "3",
		"LOCKOUT_DURATION":        "1h",
		"RATE_LIMIT_WINDOW":       "1m",
		"RATE_LIMIT_MAX":          "1000",
		"RATE_LIMIT_LOGIN_WINDOW": "5m",
		"RATE_LIMIT_LOGIN_MAX":    "10",
		"RATE_LIMIT_RESET_WINDOW": "2h",
		"RATE_LIMIT_RESET_MAX":    "6",
		"SMTP_URL":                "smtps://mailer:pw@smtp.example.com:465",
		"MAIL_FROM":               "Example <auth@example.com>",
		"JWT_KEYS_DIR":            "/etc/latchkey/keys",
		"AUTO_MIGRATE":            "0",
		"METRICS_ADDR":            "127.0.0.1:9090",
		"DATA_DIR":                "/var/lib/latchkey",
		"LOG_LEVEL":               "DEBUG",
		"LOG_FORMAT":              "json",
	})

	checks := []struct {
		field     string
		got, want any
	}{
		{"Env", c.Env, EnvDevelopment},
		{"ListenAddr", c.ListenAddr, ":9000"},
		{"TLSCertFile", c.TLSCertFile, "/etc/latchkey/cert.pem"},
		{"TLSKeyFile", c.TLSKeyFile, "/etc/latchkey/key.pem"},
		{"PublicURL", c.PublicURL.String(), "https://auth.example.com/base"},
		{"DatabaseURL", c.DatabaseURL, "postgres://app:pw@db:5432/latchkey?sslmode=require"},
		{"RedisURL", c.RedisURL, "rediss://:pw@cache:6380/2"},
		{"Issuer", c.Issuer, "https://auth.example.com"},
		{"Audience", c.Audience, "api"},
		{"AccessTTL", c.AccessTTL, 5 * time.Minute},
		{"RefreshTTL", c.RefreshTTL, 14 * 24 * time.Hour},
		{"RefreshReuseGrace", c.RefreshReuseGrace, time.Minute},
		{"SessionIdleTimeout", c.SessionIdleTimeout, 36 * time.Hour},
		{"SessionMaxAge", c.SessionMaxAge, 90 * 24 * time.Hour},
		{"PasswordHash", c.PasswordHash, HashBcrypt},
		{"BcryptRounds", c.BcryptRounds, 10},
		{"PasswordComposition", c.PasswordComposition, false},
		{"MaxLoginAttempts", c.MaxLoginAttempts, 3},
		{"LockoutDuration", c.LockoutDuration, time.Hour},
		{"RateLimitWindow", c.RateLimitWindow, time.Minute},
		{"RateLimitMax", c.RateLimitMax, 1000},
		{"RateLimitLoginWindow", c.RateLimitLoginWindow, 5 * time.Minute},
		{"RateLimitLoginMax", c.RateLimitLoginMax, 10},
		{"RateLimitResetWindow", c.RateLimitResetWindow, 2 * time.Hour},
		{"RateLimitResetMax", c.RateLimitResetMax, 6},
		{"SMTPURL", c.SMTPURL, "smtps://mailer:pw@smtp.example.com:465"},
		{"MailFrom", c.MailFrom, "Example <auth@example.com>"},
		{"JWTKeysDir", c.JWTKeysDir, "/etc/latchkey/keys"},
		{"AutoMigrate", c.AutoMigrate, false},
		{"MetricsAddr", c.MetricsAddr, "127.0.0.1:9090"},
		{"DataDir", c.DataDir, "/var/lib/latchkey"},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"LogFormat", c.LogFormat, LogJSON},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}
}

func TestLoadTreatsBlankValuesAsUnset(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{
		"LISTEN_ADDR":         "",
		"ACCESS_TOKEN_EXPIRY": "   ",
		"JWT_ACCESS_SECRET":   "",
		"CORS_ORIGIN":         " ",
	})
	if c.ListenAddr != "127.0.0.1:8080" {
		t.Errorf("ListenAddr = %q, want the default", c.ListenAddr)
	}
	if c.AccessTTL != 15*time.Minute {
		t.Errorf("AccessTTL = %v, want the default", c.AccessTTL)
	}
	if c.AccessSecret != nil {
		t.Errorf("AccessSecret is set, want it left for EnsureSecrets")
	}
	if c.CORSOrigins != nil {
		t.Errorf("CORSOrigins = %q, want none", c.CORSOrigins)
	}
}

func TestLoadRefusesInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         map[string]string
		wantVar     string
		wantMessage string // the whole line when exact, else a fragment
		exact       bool
	}{
		{
			name:        "unknown environment",
			env:         map[string]string{"APP_ENV": "staging"},
			wantVar:     "APP_ENV",
			wantMessage: `APP_ENV: invalid value "staging" (want development, production)`,
			exact:       true,
		},
		{
			name:        "duration with an unknown unit",
			env:         map[string]string{"ACCESS_TOKEN_EXPIRY": "15x"},
			wantVar:     "ACCESS_TOKEN_EXPIRY",
			wantMessage: `ACCESS_TOKEN_EXPIRY: invalid duration "15x"`,
			exact:       true,
		},
		{
			name:        "zero duration",
			env:         map[string]string{"LOCKOUT_DURATION": "0"},
			wantVar:     "LOCKOUT_DURATION",
			wantMessage: `LOCKOUT_DURATION: must be greater than zero, got "0"`,
			exact:       true,
		},
		{
			name:        "negative duration",
			env:         map[string]string{"RATE_LIMIT_WINDOW": "-1m"},
			wantVar:     "RATE_LIMIT_WINDOW",
			wantMessage: `"-1m"`,
		},
		{
			name:        "negative millisecond count",
			env:         map[string]string{"SESSION_MAX_AGE": "-5"},
			wantVar:     "SESSION_MAX_AGE",
			wantMessage: `"-5"`,
		},
		{
			name:        "reuse grace over a minute",
			env:         map[string]string{"REFRESH_REUSE_GRACE": "61s"},
			wantVar:     "REFRESH_REUSE_GRACE",
			wantMessage: "reuse detection",
		},
		{
			name: "access tokens outliving refresh tokens",
			env: map[string]string{
				"ACCESS_TOKEN_EXPIRY":  "2h",
				"REFRESH_TOKEN_EXPIRY": "1h",
			},
			wantVar:     "ACCESS_TOKEN_EXPIRY",
			wantMessage: "REFRESH_TOKEN_EXPIRY",
		},
		{
			name:        "idle timeout beyond the absolute lifetime",
			env:         map[string]string{"SESSION_IDLE_TIMEOUT": "31d"},
			wantVar:     "SESSION_IDLE_TIMEOUT",
			wantMessage: "SESSION_MAX_AGE",
		},
		{
			name:        "non-numeric integer",
			env:         map[string]string{"MAX_LOGIN_ATTEMPTS": "five"},
			wantVar:     "MAX_LOGIN_ATTEMPTS",
			wantMessage: `MAX_LOGIN_ATTEMPTS: invalid integer "five"`,
			exact:       true,
		},
		{
			name:        "zero integer",
			env:         map[string]string{"RATE_LIMIT_MAX": "0"},
			wantVar:     "RATE_LIMIT_MAX",
			wantMessage: `RATE_LIMIT_MAX: must be at least 1, got "0"`,
			exact:       true,
		},
		{
			name:        "negative integer",
			env:         map[string]string{"RATE_LIMIT_LOGIN_MAX": "-1"},
			wantVar:     "RATE_LIMIT_LOGIN_MAX",
			wantMessage: `"-1"`,
		},
		{
			name:        "bcrypt cost below the minimum",
			env:         map[string]string{"BCRYPT_ROUNDS": "3"},
			wantVar:     "BCRYPT_ROUNDS",
			wantMessage: `BCRYPT_ROUNDS: must be between 4 and 31, got "3"`,
			exact:       true,
		},
		{
			name:        "bcrypt cost above the maximum",
			env:         map[string]string{"BCRYPT_ROUNDS": "32"},
			wantVar:     "BCRYPT_ROUNDS",
			wantMessage: `"32"`,
		},
		{
			name:        "unknown password hash",
			env:         map[string]string{"PASSWORD_HASH": "md5"},
			wantVar:     "PASSWORD_HASH",
			wantMessage: `"md5"`,
		},
		{
			name:        "boolean that strconv does not know",
			env:         map[string]string{"AUTO_MIGRATE": "yes"},
			wantVar:     "AUTO_MIGRATE",
			wantMessage: `AUTO_MIGRATE: invalid boolean "yes" (want true or false)`,
			exact:       true,
		},
		{
			name:        "listen address without a port",
			env:         map[string]string{"LISTEN_ADDR": "localhost"},
			wantVar:     "LISTEN_ADDR",
			wantMessage: `"localhost"`,
		},
		{
			name:        "listen address with a port out of range",
			env:         map[string]string{"LISTEN_ADDR": ":70000"},
			wantVar:     "LISTEN_ADDR",
			wantMessage: `":70000"`,
		},
		{
			name:        "metrics address with a named port",
			env:         map[string]string{"METRICS_ADDR": "localhost:http"},
			wantVar:     "METRICS_ADDR",
			wantMessage: `"localhost:http"`,
		},
		{
			name:        "metrics on the listen address",
			env:         map[string]string{"METRICS_ADDR": "127.0.0.1:8080"},
			wantVar:     "METRICS_ADDR",
			wantMessage: "LISTEN_ADDR",
		},
		{
			name:    "TLS certificate without its key",
			env:     map[string]string{"TLS_CERT_FILE": "cert.pem"},
			wantVar: "TLS_KEY_FILE",
			wantMessage: "TLS_KEY_FILE is missing: " +
				"TLS_CERT_FILE and TLS_KEY_FILE must be set together",
			exact: true,
		},
		{
			name:        "TLS key without its certificate",
			env:         map[string]string{"TLS_KEY_FILE": "key.pem"},
			wantVar:     "TLS_CERT_FILE",
			wantMessage: "TLS_CERT_FILE is missing",
		},
		{
			name:        "relative public URL",
			env:         map[string]string{"PUBLIC_URL": "auth.example.com"},
			wantVar:     "PUBLIC_URL",
			wantMessage: `"auth.example.com"`,
		},
		{
			name:        "public URL with another scheme",
			env:         map[string]string{"PUBLIC_URL": "ftp://auth.example.com"},
			wantVar:     "PUBLIC_URL",
			wantMessage: "http or https",
		},
		{
			name:        "public URL with a query",
			env:         map[string]string{"PUBLIC_URL": "https://auth.example.com/?a=b"},
			wantVar:     "PUBLIC_URL",
			wantMessage: "query",
		},
		{
			name:        "Redis URL with another scheme",
			env:         map[string]string{"REDIS_URL": "http://cache:6379"},
			wantVar:     "REDIS_URL",
			wantMessage: `REDIS_URL: unsupported scheme "http" (want redis:// or rediss://)`,
			exact:       true,
		},
		{
			name:        "Redis URL without a host",
			env:         map[string]string{"REDIS_URL": "redis://"},
			wantVar:     "REDIS_URL",
			wantMessage: "no host",
		},
		{
			name:        "Redis URL with a database name",
			env:         map[string]string{"REDIS_URL": "redis://cache:6379/sessions"},
			wantVar:     "REDIS_URL",
			wantMessage: `"sessions"`,
		},
		{
			name:        "Redis URL that does not parse",
			env:         map[string]string{"REDIS_URL": "redis://cache:port"},
			wantVar:     "REDIS_URL",
			wantMessage: "not a valid URL",
		},
		{
			name:        "SMTP URL with another scheme",
			env:         map[string]string{"SMTP_URL": "mailto:ops@example.com"},
			wantVar:     "SMTP_URL",
			wantMessage: `"mailto"`,
		},
		{
			name:        "SMTP URL without a host",
			env:         map[string]string{"SMTP_URL": "smtp://"},
			wantVar:     "SMTP_URL",
			wantMessage: "no host",
		},
		{
			name:        "sender that is not an address",
			env:         map[string]string{"MAIL_FROM": "Latchkey"},
			wantVar:     "MAIL_FROM",
			wantMessage: `"Latchkey"`,
		},
		{
			name:        "database with an unsupported scheme",
			env:         map[string]string{"DATABASE_URL": "mysql://root@db/latchkey"},
			wantVar:     "DATABASE_URL",
			wantMessage: `"mysql"`,
		},
		{
			name:        "unknown log level",
			env:         map[string]string{"LOG_LEVEL": "verbose"},
			wantVar:     "LOG_LEVEL",
			wantMessage: `"verbose"`,
		},
		{
			name:        "unknown log format",
			env:         map[string]string{"LOG_FORMAT": "logfmt"},
			wantVar:     "LOG_FORMAT",
			wantMessage: `"logfmt"`,
		},
		{
			name:        "short access secret in development",
			env:         map[string]string{"JWT_ACCESS_SECRET": "short"},
			wantVar:     "JWT_ACCESS_SECRET",
			wantMessage: "too short: 5 bytes, need at least 32",
		},
		{
			name:        "short metrics token",
			env:         map[string]string{"METRICS_TOKEN": strings.Repeat("m", 31)},
			wantVar:     "METRICS_TOKEN",
			wantMessage: "METRICS_TOKEN: too short: 31 bytes, need at least 32",
		},
		{
			name:        "short refresh secret in development",
			env:         map[string]string{"JWT_REFRESH_SECRET": strings.Repeat("x", 31)},
			wantVar:     "JWT_REFRESH_SECRET",
			wantMessage: "31 bytes",
		},
		{
			name: "one secret for both keys",
			env: map[string]string{
				"JWT_ACCESS_SECRET":  testAccessSecret,
				"JWT_REFRESH_SECRET": testAccessSecret,
			},
			wantVar:     "JWT_REFRESH_SECRET",
			wantMessage: "JWT_REFRESH_SECRET: must differ from JWT_ACCESS_SECRET",
			exact:       true,
		},
		{
			name:        "MFA key that is neither base64 nor hex",
			env:         map[string]string{"MFA_ENCRYPTION_KEY": "not a key!"},
			wantVar:     "MFA_ENCRYPTION_KEY",
			wantMessage: "base64 or hex",
		},
		{
			name: "MFA key of 16 bytes",
			env: map[string]string{
				"MFA_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(make([]byte, 16)),
			},
			wantVar:     "MFA_ENCRYPTION_KEY",
			wantMessage: "decodes to 16 bytes, want exactly 32",
		},
		{
			name:    "CORS wildcard",
			env:     map[string]string{"CORS_ORIGIN": "*"},
			wantVar: "CORS_ORIGIN",
			wantMessage: `CORS_ORIGIN: "*" is not allowed because credentials are on; ` +
				`list each origin`,
			exact: true,
		},
		{
			name:        "CORS wildcard among origins",
			env:         map[string]string{"CORS_ORIGIN": "https://app.example.com, *"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"*"`,
		},
		{
			name:        "CORS origin with a path",
			env:         map[string]string{"CORS_ORIGIN": "https://app.example.com/login"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"https://app.example.com/login" is not an origin`,
		},
		{
			name:        "CORS origin without a scheme",
			env:         map[string]string{"CORS_ORIGIN": "app.example.com"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"app.example.com"`,
		},
		{
			name:    "CORS wildcard host",
			env:     map[string]string{"CORS_ORIGIN": "https://*"},
			wantVar: "CORS_ORIGIN",
			wantMessage: `CORS_ORIGIN: "https://*" is not an origin ` +
				`(want http or https://host[:port], no path or wildcard)`,
			exact: true,
		},
		{
			name:        "CORS wildcard subdomain",
			env:         map[string]string{"CORS_ORIGIN": "https://app.example.com,https://*.example.com"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"https://*.example.com" is not an origin`,
		},
		{
			name:        "CORS wildcard inside a name",
			env:         map[string]string{"CORS_ORIGIN": "https://app*.example.com"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"https://app*.example.com" is not an origin`,
		},
		{
			name:        "CORS port out of range",
			env:         map[string]string{"CORS_ORIGIN": "http://localhost:70000"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"http://localhost:70000" is not an origin`,
		},
		{
			name:        "CORS origin of another scheme",
			env:         map[string]string{"CORS_ORIGIN": "ftp://files.example.com"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"ftp://files.example.com" is not an origin`,
		},
		{
			name:        "CORS null origin",
			env:         map[string]string{"CORS_ORIGIN": "null"},
			wantVar:     "CORS_ORIGIN",
			wantMessage: `"null"`,
		},
		{
			name:        "trusted proxy prefix too long",
			env:         map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"},
			wantVar:     "TRUSTED_PROXIES",
			wantMessage: `TRUSTED_PROXIES: invalid CIDR or IP address "10.0.0.0/33"`,
			exact:       true,
		},
		{
			name:        "trusted proxy host name",
			env:         map[string]string{"TRUSTED_PROXIES": "10.0.0.1, proxy.internal"},
			wantVar:     "TRUSTED_PROXIES",
			wantMessage: `"proxy.internal"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := loadProblems(t, tt.env)
			if len(problems) != 1 {
				t.Fatalf("problems = %q, want exactly one", problemVars(problems))
			}
			p := problems[0]
			if p.Var != tt.wantVar {
				t.Errorf("problem names %s, want %s", p.Var, tt.wantVar)
			}
			if !strings.HasPrefix(p.Message, tt.wantVar) {
				t.Errorf("message %q does not start with %s", p.Message, tt.wantVar)
			}
			if tt.exact && p.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", p.Message, tt.wantMessage)
			}
			if !tt.exact && !strings.Contains(p.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", p.Message, tt.wantMessage)
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ACCESS_TOKEN_EXPIRY": "15x",
		"BCRYPT_ROUNDS":       "99",
		"CORS_ORIGIN":         "*",
		"LISTEN_ADDR":         "nowhere",
	}
	_, err := Load(mapLookup(env))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"LISTEN_ADDR", "ACCESS_TOKEN_EXPIRY", "BCRYPT_ROUNDS", "CORS_ORIGIN"}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i, name := range want {
		if !strings.HasPrefix(lines[i], name+":") {
			t.Errorf("line %d = %q, want it about %s", i+1, lines[i], name)
		}
	}
}

func TestLoadSkipsCrossChecksAgainstRefusedValues(t *testing.T) {
	t.Parallel()
	// The refresh expiry falls back to its 7d default when refused; comparing
	// the access expiry with that stand-in would add a bogus second problem.
	problems := loadProblems(t, map[string]string{
		"ACCESS_TOKEN_EXPIRY":  "30d",
		"REFRESH_TOKEN_EXPIRY": "soon",
	})
	got, want := problemVars(problems), []string{"REFRESH_TOKEN_EXPIRY"}
	if !slices.Equal(got, want) {
		t.Errorf("problems about %q, want %q", got, want)
	}
}

func TestLoadInProductionRequiresEachSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         map[string]string
		wantVar     string
		wantMessage string
	}{
		{
			name:        "without the access secret",
			env:         with(productionEnv(), "JWT_ACCESS_SECRET", ""),
			wantVar:     "JWT_ACCESS_SECRET",
			wantMessage: "JWT_ACCESS_SECRET is required in production (at least 32 bytes)",
		},
		{
			name:        "without the refresh secret",
			env:         with(productionEnv(), "JWT_REFRESH_SECRET", ""),
			wantVar:     "JWT_REFRESH_SECRET",
			wantMessage: "JWT_REFRESH_SECRET is required in production (at least 32 bytes)",
		},
		{
			name:        "without the MFA key",
			env:         with(productionEnv(), "MFA_ENCRYPTION_KEY", ""),
			wantVar:     "MFA_ENCRYPTION_KEY",
			wantMessage: "MFA_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)",
		},
		{
			name:    "with a short access secret",
			env:     with(productionEnv(), "JWT_ACCESS_SECRET", strings.Repeat("a", 31)),
			wantVar: "JWT_ACCESS_SECRET",
			wantMessage: "JWT_ACCESS_SECRET: too short: 31 bytes, need at least 32 " +
				"(generate one with: openssl rand -base64 32)",
		},
		{
			name:        "with equal access and refresh secrets",
			env:         with(productionEnv(), "JWT_REFRESH_SECRET", testAccessSecret),
			wantVar:     "JWT_REFRESH_SECRET",
			wantMessage: "JWT_REFRESH_SECRET: must differ from JWT_ACCESS_SECRET",
		},
		{
			name:        "with a plain http public URL",
			env:         with(productionEnv(), "PUBLIC_URL", "http://auth.example.com"),
			wantVar:     "PUBLIC_URL",
			wantMessage: `PUBLIC_URL: must use https in production, got "http://auth.example.com"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := loadProblems(t, tt.env)
			if len(problems) != 1 {
				t.Fatalf("problems about %q, want exactly one", problemVars(problems))
			}
			if problems[0].Var != tt.wantVar {
				t.Errorf("problem names %s, want %s", problems[0].Var, tt.wantVar)
			}
			if problems[0].Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", problems[0].Message, tt.wantMessage)
			}
		})
	}
}

func TestLoadInProductionWithoutAnySecretNamesThemAll(t *testing.T) {
	t.Parallel()
	problems := loadProblems(t, map[string]string{"APP_ENV": "production"})
	want := []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "MFA_ENCRYPTION_KEY"}
	if got := problemVars(problems); !slices.Equal(got, want) {
		t.Errorf("problems about %q, want %q", got, want)
	}
}

func TestLoadInProductionAcceptsValidSettings(t *testing.T) {
	t.Parallel()
	hexKey := hex.EncodeToString(testMFAKey)
	urlKey := base64.RawURLEncoding.EncodeToString(testMFAKey)
	tests := []struct {
		name string
		env  map[string]string
	}{
		{name: "with a base64 MFA key", env: productionEnv()},
		{name: "with a hex MFA key", env: with(productionEnv(), "MFA_ENCRYPTION_KEY", hexKey)},
		{
			name: "with an unpadded base64url MFA key",
			env:  with(productionEnv(), "MFA_ENCRYPTION_KEY", urlKey),
		},
		{
			name: "with http on localhost",
			env:  with(productionEnv(), "PUBLIC_URL", "http://localhost:8080"),
		},
		{
			name: "with http on 127.0.0.1",
			env:  with(productionEnv(), "PUBLIC_URL", "http://127.0.0.1:8080"),
		},
		{
			name: "with http on the IPv6 loopback",
			env:  with(productionEnv(), "PUBLIC_URL", "http://[::1]:8080"),
		},
		{
			name: "with PostgreSQL, Redis and SMTP",
			env: with(productionEnv(),
				"DATABASE_URL", "postgresql://latchkey:pw@db.internal/latchkey",
				"REDIS_URL", "redis://cache.internal:6379/0",
				"SMTP_URL", "smtp://user:pass@smtp.internal:587",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tt.env)
			if string(c.MFAKey) != string(testMFAKey) {
				t.Errorf("MFAKey = %x, want %x", []byte(c.MFAKey), testMFAKey)
			}
		})
	}
}

func TestLoadNormalizesCORSOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "one origin",
			in:   "https://app.example.com",
			want: []string{"https://app.example.com"},
		},
		{
			name: "a list with spaces and empty entries",
			in:   " https://a.example.com ,, http://localhost:3000 ,",
			want: []string{"https://a.example.com", "http://localhost:3000"},
		},
		{
			name: "upper case and a trailing slash",
			in:   "HTTPS://App.Example.COM/",
			want: []string{"https://app.example.com"},
		},
		{
			name: "default ports dropped",
			in:   "https://a.example.com:443,http://b.example.com:80,https://c.example.com:8443",
			want: []string{
				"https://a.example.com",
				"http://b.example.com",
				"https://c.example.com:8443",
			},
		},
		{
			name: "duplicates once",
			in:   "https://a.example.com,https://A.example.com/",
			want: []string{"https://a.example.com"},
		},
		{
			name: "IPv6 host",
			in:   "http://[::1]:5173",
			want: []string{"http://[::1]:5173"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, map[string]string{"CORS_ORIGIN": tt.in})
			if !slices.Equal(c.CORSOrigins, tt.want) {
				t.Errorf("CORSOrigins = %q, want %q", c.CORSOrigins, tt.want)
			}
		})
	}
}

func TestLoadParsesTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "an IPv4 CIDR", in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{name: "a bare IPv4 address", in: "192.0.2.7", want: []string{"192.0.2.7/32"}},
		{name: "a bare IPv6 address", in: "2001:db8::1", want: []string{"2001:db8::1/128"}},
		{name: "an IPv6 CIDR", in: "fd00::/8", want: []string{"fd00::/8"}},
		{name: "host bits masked", in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "a mapped IPv4 address", in: "::ffff:10.0.0.1", want: []string{"10.0.0.1/32"}},
		{
			name: "a list with spaces and duplicates",
			in:   "127.0.0.1, 10.0.0.0/8 ,,10.0.0.0/8, ::1",
			want: []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, map[string]string{"TRUSTED_PROXIES": tt.in})
			got := make([]string, len(c.TrustedProxies))
			for i, p := range c.TrustedProxies {
				got[i] = p.String()
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("TrustedProxies = %q, want %q", got, tt.want)
			}
			for _, p := range c.TrustedProxies {
				if !p.IsValid() || p != p.Masked() {
					t.Errorf("prefix %v is not valid and canonical", p)
				}
			}
		})
	}
}

func TestTrustedProxiesMatchPeers(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.7"})
	tests := []struct {
		peer string
		want bool
	}{
		{"10.20.30.40", true},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"11.0.0.1", false},
	}
	for _, tt := range tests {
		peer := netip.MustParseAddr(tt.peer)
		got := slices.ContainsFunc(c.TrustedProxies, func(p netip.Prefix) bool {
			return p.Contains(peer)
		})
		if got != tt.want {
			t.Errorf("peer %s trusted = %v, want %v", tt.peer, got, tt.want)
		}
	}
}
