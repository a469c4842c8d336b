// Package config reads Latchkey's settings from environment variables (and
// an optional .env file), applies the documented defaults and checks every
// value before anything starts, so that a bad setting stops the process with
// a message naming it rather than surfacing later as a confusing failure.
package config

import (
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environments accepted in APP_ENV.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Password hashing algorithms accepted in PASSWORD_HASH.
const (
	HashArgon2id = "argon2id"
	HashBcrypt   = "bcrypt"
)

// Log formats accepted in LOG_FORMAT.
const (
	LogText = "text"
	LogJSON = "json"
)

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// MaxRefreshReuseGrace bounds REFRESH_REUSE_GRACE: during the grace window a
// rotated refresh token still yields its successor, so a stolen token
// replayed within it goes undetected. A minute covers lost responses and
// concurrent tabs.
const MaxRefreshReuseGrace = time.Minute

// Config is Latchkey's validated configuration. Load fills every field,
// defaults included; printing or logging a Config hides its secrets and the
// passwords in its connection URLs.
type Config struct {
	// Env is APP_ENV: EnvDevelopment or EnvProduction.
	Env string
	// ListenAddr is the HTTP listen address (LISTEN_ADDR), host:port.
	ListenAddr string
	// TLSCertFile and TLSKeyFile (TLS_CERT_FILE, TLS_KEY_FILE) are both set
	// to serve HTTPS directly, or both empty behind a TLS-terminating proxy.
	TLSCertFile, TLSKeyFile string
	// PublicURL is the absolute http(s) base URL used in mails and links
	// (PUBLIC_URL), without a trailing slash.
	PublicURL *url.URL
	// DatabaseURL is DATABASE_URL as given; Database resolves it.
	DatabaseURL string
	// RedisURL is REDIS_URL (redis:// or rediss://); empty keeps rate limits
	// and revocations in memory.
	RedisURL string
	// AccessSecret is the HS256 key for access tokens (JWT_ACCESS_SECRET).
	AccessSecret Secret
	// RefreshSecret keys the hashes of stored opaque tokens
	// (JWT_REFRESH_SECRET).
	RefreshSecret Secret
	// Issuer and Audience are the iss and aud claims (JWT_ISSUER,
	// JWT_AUDIENCE).
	Issuer, Audience string
	// AccessTTL is the access token lifetime (ACCESS_TOKEN_EXPIRY).
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime (REFRESH_TOKEN_EXPIRY).
	RefreshTTL time.Duration
	// RefreshReuseGrace is how long a just-rotated refresh token still gets
	// the same successor (REFRESH_REUSE_GRACE), at most MaxRefreshReuseGrace.
	RefreshReuseGrace time.Duration
	// SessionIdleTimeout is the sliding session expiry (SESSION_IDLE_TIMEOUT).
	SessionIdleTimeout time.Duration
	// SessionMaxAge is the absolute session lifetime (SESSION_MAX_AGE).
	SessionMaxAge time.Duration
	// PasswordHash is HashArgon2id or HashBcrypt (PASSWORD_HASH).
	PasswordHash string
	// BcryptRounds is the bcrypt cost, 4 to 31 (BCRYPT_ROUNDS).
	BcryptRounds int
	// PasswordComposition requires upper, lower, digit and symbol
	// (PASSWORD_COMPOSITION); false switches to length plus a
	// common-password check.
	PasswordComposition bool
	// MaxLoginAttempts is the number of failures before lockout
	// (MAX_LOGIN_ATTEMPTS).
	MaxLoginAttempts int
	// LockoutDuration is the lockout window and duration (LOCKOUT_DURATION).
	LockoutDuration time.Duration
	// RateLimitWindow and RateLimitMax bound general API requests per client.
	RateLimitWindow time.Duration
	RateLimitMax    int
	// RateLimitLoginWindow and RateLimitLoginMax bound failed logins per
	// client.
	RateLimitLoginWindow time.Duration
	RateLimitLoginMax    int
	// RateLimitResetWindow and RateLimitResetMax bound password forgot and
	// reset requests per client and per email.
	RateLimitResetWindow time.Duration
	RateLimitResetMax    int
	// CORSOrigins are the allowed origins (CORS_ORIGIN), each
	// scheme://host[:port] in lower case.
	CORSOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES); a bare IP becomes a single-address prefix.
	TrustedProxies []netip.Prefix
	// SMTPURL is the mail server (SMTP_URL, smtp:// or smtps://); empty
	// writes mail to the outbox instead.
	SMTPURL string
	// MailFrom is the sender address (MAIL_FROM).
	MailFrom string
	// MailTemplatesDir holds mail templates that replace the built-in ones,
	// file by file (MAIL_TEMPLATES_DIR); empty uses the built-in ones.
	MailTemplatesDir string
	// MFAKey is the AES-256 key for TOTP secrets at rest
	// (MFA_ENCRYPTION_KEY, decoded from base64 or hex).
	MFAKey Secret
	// JWTKeysDir is the directory of PEM signing keys (JWT_KEYS_DIR); empty
	// signs with HS256 and AccessSecret, unless JWTKeys is set.
	JWTKeysDir string
	// JWTKeys holds PEM signing keys in rotation order, oldest first, for a
	// deployment that passes them in the environment rather than as files
	// (JWT_KEYS); the last private key signs. Set it or JWTKeysDir, not
	// both.
	JWTKeys Secret
	// AutoMigrate applies migrations at start (AUTO_MIGRATE).
	AutoMigrate bool
	// MetricsAddr is a separate listen address for /metrics (METRICS_ADDR);
	// empty serves it on ListenAddr.
	MetricsAddr string
	// MetricsToken is the bearer token /metrics requires (METRICS_TOKEN).
	// Without it /metrics is not served on ListenAddr in production, and
	// is open on MetricsAddr and, in development, on ListenAddr.
	MetricsToken Secret
	// CleanupInterval is how often each instance runs the cleanup job
	// (CLEANUP_INTERVAL).
	CleanupInterval time.Duration
	// LoginHistoryRetention and AuditRetention are how long login history
	// entries and audit events are kept (LOGIN_HISTORY_RETENTION,
	// AUDIT_RETENTION).
	LoginHistoryRetention time.Duration
	AuditRetention        time.Duration
	// WebPages serves the hosted sign-in and account pages and the browser
	// client (WEB_PAGES).
	WebPages bool
	// WebPrefix is the path the hosted pages live under (WEB_PREFIX), such
	// as "/account"; empty serves them at the root.
	WebPrefix string
	// DataDir holds the default SQLite file, the development secrets and the
	// mail outbox (DATA_DIR).
	DataDir string
	// LogLevel is LOG_LEVEL: debug, info, warn or error.
	LogLevel slog.Level
	// LogFormat is LogText or LogJSON (LOG_FORMAT).
	LogFormat string
}

