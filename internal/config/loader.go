package config

import (
	"crypto/hmac"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// loader reads one variable at a time, records what is wrong with it and
// carries on with the default, so that Load can report every problem at once.
type loader struct {
	lookup   func(string) (string, bool)
	problems []Problem
	// failed names the variables already reported, so that cross-field
	// checks do not pile a second complaint onto a substituted default.
	failed map[string]bool
}

// get returns the trimmed value of name; blank counts as unset because
// "KEY=" lines in .env files usually mean "not configured".
func (l *loader) get(name string) (string, bool) {
	v, ok := l.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// add records a problem whose message is already a full sentence.
func (l *loader) add(name, message string) {
	l.failed[name] = true
	l.problems = append(l.problems, Problem{Var: name, Message: message})
}

// invalid records a problem as "NAME: <reason>".
func (l *loader) invalid(name, format string, args ...any) {
	l.add(name, name+": "+fmt.Sprintf(format, args...))
}

// ok reports whether none of names has been reported.
func (l *loader) ok(names ...string) bool {
	for _, n := range names {
		if l.failed[n] {
			return false
		}
	}
	return true
}

func (l *loader) str(name, def string) string {
	if v, ok := l.get(name); ok {
		return v
	}
	return def
}

// pemBlocks reads PEM text. Where a platform cannot pass line breaks in a
// variable, they may be written as the two characters \n.
func (l *loader) pemBlocks(name string) Secret {
	v, ok := l.get(name)
	if !ok {
		return nil
	}
	if !strings.Contains(v, "\n") {
		v = strings.ReplaceAll(v, `\n`, "\n")
	}
	if !strings.HasPrefix(v, "-----BEGIN ") {
		l.invalid(name, "is not PEM: it must start with a -----BEGIN line")
		return nil
	}
	return Secret(v)
}

// choice accepts one of allowed, compared case-insensitively, and returns it
// in the lower case that allowed uses.
func (l *loader) choice(name, def string, allowed ...string) string {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	if lower := strings.ToLower(v); slices.Contains(allowed, lower) {
		return lower
	}
	l.invalid(name, "invalid value %q (want %s)", v, strings.Join(allowed, ", "))
	return def
}

// duration accepts what ParseDuration does, as long as it is positive: no
// lifetime or window in Latchkey makes sense at zero.
func (l *loader) duration(name string, def time.Duration) time.Duration {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil {
		l.invalid(name, "%v", err)
		return def
	}
	if d <= 0 {
		l.invalid(name, "must be greater than zero, got %q", v)
		return def
	}
	return d
}

// integer accepts a base-10 integer of at least lo and, when hi > 0, at most
// hi.
func (l *loader) integer(name string, def, lo, hi int) int {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.invalid(name, "invalid integer %q", v)
	case hi > 0 && (n < lo || n > hi):
		l.invalid(name, "must be between %d and %d, got %q", lo, hi, v)
	case n < lo:
		l.invalid(name, "must be at least %d, got %q", lo, v)
	default:
		return n
	}
	return def
}

func (l *loader) boolean(name string, def bool) bool {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.invalid(name, "invalid boolean %q (want true or false)", v)
		return def
	}
	return b
}

// hostPort accepts host:port with a numeric port; the host may be empty to
// listen on every interface.
func (l *loader) hostPort(name, def string) string {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		l.invalid(name, "invalid address %q (want host:port, e.g. 127.0.0.1:8080)", v)
		return def
	}
	return v
}

// publicURL accepts an absolute http(s) URL without credentials, query or
// fragment, and drops a trailing slash so that callers can append paths.
// Production requires https except on loopback, where a developer may try a
// production build locally.
func (l *loader) publicURL(name, def string, prod bool) *url.URL {
	raw := l.str(name, def)
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "" || u.Host == "" ||
		(u.Scheme != "http" && u.Scheme != "https"):
		l.invalid(name, "must be an absolute http or https URL, got %q", redactURL(raw))
		return nil
	case u.User != nil:
		l.invalid(name, "must not contain credentials, got %q", redactURL(raw))
		return nil
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		l.invalid(name, "must not have a query or fragment, got %q", raw)
		return nil
	case prod && u.Scheme != "https" && !isLoopback(u.Hostname()):
		l.invalid(name, "must use https in production, got %q", raw)
		return nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u
}

