// Package sqlite is Latchkey's embedded storage engine: a single SQLite
// file, through the pure-Go modernc.org/sqlite driver, so the server needs
// nothing installed.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMillis bounds how long a connection waits on another
// process's lock before giving up with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// Migration is the state of one schema migration.
type Migration = sqlstore.Migration

// DB is a SQLite database holding Latchkey's data. It implements
// store.Store.
type DB struct {
	*sqlstore.Store
	migrator *sqlstore.Migrator
}

// Open opens the SQLite database file at path, creating the file and its
// parent directory when missing. Call Migrate before use.
//
// Writes go through a single connection whose transactions begin
// IMMEDIATE: writers of this process queue in Go instead of failing with
// "database is locked", and a writer in another process waits up to the
// busy timeout rather than failing when it upgrades a read lock. Reads use
// a separate pool of read-only connections that, in WAL mode, never wait
// for the writer.
func Open(ctx context.Context, path string) (*DB, error) {
	// The driver reads a query string or URI as options, and ":memory:"
	// would give each pooled connection a database of its own.
	if path == "" || path == ":memory:" || strings.ContainsRune(path, '?') ||
		strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: %q is not a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}

	write, err := openPool(ctx, path, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"foreign_keys(1)",
			"journal_mode(WAL)",
			"synchronous(NORMAL)",
		},
		"_txlock": {"immediate"},
	}, 1)
	if err != nil {
		return nil, err
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read, err := openPool(ctx, path, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"query_only(1)",
		},
	}, readers)
	if err != nil {
		return nil, errors.Join(err, write.Close())
	}

	s := sqlstore.New(read, write, dialect)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %w", err), s.Close())
	}
	m, err := sqlstore.NewMigrator(s, goose.DialectSQLite3, sub)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return &DB{Store: s, migrator: m}, nil
}

// openPool opens a pool of at most conns connections to path, configured
// by params, and checks that it works.
func openPool(ctx context.Context, path string, params url.Values, conns int) (*sql.DB, error) {
	conn, err := sqlite.NewConnector(path + "?" + params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db := sql.OpenDB(cachingConnector{conn})
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		err = fmt.Errorf("sqlite: open %s: %w", path, err)
		if unavailable(err) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// Migrate applies every pending schema migration.
func (db *DB) Migrate(ctx context.Context) error {
	return db.migrator.Up(ctx)
}

// MigrationStatus returns every migration, in version order, with whether
// and when it was applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	return db.migrator.Status(ctx)
}

var dialect = sqlstore.Dialect{
	Name:        "sqlite",
	UnixMicro:   true,
	Violation:   violation,
	Unavailable: unavailable,
}

// violation classifies constraint errors by SQLite's extended result code,
// which the driver always enables. SQLite does not report the constraint's
// name other than in the message text, so the constraint is left empty.
func violation(err error) (sqlstore.Violation, bool) {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.Violation{}, false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.Violation{Kind: sqlstore.Unique}, true
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.Violation{Kind: sqlstore.ForeignKey}, true
	}
	return sqlstore.Violation{}, false
}

// unavailable reports errors that mean the file cannot be used right now:
// locked past the busy timeout, unreadable, or on a full disk.
func unavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
		return true
	}
	return false
}
