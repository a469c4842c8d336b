package revocation_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/revocation"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// postgresFeed returns a feed on a schema of its own and the handle it
// publishes through.
func postgresFeed(t *testing.T, url string) (*revocation.Postgres, *sql.DB) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := revocation.NewPostgres(ctx, db, url, nil)
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	return f, db
}

func TestPostgresFeedDeliversToEveryFollowerIncludingThePublisher(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	a, _ := postgresFeed(t, url)
	b, _ := postgresFeed(t, url)
	fa, fb := follow(t, a), follow(t, b)
	fa.wantState(t, true)
	fb.wantState(t, true)

	r := auth.Revocation{Sessions: []string{"s1", "s2"}, Users: []string{"u1"}}
	if err := a.Publish(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	fa.wantRevocation(t, r)
	fb.wantRevocation(t, r)
}

func TestPostgresFeedsOfOtherSchemasStayApart(t *testing.T) {
	t.Parallel()
	a, _ := postgresFeed(t, storetest.PostgresSchemaURL(t))
	b, _ := postgresFeed(t, storetest.PostgresSchemaURL(t))
	fa, fb := follow(t, a), follow(t, b)
	fa.wantState(t, true)
	fb.wantState(t, true)

	if err := a.Publish(context.Background(), auth.Revocation{Users: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	mine := auth.Revocation{Users: []string{"b"}}
	if err := b.Publish(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	// Notifications of one channel arrive in order, so b's own arriving
	// first means a's never will.
	fb.wantRevocation(t, mine)
	fa.wantRevocation(t, auth.Revocation{Users: []string{"a"}})
}

func TestPostgresChannelsAreValidIdentifiers(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	seen := map[string]bool{}
	for _, schema := range []string{"", "public", "latchkey", `we"ird schema`,
		strings.Repeat("x", 200)} {
		c := revocation.Channel(schema)
		if !valid.MatchString(c) || seen[c] {
			t.Errorf("Channel(%q) = %q: want a new identifier of at most 63 bytes", schema, c)
		}
		seen[c] = true
	}
}

func TestPostgresFeedReconnectsAfterItsConnectionIsKilled(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	f, db := postgresFeed(t, url)
	fl := follow(t, f)
	fl.wantState(t, true)

	var schema string
	if err := db.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query = $1`, `LISTEN "`+revocation.Channel(schema)+`"`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d listening connections, want 1", n)
	}
	fl.wantState(t, false)
	fl.wantState(t, true)

	r := auth.Revocation{Sessions: []string{"after"}}
	if err := f.Publish(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	fl.wantRevocation(t, r)
}

func TestPostgresFeedTreatsWhatItCannotDeliverAsAMissedRevocation(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	f, db := postgresFeed(t, url)
	fl := follow(t, f)
	fl.wantState(t, true)

	// Too many sessions for one notification.
	var many auth.Revocation
	for range 500 {
		many.Sessions = append(many.Sessions, "0190a0b1-0000-7000-8000-000000000000")
	}
	if err := f.Publish(context.Background(), many); err != nil {
		t.Fatal(err)
	}
	fl.wantState(t, false)
	fl.wantState(t, true)

	var schema string
	if err := db.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SELECT pg_notify($1, 'not json')",
		revocation.Channel(schema)); err != nil {
		t.Fatal(err)
	}
	fl.wantState(t, false)
	fl.wantState(t, true)
}
