package sqlstore

import "testing"

func TestRebindNumbered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"a query without placeholders is unchanged",
			"SELECT 1", "SELECT 1"},
		{"placeholders are numbered from one, left to right",
			"UPDATE t SET a = ? WHERE b = ? AND c <> ?",
			"UPDATE t SET a = $1 WHERE b = $2 AND c <> $3"},
		{"a question mark inside a string literal is kept",
			"SELECT '?', x FROM t WHERE y = ? AND z = 'it''s ?'",
			"SELECT '?', x FROM t WHERE y = $1 AND z = 'it''s ?'"},
		{"numbering goes past nine",
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := rebindNumbered(tc.query); got != tc.want {
				t.Errorf("rebindNumbered(%q) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}