// webPrefix accepts a path such as /account: segments of letters, digits,
// '-', '_' and '.', without a trailing slash. "/" means the root. The API
// keeps /api, so a prefix there would hide the pages.
func (l *loader) webPrefix(name string) string {
	v, ok := l.get(name)
	if !ok || v == "/" {
		return ""
	}
	valid := strings.HasPrefix(v, "/") && !strings.HasSuffix(v, "/")
	for seg := range strings.SplitSeq(strings.TrimPrefix(v, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			valid = false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_' || c == '.') {
				valid = false
			}
		}
	}
	if !valid {
		l.invalid(name, "invalid path %q (want e.g. /account: no trailing slash, "+
			"letters, digits, '-', '_' and '.')", v)
		return ""
	}
	if v == "/api" || strings.HasPrefix(v, "/api/") {
		l.invalid(name, "%q is inside /api, which the API keeps", v)
		return ""
	}
	return v
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// redisURL accepts redis:// or rediss:// with a host and an optional
// database number as the path.
func (l *loader) redisURL(name string) string {
	v, ok := l.get(name)
	if !ok {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		l.invalid(name, "not a valid URL: %q", redactURL(v))
		return ""
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		l.invalid(name, "unsupported scheme %q (want redis:// or rediss://)", u.Scheme)
		return ""
	}
	if u.Host == "" {
		l.invalid(name, "no host in %q", redactURL(v))
		return ""
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			l.invalid(name, "invalid database number %q in %q", db, redactURL(v))
			return ""
		}
	}
	return v
}

// smtpURL accepts smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)
// with a host.
func (l *loader) smtpURL(name string) string {
	v, ok := l.get(name)
	if !ok {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		l.invalid(name, "not a valid URL: %q", redactURL(v))
		return ""
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		l.invalid(name, "unsupported scheme %q (want smtp:// or smtps://)", u.Scheme)
		return ""
	}
	if u.Hostname() == "" {
		l.invalid(name, "no host in %q", redactURL(v))
		return ""
	}
	return v
}

func (l *loader) mailAddress(name, def string) string {
	v := l.str(name, def)
	if _, err := mail.ParseAddress(v); err != nil {
		l.invalid(name, "invalid address %q (want e.g. Latchkey <no-reply@example.com>)", v)
		return def
	}
	return v
}

// secret reads a key used as its raw bytes. Unset is allowed in development,
// where EnsureSecrets fills it in; set but short is refused everywhere,
// because a weak key that works in development ends up in production.
func (l *loader) secret(name string, prod bool) Secret {
	v, ok := l.get(name)
	if !ok {
		if prod {
			l.add(name, fmt.Sprintf("%s is required in production (at least %d bytes)",
				name, minSecret))
		}
		return nil
	}
	if len(v) < minSecret {
		l.invalid(name, "too short: %d bytes, need at least %d "+
			"(generate one with: openssl rand -base64 32)", len(v), minSecret)
		return nil
	}
	return Secret(v)
}

// key reads an AES-256 key given as base64 or hex.
func (l *loader) key(name string, prod bool) Secret {
	v, ok := l.get(name)
	if !ok {
		if prod {
			l.add(name, fmt.Sprintf("%s is required in production (%d bytes, base64 or hex)",
				name, mfaKeyLen))
		}
		return nil
	}
	k, got := decodeKey(v, mfaKeyLen)
	switch {
	case k != nil:
		return Secret(k)
	case got < 0:
		l.invalid(name, "must be %d bytes encoded as base64 or hex "+
			"(generate one with: openssl rand -base64 32)", mfaKeyLen)
	default:
		l.invalid(name, "decodes to %d bytes, want exactly %d "+
			"(generate one with: openssl rand -base64 32)", got, mfaKeyLen)
	}
	return nil
}

