package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	// The pgx driver, for the connection that creates and drops schemas.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// PostgresURLEnv names the environment variable holding the URL of the
// PostgreSQL server tests run against.
const PostgresURLEnv = "LATCHKEY_TEST_POSTGRES_URL"

// setupTimeout bounds opening, migrating and dropping a test database.
const setupTimeout = time.Minute

// SQLite returns a migrated store in a new SQLite file under t.TempDir(),
// closed when the test ends.
func SQLite(t testing.TB) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close SQLite store: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate SQLite store: %v", err)
	}
	return db
}

// Postgres returns a migrated store in a schema of its own on the test
// server, dropped when the test ends, so tests may run in parallel. See
// PostgresURL for when the test is skipped instead.
func Postgres(t testing.TB) store.Store {
	t.Helper()
	schemaURL := PostgresSchemaURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	db, err := postgres.Open(ctx, schemaURL)
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close PostgreSQL store: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate PostgreSQL store: %v", err)
	}
	return db
}

// Each runs f as two subtests, "sqlite" and "postgres", each with a fresh
// migrated store of that engine.
func Each(t *testing.T, f func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

// PostgresURL returns the URL of the test server from PostgresURLEnv. When
// the variable is unset it skips the test, or fails it when CI=true, so
// that continuous integration cannot pass without running on PostgreSQL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u != "" {
		return u
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set; PostgreSQL tests are required when CI=true", PostgresURLEnv)
	}
	t.Skipf("%s is not set", PostgresURLEnv)
	return ""
}

// PostgresSchemaURL creates an empty schema with a random name on the test
// server and returns a URL whose connections put their tables in it. The
// schema and everything in it are dropped when the test ends.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresURLEnv, err)
	}
	admin.SetMaxOpenConns(1)
	// The name is made of fixed letters and base32 digits, so quoting is
	// enough to use it in SQL.
	schema := "latchkey_test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// withSearchPath adds search_path to a postgres:// URL or a keyword/value
// connection string; pgx sends it as a run-time parameter of every
// connection.
func withSearchPath(t testing.TB, conn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(conn, "postgres://") && !strings.HasPrefix(conn, "postgresql://") {
		return conn + " search_path=" + schema
	}
	u, err := url.Parse(conn)
	if err != nil {
		t.Fatalf("%s is not a valid URL", PostgresURLEnv)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
