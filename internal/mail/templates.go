package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"
)

// builtin holds the default templates: for each kind, <kind>.txt (the
// subject, in a "subject" block, and the plain-text body) and <kind>.html
// (the HTML body).
//
//go:embed templates/*.txt templates/*.html
var builtin embed.FS

// templates are the parsed templates of every kind.
type templates struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

// funcs are the functions templates may call, built-in or not.
var funcs = map[string]any{"human": human}

// loadTemplates parses the built-in templates, each replaced by the file of
// the same name in dir when there is one, and renders every kind once with
// sample data, so that a broken override stops start-up instead of the
// first mail.
func loadTemplates(dir string) (*templates, error) {
	if dir != "" {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("mail templates: %s is not a directory", dir)
		}
	}
	t := &templates{
		text: make(map[Kind]*texttemplate.Template),
		html: make(map[Kind]*htmltemplate.Template),
	}
	for _, k := range kinds {
		name, src, err := source(dir, string(k)+".txt")
		if err != nil {
			return nil, err
		}
		tt, err := texttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf(`mail templates: %s has no {{define "subject"}} block`, name)
		}
		t.text[k] = tt

		name, src, err = source(dir, string(k)+".html")
		if err != nil {
			return nil, err
		}
		ht, err := htmltemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		t.html[k] = ht
	}

	sample := Data{
		Email:     "user@example.com",
		Link:      "https://auth.example.com/verify-email#token=sample",
		ValidFor:  time.Hour,
		At:        time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		IP:        "192.0.2.1",
		PublicURL: "https://auth.example.com",
	}
	for _, k := range kinds {
		for _, reset := range []bool{false, true} {
			sample.Reset = reset
			if _, err := t.render(k, sample); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// source returns the text of the template file name: from dir when it
// holds one, else the built-in one. The returned name says which, for
// error messages.
func source(dir, name string) (string, string, error) {
	if dir != "" {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err == nil {
			return path, string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("mail templates: %w", err)
		}
	}
	b, err := builtin.ReadFile("templates/" + name)
	if err != nil {
		return "", "", fmt.Errorf("mail templates: built-in %s: %w", name, err)
	}
	return "built-in " + name, string(b), nil
}

// render executes the templates of kind with d. The Message it returns has
// its kind, subject, bodies and link; the caller addresses it.
func (t *templates) render(k Kind, d Data) (Message, error) {
	msg := Message{Kind: k, Link: d.Link}
	tt, ok := t.text[k]
	if !ok {
		return msg, fmt.Errorf("mail: unknown kind %q", k)
	}

	var b bytes.Buffer
	if err := tt.ExecuteTemplate(&b, "subject", d); err != nil {
		return msg, fmt.Errorf("mail templates: %w", err)
	}
	// A subject is one header line: line breaks in it would be a header
	// injection, whatever a template says.
	msg.Subject = strings.Join(strings.Fields(b.String()), " ")
	if msg.Subject == "" {
		return msg, fmt.Errorf("mail templates: %s renders an empty subject", tt.Name())
	}

	b.Reset()
	if err := tt.Execute(&b, d); err != nil {
		return msg, fmt.Errorf("mail templates: %w", err)
	}
	msg.Text = strings.TrimSpace(b.String()) + "\n"

	b.Reset()
	if err := t.html[k].Execute(&b, d); err != nil {
		return msg, fmt.Errorf("mail templates: %w", err)
	}
	msg.HTML = b.String()
	return msg, nil
}

// human spells a duration the way a mail would: "24 hours", "1 hour",
// "30 minutes".
func human(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0 && d != 24*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	default:
		return unit(int64(d/time.Second), "second")
	}
}
