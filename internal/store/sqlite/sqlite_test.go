package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.SQLite(t) })
}

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestOpenCreatesTheDirectoryAndConfiguresTheFile(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "nested", "dir", "latchkey.db"))

	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"},
		{"busy_timeout", "5000"},
	}
	for _, tc := range tests {
		t.Run("the write connection has "+tc.pragma+" "+tc.want, func(t *testing.T) {
			var got string
			err := db.DB().QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got)
			if err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
}

func TestOpenRefusesPathsTheDriverWouldReadAsOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"an empty path", ""},
		{"an in-memory database", ":memory:"},
		{"a path with a query", filepath.Join(dir, "a.db?mode=memory")},
		{"a file URI", "file:" + filepath.Join(dir, "a.db")},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			t.Parallel()
			db, err := sqlite.Open(t.Context(), tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.path)
			}
		})
	}
}

func TestMigrationStatusFollowsMigrate(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "latchkey.db"))

	before, err := db.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(before) == 0 {
		t.Fatal("MigrationStatus lists no migrations")
	}
	for _, m := range before {
		if m.Applied || !m.AppliedAt.IsZero() {
			t.Errorf("before Migrate: %+v, want pending", m)
		}
	}
	if before[0].Version != 1 || before[0].Name != "00001_initial.sql" {
		t.Errorf("first migration = %d %q, want 1 00001_initial.sql",
			before[0].Version, before[0].Name)
	}

	start := time.Now().Add(-time.Minute)
	for i := range 2 {
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	after, err := db.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(after) != len(before) {
		t.Fatalf("after Migrate: %d migrations, want %d", len(after), len(before))
	}
	for _, m := range after {
		if !m.Applied || m.AppliedAt.Before(start) || m.AppliedAt.Location() != time.UTC {
			t.Errorf("after Migrate: %+v, want applied just now, in UTC", m)
		}
	}
}

// TestWritersOfTwoHandlesNeverSeeALockedDatabase stands for two processes
// sharing the file: each has its own writer, so they contend on SQLite's
// lock, which IMMEDIATE transactions and the busy timeout must absorb.
func TestWritersOfTwoHandlesNeverSeeALockedDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	first := open(t, path)
	if err := first.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	second := open(t, path)

	const perHandle = 25
	now := time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHandle)
	for h, db := range []*sqlite.DB{first, second} {
		for i := range perHandle {
			wg.Go(func() {
				id := fmt.Sprintf("user-%d-%d", h, i)
				u := store.User{ID: id, Email: id + "@example.com", PasswordHash: "x",
					Role: store.RoleUser, CreatedAt: now, UpdatedAt: now}
				if err := db.CreateUser(t.Context(), u); err != nil {
					errs <- err
					return
				}
				errs <- db.UpdatePasswordHash(t.Context(), id, "y", now.Add(time.Second))
			})
		}
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("write failed: %v", err)
		}
	}
}

func BenchmarkRotation(b *testing.B) {
	storetest.BenchmarkRotation(b, storetest.SQLite(b))
}

func BenchmarkRefreshState(b *testing.B) {
	storetest.BenchmarkRefreshState(b, storetest.SQLite(b))
}
