package postgres_test

import (
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestBurstsOfLoadReuseThePoolsConnections(t *testing.T) {
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

	// Each burst holds every connection of the pool at once, as a load
	// spike does, and then lets them all go back.
	burst := func() {
		t.Helper()
		var wg sync.WaitGroup
		for range 2 * db.DB().Stats().MaxOpenConnections {
			wg.Go(func() {
				if _, err := db.DB().ExecContext(t.Context(), "SELECT pg_sleep(0.02)"); err != nil {
					t.Errorf("query: %v", err)
				}
			})
		}
		wg.Wait()
	}
	for range 3 {
		burst()
	}

	if got := db.DB().Stats().MaxIdleClosed; got != 0 {
		t.Errorf("connections closed for want of idle room: got %d, want 0", got)
	}
}