// Production reports whether strict production rules apply.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// Error lists every problem Load found, so that an operator can fix them all
// at once instead of one restart at a time.
type Error struct {
	Problems []Problem
}

// Error returns the problems one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Message
	}
	return strings.Join(lines, "\n")
}

// Problem is one invalid, missing or conflicting setting.
type Problem struct {
	// Var is the environment variable at fault.
	Var string
	// Message is a full sentence that names Var and, unless it is a secret,
	// the offending value.
	Message string
}

// Load reads the configuration through lookup, which is os.LookupEnv in
// production (nil means that) and a map in tests. Empty and blank values
// count as unset. On failure the error is an *Error listing every problem,
// e.g. `ACCESS_TOKEN_EXPIRY: invalid duration "15x"`; secret values never
// appear in it.
func Load(lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	l := &loader{lookup: lookup, failed: map[string]bool{}}
	c := &Config{}

	c.Env = l.choice("APP_ENV", EnvDevelopment, EnvDevelopment, EnvProduction)
	prod := c.Env == EnvProduction
	c.DataDir = l.str("DATA_DIR", "./data")

	c.ListenAddr = l.hostPort("LISTEN_ADDR", "127.0.0.1:8080")
	c.TLSCertFile = l.str("TLS_CERT_FILE", "")
	c.TLSKeyFile = l.str("TLS_KEY_FILE", "")
	c.PublicURL = l.publicURL("PUBLIC_URL", "http://localhost:8080", prod)
	c.DatabaseURL = l.str("DATABASE_URL", "")
	if _, err := c.Database(); err != nil {
		l.add("DATABASE_URL", err.Error())
	}
	c.RedisURL = l.redisURL("REDIS_URL")

	c.AccessSecret = l.secret("JWT_ACCESS_SECRET", prod)
	c.RefreshSecret = l.secret("JWT_REFRESH_SECRET", prod)
	c.Issuer = l.str("JWT_ISSUER", "latchkey")
	c.Audience = l.str("JWT_AUDIENCE", "latchkey-users")
	c.AccessTTL = l.duration("ACCESS_TOKEN_EXPIRY", 15*time.Minute)
	c.RefreshTTL = l.duration("REFRESH_TOKEN_EXPIRY", 7*day)
	c.RefreshReuseGrace = l.duration("REFRESH_REUSE_GRACE", 10*time.Second)
	c.SessionIdleTimeout = l.duration("SESSION_IDLE_TIMEOUT", 7*day)
	c.SessionMaxAge = l.duration("SESSION_MAX_AGE", 30*day)

	c.PasswordHash = l.choice("PASSWORD_HASH", HashArgon2id, HashArgon2id, HashBcrypt)
	c.BcryptRounds = l.integer("BCRYPT_ROUNDS", 12, 4, 31)
	c.PasswordComposition = l.boolean("PASSWORD_COMPOSITION", true)
	c.MaxLoginAttempts = l.integer("MAX_LOGIN_ATTEMPTS", 5, 1, 0)
	c.LockoutDuration = l.duration("LOCKOUT_DURATION", 15*time.Minute)
	c.RateLimitWindow = l.duration("RATE_LIMIT_WINDOW", 15*time.Minute)
	c.RateLimitMax = l.integer("RATE_LIMIT_MAX", 100, 1, 0)
	c.RateLimitLoginWindow = l.duration("RATE_LIMIT_LOGIN_WINDOW", 15*time.Minute)
	c.RateLimitLoginMax = l.integer("RATE_LIMIT_LOGIN_MAX", 5, 1, 0)
	c.RateLimitResetWindow = l.duration("RATE_LIMIT_RESET_WINDOW", time.Hour)
	c.RateLimitResetMax = l.integer("RATE_LIMIT_RESET_MAX", 3, 1, 0)

	c.CORSOrigins = l.origins("CORS_ORIGIN")
	c.TrustedProxies = l.prefixes("TRUSTED_PROXIES")
	c.SMTPURL = l.smtpURL("SMTP_URL")
	c.MailFrom = l.mailAddress("MAIL_FROM", "Latchkey <no-reply@localhost>")
	c.MailTemplatesDir = l.str("MAIL_TEMPLATES_DIR", "")
	c.MFAKey = l.key("MFA_ENCRYPTION_KEY", prod)
	c.JWTKeysDir = l.str("JWT_KEYS_DIR", "")
	c.JWTKeys = l.pemBlocks("JWT_KEYS")
	c.AutoMigrate = l.boolean("AUTO_MIGRATE", !prod)
	c.MetricsAddr = l.hostPort("METRICS_ADDR", "")
	c.MetricsToken = l.secret("METRICS_TOKEN", false)
	c.CleanupInterval = l.duration("CLEANUP_INTERVAL", time.Hour)
	c.LoginHistoryRetention = l.duration("LOGIN_HISTORY_RETENTION", 90*day)
	c.AuditRetention = l.duration("AUDIT_RETENTION", 365*day)
	c.WebPages = l.boolean("WEB_PAGES", true)
	c.WebPrefix = l.webPrefix("WEB_PREFIX")

	c.LogLevel = logLevels[l.choice("LOG_LEVEL", "info", "debug", "info", "warn", "error")]
	defaultFormat := LogText
	if prod {
		defaultFormat = LogJSON
	}
	c.LogFormat = l.choice("LOG_FORMAT", defaultFormat, LogText, LogJSON)

	l.crossCheck(c)
	if len(l.problems) > 0 {
		return nil, &Error{Problems: l.problems}
	}
	return c, nil
}
