package auth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateKeepsValidTextWithinTheLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short text is unchanged", "curl/8.0", 512, "curl/8.0"},
		{"long text is cut", strings.Repeat("a", 600), 512, strings.Repeat("a", 512)},
		{"a cut never splits a character", "ab" + "é", 3, "ab"},
		{"invalid UTF-8 is dropped", "a\xffb", 10, "ab"},
		{"NUL bytes are dropped", "a\x00b", 10, "ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) || len(got) > tc.n {
				t.Errorf("truncate(%q, %d) = %q; want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