// origins reads a comma-separated list of CORS origins, normalized to the
// form browsers send in the Origin header.
func (l *loader) origins(name string) []string {
	v, ok := l.get(name)
	if !ok {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		o := strings.TrimSpace(part)
		if o == "" {
			continue
		}
		if o == "*" {
			l.invalid(name, `"*" is not allowed because credentials are on; list each origin`)
			continue
		}
		norm, ok := normalizeOrigin(o)
		if !ok {
			l.invalid(name,
				"%q is not an origin (want http or https://host[:port], no path or wildcard)", o)
			continue
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out
}

// normalizeOrigin lower-cases scheme and host and drops a default port and a
// lone trailing slash, since browsers send "https://app.example.com" and an
// exact comparison must match it.
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if u.Port() == "" && strings.HasSuffix(host, ":") {
		return "", false
	}
	// The CORS library reads "*" inside an origin as a wildcard, so that
	// "https://*" would let every https site send credentialed requests.
	// Only a plain host name or IP address is an exact origin.
	if !originHost(u.Hostname()) || !originPort(u.Port()) {
		return "", false
	}
	switch {
	case u.Scheme == "https" && u.Port() == "443":
		host = strings.TrimSuffix(host, ":443")
	case u.Scheme == "http" && u.Port() == "80":
		host = strings.TrimSuffix(host, ":80")
	}
	return u.Scheme + "://" + host, true
}

// originHost reports whether h is an IP address or a DNS name made of
// letters, digits and hyphens.
func originHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return !strings.Contains(h, "%") // no IPv6 zone
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// originPort reports whether p is empty or a TCP port number.
func originPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535 && strconv.Itoa(n) == p
}

// prefixes reads a comma-separated list of CIDRs or bare IP addresses.
func (l *loader) prefixes(name string) []netip.Prefix {
	v, ok := l.get(name)
	if !ok {
		return nil
	}
	var out []netip.Prefix
	for part := range strings.SplitSeq(v, ",") {
		s := strings.TrimSpace(part)
		if s == "" {
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			l.invalid(name, "invalid CIDR or IP address %q", s)
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix parses a CIDR, masking stray host bits ("10.1.2.3/8" means
// 10.0.0.0/8), or a bare address as a prefix of that one address. IPv4
// addresses written in IPv6-mapped form are unmapped, because that is how
// peers appear once the server normalizes them.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zoned address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// crossCheck compares settings with each other. Pairs where one side was
// already reported are skipped: its default stands in and would only
// produce a second, misleading message.
func (l *loader) crossCheck(c *Config) {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		missing := "TLS_KEY_FILE"
		if c.TLSCertFile == "" {
			missing = "TLS_CERT_FILE"
		}
		l.add(missing, missing+" is missing: TLS_CERT_FILE and TLS_KEY_FILE must be set together")
	}
	if l.ok("ACCESS_TOKEN_EXPIRY", "REFRESH_TOKEN_EXPIRY") && c.AccessTTL > c.RefreshTTL {
		l.invalid("ACCESS_TOKEN_EXPIRY", "%s must not be longer than REFRESH_TOKEN_EXPIRY (%s)",
			c.AccessTTL, c.RefreshTTL)
	}
	if l.ok("SESSION_IDLE_TIMEOUT", "SESSION_MAX_AGE") && c.SessionIdleTimeout > c.SessionMaxAge {
		l.invalid("SESSION_IDLE_TIMEOUT", "%s must not be longer than SESSION_MAX_AGE (%s)",
			c.SessionIdleTimeout, c.SessionMaxAge)
	}
	if l.ok("REFRESH_REUSE_GRACE") && c.RefreshReuseGrace > MaxRefreshReuseGrace {
		l.invalid("REFRESH_REUSE_GRACE",
			"%s is longer than %s; a longer grace would weaken refresh token reuse detection",
			c.RefreshReuseGrace, MaxRefreshReuseGrace)
	}
	if c.MetricsAddr != "" && l.ok("LISTEN_ADDR", "METRICS_ADDR") &&
		c.MetricsAddr == c.ListenAddr && !strings.HasSuffix(c.ListenAddr, ":0") {
		l.invalid("METRICS_ADDR", "same as LISTEN_ADDR (%q); leave it unset to serve "+
			"/metrics on LISTEN_ADDR", c.ListenAddr)
	}
	if c.JWTKeysDir != "" && len(c.JWTKeys) > 0 {
		l.invalid("JWT_KEYS", "set JWT_KEYS or JWT_KEYS_DIR, not both")
	}
	if c.AccessSecret != nil && hmac.Equal(c.AccessSecret, c.RefreshSecret) {
		// One key for both would let a leaked token pepper forge access
		// tokens, and the other way round.
		l.invalid("JWT_REFRESH_SECRET", "must differ from JWT_ACCESS_SECRET")
	}
}
