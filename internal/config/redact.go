package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// redactURL hides the password in a connection URL so that it can appear in
// messages and logs. When the text does not even parse, everything between
// the scheme and the last "@" is hidden, since that is where a password would
// sit.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	// A parsed URL hides its password only if the parser saw user info; an
	// "@" it did not (as in the opaque "u:pw@host") is handled by hand.
	if u, err := url.Parse(raw); err == nil && (u.User != nil || !strings.Contains(raw, "@")) {
		return u.Redacted()
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := strings.Index(raw, "://")
	if start < 0 || start+3 > at {
		return "xxxxx" + raw[at:]
	}
	return raw[:start+3] + "xxxxx" + raw[at:]
}

// configFields lets Format declare a method-less copy of Config.
type configFields = Config

// Format prints the configuration as %v, %+v or %#v would print the struct,
// except that connection URLs lose their passwords; secrets already print as
// placeholders. It makes a careless log.Printf("%+v", cfg) safe.
func (c Config) Format(f fmt.State, verb rune) {
	// The local type has Config's fields but none of its methods, which
	// stops the recursion; it reuses the name so %#v still reads
	// config.Config.
	type Config configFields
	shown := Config(c)
	shown.DatabaseURL = redactURL(c.DatabaseURL)
	shown.RedisURL = redactURL(c.RedisURL)
	shown.SMTPURL = redactURL(c.SMTPURL)
	fmt.Fprintf(f, fmt.FormatString(f, verb), shown)
}

// LogValue implements slog.LogValuer: every setting, with passwords in URLs
// hidden and secrets replaced by placeholders.
func (c Config) LogValue() slog.Value {
	publicURL := ""
	if c.PublicURL != nil {
		publicURL = c.PublicURL.String()
	}
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("listen_addr", c.ListenAddr),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("public_url", publicURL),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Any("access_secret", c.AccessSecret),
		slog.Any("refresh_secret", c.RefreshSecret),
		slog.String("issuer", c.Issuer),
		slog.String("audience", c.Audience),
		slog.Duration("access_ttl", c.AccessTTL),
		slog.Duration("refresh_ttl", c.RefreshTTL),
		slog.Duration("refresh_reuse_grace", c.RefreshReuseGrace),
		slog.Duration("session_idle_timeout", c.SessionIdleTimeout),
		slog.Duration("session_max_age", c.SessionMaxAge),
		slog.String("password_hash", c.PasswordHash),
		slog.Int("bcrypt_rounds", c.BcryptRounds),
		slog.Bool("password_composition", c.PasswordComposition),
		slog.Int("max_login_attempts", c.MaxLoginAttempts),
		slog.Duration("lockout_duration", c.LockoutDuration),
		slog.Duration("rate_limit_window", c.RateLimitWindow),
		slog.Int("rate_limit_max", c.RateLimitMax),
		slog.Duration("rate_limit_login_window", c.RateLimitLoginWindow),
		slog.Int("rate_limit_login_max", c.RateLimitLoginMax),
		slog.Duration("rate_limit_reset_window", c.RateLimitResetWindow),
		slog.Int("rate_limit_reset_max", c.RateLimitResetMax),
		slog.String("cors_origins", strings.Join(c.CORSOrigins, ",")),
		slog.String("trusted_proxies", strings.Join(proxies, ",")),
		slog.String("smtp_url", redactURL(c.SMTPURL)),
		slog.String("mail_from", c.MailFrom),
		slog.String("mail_templates_dir", c.MailTemplatesDir),
		slog.Any("mfa_key", c.MFAKey),
		slog.String("jwt_keys_dir", c.JWTKeysDir),
		slog.Any("jwt_keys", c.JWTKeys),
		slog.Bool("auto_migrate", c.AutoMigrate),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("data_dir", c.DataDir),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
	)
}
