package httpapi_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

// oneTimeRow is a row of the one-time token table, as the database holds
// it.
type oneTimeRow struct {
	id, userID, purpose, hash string
}

func oneTimeRows(t *testing.T, st store.Store) []oneTimeRow {
	t.Helper()
	h, ok := st.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("%T has no DB method to read the table with", st)
	}
	rows, err := h.DB().QueryContext(t.Context(),
		`SELECT id, user_id, purpose, token_hash FROM one_time_tokens`)
	if err != nil {
		t.Fatalf("read one_time_tokens: %v", err)
	}
	defer rows.Close()
	var out []oneTimeRow
	for rows.Next() {
		var r oneTimeRow
		if err := rows.Scan(&r.id, &r.userID, &r.purpose, &r.hash); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMailedTokensAreStoredOnlyAsKeyedHashes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		m := newMailEnv(t, st)
		b := m.browser()
		b.register("ada@example.com")
		mailed := map[string]string{
			store.PurposeVerifyEmail:   m.requestVerification(t, b, "ada@example.com"),
			store.PurposeResetPassword: m.requestReset(t, "ada@example.com"),
		}
		keyed, err := token.NewKeyed(refreshSecret)
		if err != nil {
			t.Fatal(err)
		}

		rows := oneTimeRows(t, st)
		for purpose, tok := range mailed {
			t.Run("the "+purpose+" token", func(t *testing.T) {
				found := false
				for _, r := range rows {
					for _, col := range []string{r.id, r.userID, r.purpose, r.hash} {
						if strings.Contains(col, tok) {
							t.Errorf("a %s row holds the mailed token in the clear", r.purpose)
						}
					}
					found = found || r.purpose == purpose && r.hash == keyed.Hash(tok)
				}
				if !found {
					t.Errorf("no %s row holds the keyed hash of the mailed token; rows %v",
						purpose, rows)
				}
			})
		}
	})
}
