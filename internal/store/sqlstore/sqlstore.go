// Package sqlstore implements store.Store once, over database/sql, for every
// SQL engine Latchkey supports. An engine package opens the connections and
// supplies a Dialect for what differs between engines: placeholder syntax,
// how timestamps are kept, and how its driver reports constraint violations
// and lost connections.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Store is a store.Store over database/sql.
type Store struct {
	read  *sql.DB
	write *sql.DB
	d     Dialect
	q     queries
	ot    oneTimeQueries
	ops   opsQueries
	mfa   mfaQueries
	mail  mailQueries
}

var _ store.Store = (*Store)(nil)

// New returns a Store that runs single-statement reads on read and every
// write and transaction on write. Both may be the same handle; an engine
// that allows a single writer at a time (SQLite) passes a one-connection
// write pool so writers queue in Go rather than on the database lock.
func New(read, write *sql.DB, d Dialect) *Store {
	bind := func(q string) string { return q }
	if d.NumberedParams {
		bind = rebindNumbered
	}
	return &Store{
		read:  read,
		write: write,
		d:     d,
		q:     newQueries(bind),
		ot:    newOneTimeQueries(bind),
		ops:   newOpsQueries(bind),
		mfa:   newMFAQueries(bind),
		mail:  newMailQueries(bind),
	}
}

// DB returns the handle writes go through, for maintenance jobs and tests
// that need SQL the store contract does not offer.
func (s *Store) DB() *sql.DB { return s.write }

// Rebind rewrites a query written with ? placeholders into the engine's
// placeholder style.
func (s *Store) Rebind(query string) string {
	if s.d.NumberedParams {
		return rebindNumbered(query)
	}
	return query
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return s.fail("ping", err)
		}
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// The rollback error says nothing the caller can act on beyond err.
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// fail wraps the error of operation op with the sentinel callers branch on,
// keeping the driver error in the chain for logs.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	prefix := s.d.Name + ": " + op
	if isSentinel(err) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", prefix, store.ErrNotFound)
	}
	if v, ok := s.d.Violation(err); ok {
		// A missing parent row is an unknown user or session; a duplicate
		// is a record someone else already wrote.
		kind := store.ErrConflict
		if v.Kind == ForeignKey {
			kind = store.ErrNotFound
		}
		return fmt.Errorf("%s: %w: %w", prefix, kind, err)
	}
	if s.unavailable(err) {
		return fmt.Errorf("%s: %w: %w", prefix, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func (s *Store) unavailable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		s.d.Unavailable(err)
}

func isSentinel(err error) bool {
	for _, target := range []error{store.ErrNotFound, store.ErrEmailTaken,
		store.ErrUsernameTaken, store.ErrConflict, store.ErrUnavailable} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// ts converts t for a timestamp column.
func (s *Store) ts(t time.Time) any {
	t = t.UTC()
	if s.d.UnixMicro {
		return t.UnixMicro()
	}
	return t
}

// nullTS converts t for a nullable timestamp column, where the zero time is
// stored as NULL.
func (s *Store) nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.ts(t)
}

// nullString stores the empty string as NULL, for columns where several
// rows may have no value but present values are unique.
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// queryRower is what *sql.DB and *sql.Tx share for single-row queries.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exists runs a SELECT EXISTS query.
func exists(ctx context.Context, q queryRower, query string, args ...any) (bool, error) {
	var found bool
	err := q.QueryRowContext(ctx, query, args...).Scan(&found)
	return found, err
}
