package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
)

// Engine kinds reported in Database.Kind.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// sqliteFile is the database file name used when DATABASE_URL is not set.
const sqliteFile = "latchkey.db"

// Database says which engine stores Latchkey's data and where.
type Database struct {
	// Kind is KindSQLite or KindPostgres.
	Kind string
	// Path is the SQLite database file, relative to the working directory
	// unless absolute. Empty for PostgreSQL.
	Path string
	// URL is the PostgreSQL connection URL exactly as configured, password
	// included. Empty for SQLite.
	URL string
}

// String describes the database without the password of its URL.
func (d Database) String() string {
	if d.Kind == KindPostgres {
		return d.Kind + " " + redactURL(d.URL)
	}
	return d.Kind + " " + d.Path
}

// LogValue implements slog.LogValuer without the password of the URL.
func (d Database) LogValue() slog.Value {
	if d.Kind == KindPostgres {
		return slog.GroupValue(
			slog.String("kind", d.Kind),
			slog.String("url", redactURL(d.URL)),
		)
	}
	return slog.GroupValue(slog.String("kind", d.Kind), slog.String("path", d.Path))
}

// Database resolves DATABASE_URL. Unset, it is the SQLite file latchkey.db in
// DataDir. postgres:// and postgresql:// URLs select PostgreSQL and are passed
// on unchanged. SQLite is selected by sqlite:///abs/path, sqlite://./rel/path,
// sqlite:rel/path or the same forms with file: (as Prisma writes them); the
// path may be percent-encoded. Errors name DATABASE_URL and never show a
// password.
func (c *Config) Database() (Database, error) {
	raw := c.DatabaseURL
	if raw == "" {
		return Database{Kind: KindSQLite, Path: filepath.Join(c.DataDir, sqliteFile)}, nil
	}

	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		return Database{}, errors.New(
			"DATABASE_URL: missing scheme (want postgres://, postgresql://, sqlite: or file:)")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		// No host is fine: like libpq, the driver then uses the local socket.
		if _, err := url.Parse(raw); err != nil || !strings.HasPrefix(rest, "//") {
			// The parser's message would repeat the URL, password and all.
			return Database{}, errors.New("DATABASE_URL: not a valid PostgreSQL URL")
		}
		return Database{Kind: KindPostgres, URL: raw}, nil
	case "sqlite", "file":
		path, err := sqlitePath(rest)
		if err != nil {
			return Database{}, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return Database{Kind: KindSQLite, Path: path}, nil
	default:
		return Database{}, fmt.Errorf("DATABASE_URL: unsupported scheme %q "+
			"(want postgres://, postgresql://, sqlite: or file:)", scheme)
	}
}

// sqlitePath extracts the file path from what follows "sqlite:" or "file:".
// After "//" everything is the path, so "///abs" is "/abs" and "//./rel" is
// "./rel"; there is no host part to speak of for a local file.
func sqlitePath(rest string) (string, error) {
	rest = strings.TrimPrefix(rest, "//")
	if strings.ContainsAny(rest, "?#") {
		// Connection options are Latchkey's to choose (foreign keys, WAL,
		// busy timeout); silently dropping the user's would be worse.
		return "", fmt.Errorf("query parameters are not supported for SQLite in %q", rest)
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("invalid escape in SQLite path %q", rest)
	}
	if path == "" {
		return "", errors.New("SQLite path is empty")
	}
	return filepath.Clean(path), nil
}
