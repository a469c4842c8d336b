package config

import (
	"strings"
	"testing"
)

func TestLoadReadsTheHostedPagesSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		env    map[string]string
		pages  bool
		prefix string
	}{
		{"by default the pages are on, at the root", nil, true, ""},
		{"a prefix is kept as given", map[string]string{"WEB_PREFIX": "/auth/ui"}, true,
			"/auth/ui"},
		{"a lone slash is the root", map[string]string{"WEB_PREFIX": "/"}, true, ""},
		{"the pages can be turned off", map[string]string{"WEB_PAGES": "false"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tc.env)
			if c.WebPages != tc.pages || c.WebPrefix != tc.prefix {
				t.Errorf("WebPages, WebPrefix = %v, %q; want %v, %q", c.WebPages, c.WebPrefix,
					tc.pages, tc.prefix)
			}
		})
	}
}

func TestLoadRefusesABadWebPrefix(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"auth", "/auth/", "//auth", "/a/../b", "/a b", "/a?b",
		"/api", "/api/pages"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			problems := loadProblems(t, map[string]string{"WEB_PREFIX": bad})
			if len(problems) != 1 || problems[0].Var != "WEB_PREFIX" ||
				!strings.Contains(problems[0].Message, bad) {
				t.Errorf("WEB_PREFIX=%q: problems %v, want one naming WEB_PREFIX and the value",
					bad, problems)
			}
		})
	}
	if problems := loadProblems(t, map[string]string{"WEB_PAGES": "sometimes"}); len(problems) != 1 ||
		problems[0].Var != "WEB_PAGES" {
		t.Errorf("WEB_PAGES=sometimes: problems %v, want one naming WEB_PAGES", problems)
	}
}
