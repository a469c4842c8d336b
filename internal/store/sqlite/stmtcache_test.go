package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openCaching opens a one-connection pool through cachingConnector on a
// new file with a table t (n INTEGER PRIMARY KEY).
func openCaching(t *testing.T) *sql.DB {
	t.Helper()
	conn, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "cache.db") +
		"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cachingConnector{conn})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (n INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if _, err := db.ExecContext(t.Context(), "INSERT INTO t (n) VALUES (?)", n); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cached returns how many statements the pool's one connection keeps.
func cached(t *testing.T, db *sql.DB) int {
	t.Helper()
	c, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := -1
	err = c.Raw(func(dc any) error {
		cc, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection is a %T", dc)
		}
		n = len(cc.stmts)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sum(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string) (int, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, rows.Err()
}

func TestRepeatedQueriesShareOnePreparedStatement(t *testing.T) {
	t.Parallel()
	db := openCaching(t)
	before := cached(t, db)

	for i := range 5 {
		var got int
		err := db.QueryRowContext(t.Context(), "SELECT n FROM t WHERE n = ?", i%3+1).Scan(&got)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if got != i%3+1 {
			t.Fatalf("query %d: got %d, want %d", i, got, i%3+1)
		}
	}
	if got := cached(t, db); got != before+1 {
		t.Errorf("cached statements: got %d, want %d", got, before+1)
	}
}

func TestAQueryWhoseRowsAreOpenRunsAgainUnprepared(t *testing.T) {
	t.Parallel()
	db := openCaching(t)
	const query = "SELECT n FROM t ORDER BY n"

	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	if !outer.Next() {
		t.Fatalf("outer query has no first row: %v", outer.Err())
	}

	// The same text again on the same connection while the outer rows are
	// open: reusing the statement would reset the outer cursor.
	if got, err := sum(t.Context(), tx, query); err != nil || got != 6 {
		t.Fatalf("inner query: got %d, %v; want 6", got, err)
	}
	var ns []int
	for ok := true; ok; ok = outer.Next() {
		var n int
		if err := outer.Scan(&n); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ns) != "[1 2 3]" {
		t.Errorf("outer rows: got %v, want [1 2 3]", ns)
	}
}

func TestAFailedStatementStaysUsableAndKeepsTheDriverError(t *testing.T) {
	t.Parallel()
	db := openCaching(t)
	const insert = "INSERT INTO t (n) VALUES (?)"

	_, err := db.ExecContext(t.Context(), insert, 1)
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		t.Fatalf("duplicate insert: got %v, want a primary key violation", err)
	}
	if _, err := db.ExecContext(t.Context(), insert, 4); err != nil {
		t.Fatalf("insert after the failure: %v", err)
	}
	if got, err := sum(t.Context(), db, "SELECT n FROM t"); err != nil || got != 10 {
		t.Errorf("sum: got %d, %v; want 10", got, err)
	}
}

func TestTheCacheIsBoundedAndQueriesPastItStillRun(t *testing.T) {
	t.Parallel()
	db := openCaching(t)

	for i := range maxCachedStmts + 10 {
		var got int
		query := fmt.Sprintf("SELECT %d", i)
		if err := db.QueryRowContext(t.Context(), query).Scan(&got); err != nil || got != i {
			t.Fatalf("%s: got %d, %v", query, got, err)
		}
	}
	if got := cached(t, db); got != maxCachedStmts {
		t.Errorf("cached statements: got %d, want %d", got, maxCachedStmts)
	}
}

func TestACachedStatementFollowsASchemaChange(t *testing.T) {
	t.Parallel()
	db := openCaching(t)
	const query = "SELECT * FROM t WHERE n = 1"

	columns := func() int {
		t.Helper()
		rows, err := db.QueryContext(t.Context(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(cols)
	}
	if got := columns(); got != 1 {
		t.Fatalf("columns before: got %d, want 1", got)
	}
	if _, err := db.ExecContext(t.Context(), "ALTER TABLE t ADD COLUMN m INTEGER"); err != nil {
		t.Fatal(err)
	}
	if got := columns(); got != 2 {
		t.Errorf("columns after ALTER TABLE: got %d, want 2", got)
	}
}
