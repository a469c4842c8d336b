package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.Postgres(t) })
}

func TestMigrationStatusFollowsMigrate(t *testing.T) {
	t.Parallel()
	db, err := postgres.Open(t.Context(), storetest.PostgresSchemaURL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

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

func TestOpenReportsAnUnreachableServerAsUnavailable(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback address refuses connections at once.
	const url = "postgres://latchkey:secret@127.0.0.1:1/latchkey?sslmode=disable&connect_timeout=5"

	db, err := postgres.Open(t.Context(), url)
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded, want an error")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open error = %v, want ErrUnavailable", err)
	}
}

func TestOpenDoesNotRepeatTheURLOfAParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		{"a URL with a bad port", "postgres://latchkey:hunter2@localhost:99999999/db"},
		{"a URL that is not one", "postgres://latchkey:hunter2@local host:%zz/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := postgres.Open(t.Context(), tc.url)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, tc.url) {
				t.Errorf("error %q repeats the URL or its password", msg)
			}
		})
	}
}

func BenchmarkRotation(b *testing.B) {
	storetest.BenchmarkRotation(b, storetest.Postgres(b))
}

func BenchmarkRefreshState(b *testing.B) {
	storetest.BenchmarkRefreshState(b, storetest.Postgres(b))
}
