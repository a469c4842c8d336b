// Package postgres is Latchkey's production storage engine: PostgreSQL
// through pgx's database/sql driver, shared by any number of server
// instances.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool limits. The API's hot paths are single short statements or short
// transactions, so a modest pool per instance serves thousands of requests
// per second while leaving the server's connection limit for the other
// instances. Every open connection may stay idle: a pool that keeps fewer
// idle than it opens closes and reopens connections through every burst of
// load, and each new one costs a server process and a cold statement cache.
const (
	maxOpenConns    = 20
	maxIdleConns    = maxOpenConns
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// Migration is the state of one schema migration.
type Migration = sqlstore.Migration

// DB is a PostgreSQL database holding Latchkey's data. It implements
// store.Store.
type DB struct {
	*sqlstore.Store
	migrator *sqlstore.Migrator
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value string) and checks that it answers; an unreachable server
// gives store.ErrUnavailable. Tables live in the first schema of the
// connection's search_path, which the URL may set. Call Migrate before use.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, parseError(err)
	}
	// Sessions run in UTC so that server-side defaults, such as the
	// migration table's timestamps, do not depend on the server's zone.
	if !hasParam(cfg.RuntimeParams, "timezone") {
		cfg.RuntimeParams["timezone"] = "UTC"
	}

	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)

	s := sqlstore.New(db, db, dialect)
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	m, err := newMigrator(ctx, s)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return &DB{Store: s, migrator: m}, nil
}

// newMigrator returns the migrator for the schema the connection uses. It
// holds a session-level advisory lock while migrating, so that instances
// starting together apply each migration once. The lock id is derived
// from the schema, so databases in other schemas of the same server do not
// wait for each other.
func newMigrator(ctx context.Context, s *sqlstore.Store) (*sqlstore.Migrator, error) {
	var schema sql.NullString
	if err := s.DB().QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("postgres: current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("latchkey migrations " + schema.String))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlstore.NewMigrator(s, goose.DialectPostgres, sub, goose.WithSessionLocker(locker))
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

func hasParam(params map[string]string, name string) bool {
	for k := range params {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// parseError reports a connection string pgx could not parse without
// repeating the string: pgx masks the passwords it recognizes, but a
// malformed string can hide one from it.
func parseError(err error) error {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) || pe.Unwrap() == nil {
		return errors.New("postgres: cannot parse the database URL")
	}
	cause := pe.Unwrap()
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err
	}
	return fmt.Errorf("postgres: cannot parse the database URL: %w", cause)
}

var dialect = sqlstore.Dialect{
	Name:           "postgres",
	NumberedParams: true,
	Violation:      violation,
	Unavailable:    unavailable,
}

// SQLSTATE codes, from the PostgreSQL manual's appendix A.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	classConnectionException = "08"
	codeQueryCanceled        = "57014"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeTooManyConnections   = "53300"
)

func violation(err error) (sqlstore.Violation, bool) {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return sqlstore.Violation{}, false
	}
	switch e.Code {
	case codeUniqueViolation:
		return sqlstore.Violation{Kind: sqlstore.Unique, Constraint: e.ConstraintName}, true
	case codeForeignKeyViolation:
		return sqlstore.Violation{Kind: sqlstore.ForeignKey, Constraint: e.ConstraintName}, true
	}
	return sqlstore.Violation{}, false
}

// unavailable reports errors meaning the server could not be reached,
// went away, refused the connection or did not answer in time.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeQueryCanceled, codeAdminShutdown, codeCrashShutdown,
			codeCannotConnectNow, codeTooManyConnections:
			return true
		}
		return strings.HasPrefix(pgErr.Code, classConnectionException)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		pgconn.Timeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

var _ store.Store = (*DB)(nil)
