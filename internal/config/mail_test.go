package config

import "testing"

func TestLoadReadsTheMailTemplatesDirectory(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset keeps the built-in templates", map[string]string{}, ""},
		{"blank counts as unset", map[string]string{"MAIL_TEMPLATES_DIR": "  "}, ""},
		{"a path is taken as given, trimmed", map[string]string{
			"MAIL_TEMPLATES_DIR": " /etc/latchkey/mail "}, "/etc/latchkey/mail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := mustLoad(t, tc.env).MailTemplatesDir; got != tc.want {
				t.Errorf("MailTemplatesDir = %q, want %q", got, tc.want)
			}
		})
	}
}
