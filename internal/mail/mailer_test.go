package mail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/smtptest"
)

// gate is a Sender whose deliveries wait until the test opens it, so that
// a test can hold the workers busy without depending on timing.
type gate struct {
	started chan mail.Message
	open    chan struct{}
	err     error
}

func newGate(err error) *gate {
	return &gate{started: make(chan mail.Message, 16), open: make(chan struct{}), err: err}
}

func (g *gate) Send(ctx context.Context, m mail.Message) error {
	g.started <- m
	select {
	case <-g.open:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) waitStarted(t *testing.T) mail.Message {
	t.Helper()
	select {
	case m := <-g.started:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery started")
		return mail.Message{}
	}
}

func newMailer(t *testing.T, s mail.Sender, o mail.Options) (*mail.Mailer, *logBuffer) {
	t.Helper()
	log, buf := newLog()
	if o.From == "" {
		o.From = from
	}
	m, err := mail.New(s, o, log)
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil && !errors.Is(err, mail.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return m, buf
}

var verifyData = mail.Data{Email: "ada@example.com", Link: link, ValidFor: 24 * time.Hour,
	PublicURL: "https://auth.example.com"}

func TestMailerSendReturnsBeforeDelivery(t *testing.T) {
	t.Parallel()
	g := newGate(nil)
	m, _ := newMailer(t, g, mail.Options{Workers: 1})

	m.Send(t.Context(), mail.VerifyEmail, "ada@example.com", verifyData)
	got := g.waitStarted(t)
	if st := m.Stats(); st.Sent != 0 || st.Failed != 0 {
		t.Fatalf("stats while delivery is held = %+v; want nothing finished", st)
	}
	if got.To != "ada@example.com" || got.From != from || got.Link != link {
		t.Errorf("queued message to %q from %q link %q", got.To, got.From, got.Link)
	}
	if got.Subject != "Confirm your email address" {
		t.Errorf("subject = %q", got.Subject)
	}
	if !strings.Contains(got.Text, link) || !strings.Contains(got.HTML, link) {
		t.Errorf("bodies lack the link:\n%s\n%s", got.Text, got.HTML)
	}
	if !strings.Contains(got.Text, "24 hours") {
		t.Errorf("text does not say how long the link works:\n%s", got.Text)
	}

	close(g.open)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := m.Stats(); st.Sent != 1 {
		t.Errorf("stats after drain = %+v; want one sent", st)
	}
}

func TestMailerDropsMailWhenTheQueueIsFull(t *testing.T) {
	t.Parallel()
	g := newGate(nil)
	m, buf := newMailer(t, g, mail.Options{Workers: 1, QueueSize: 1})

	m.Send(t.Context(), mail.VerifyEmail, "one@example.com", verifyData)
	// The worker holds the first mail, the queue takes the second, and
	// there is no room for the third.
	g.waitStarted(t)
	m.Send(t.Context(), mail.VerifyEmail, "two@example.com", verifyData)
	m.Send(t.Context(), mail.VerifyEmail, "three@example.com", verifyData)

	if st := m.Stats(); st.Dropped != 1 || st.Queued != 2 || st.Backlog != 2 {
		t.Errorf("stats = %+v; want 1 dropped, 2 queued and both in the backlog", st)
	}
	if !strings.Contains(buf.String(), "queue full") || !strings.Contains(buf.String(),
		"three@example.com") {
		t.Errorf("the dropped mail was not logged:\n%s", buf)
	}
	if strings.Contains(buf.String(), "secret-token-value") {
		t.Errorf("log carries the link's token:\n%s", buf)
	}
	close(g.open)
}

func TestMailerLogsAndCountsFailedDeliveries(t *testing.T) {
	t.Parallel()
	g := newGate(errors.New("connection refused"))
	close(g.open)
	m, buf := newMailer(t, g, mail.Options{})

	m.Send(t.Context(), mail.ResetPassword, "ada@example.com", verifyData)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := m.Stats(); st.Failed != 1 || st.Sent != 0 {
		t.Errorf("stats = %+v; want one failed", st)
	}
	out := buf.String()
	if !strings.Contains(out, "mail delivery failed") ||
		!strings.Contains(out, "connection refused") {
		t.Errorf("the failure was not logged with its cause:\n%s", out)
	}
	if strings.Contains(out, "secret-token-value") {
		t.Errorf("log carries the link's token:\n%s", out)
	}
}

func TestMailerCloseCancelsDeliveriesWhenItsDeadlinePasses(t *testing.T) {
	t.Parallel()
	g := newGate(nil)
	m, _ := newMailer(t, g, mail.Options{Workers: 1})
	m.Send(t.Context(), mail.VerifyEmail, "ada@example.com", verifyData)
	g.waitStarted(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with an ended context = %v; want context.Canceled", err)
	}
	if st := m.Stats(); st.Failed != 1 {
		t.Errorf("stats = %+v; want the held delivery counted as failed", st)
	}
	m.Send(t.Context(), mail.VerifyEmail, "late@example.com", verifyData)
	if st := m.Stats(); st.Dropped != 1 {
		t.Errorf("stats after a send to a closed mailer = %+v; want 1 dropped", st)
	}
	if err := m.Close(t.Context()); !errors.Is(err, mail.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestMailerDeliversOverSMTPInTheBackground(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{STARTTLS: true})
	s, err := mail.NewSMTP(srv.URL, mail.SMTPOptions{TLSConfig: srv.ClientTLS}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	m, _ := newMailer(t, s, mail.Options{})
	at := time.Date(2030, 5, 6, 7, 8, 0, 0, time.UTC)
	m.Send(t.Context(), mail.PasswordChanged, "ada@example.com", mail.Data{
		Email: "ada@example.com", At: at, IP: "198.51.100.4", Reset: true})

	got := srv.Next(t, 10*time.Second).Parse(t)
	if got.Subject != "Your password was reset" {
		t.Errorf("subject = %q, want the reset notice", got.Subject)
	}
	for _, want := range []string{"6 May 2030 at 07:08 UTC", "198.51.100.4", "Every session"} {
		if !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, want) {
			t.Errorf("notice lacks %q:\ntext: %s\nhtml: %s", want, got.Text, got.HTML)
		}
	}
}

func TestTemplatesComeFromTheOverrideDirectory(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, files map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}

	t.Run("an override replaces its file and the others stay built in", func(t *testing.T) {
		t.Parallel()
		dir := write(t, map[string]string{
			"verify_email.txt": `{{define "subject"}}Welcome to Example{{end}}` +
				`Hi {{.Email}}: {{.Link}}`,
		})
		g := newGate(nil)
		close(g.open)
		m, _ := newMailer(t, g, mail.Options{TemplatesDir: dir})
		m.Send(t.Context(), mail.VerifyEmail, "ada@example.com", verifyData)
		got := g.waitStarted(t)
		if got.Subject != "Welcome to Example" || got.Text != "Hi ada@example.com: "+link+"\n" {
			t.Errorf("overridden mail = %q / %q", got.Subject, got.Text)
		}
		if !strings.Contains(got.HTML, "Confirm my address") {
			t.Errorf("HTML is not the built-in one:\n%s", got.HTML)
		}
	})

	broken := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"a template that does not parse", func(t *testing.T) string {
			return write(t, map[string]string{"reset_password.html": "{{if}}"})
		}},
		{"a template without a subject", func(t *testing.T) string {
			return write(t, map[string]string{"reset_password.txt": "{{.Link}}"})
		}},
		{"a template naming a field that does not exist", func(t *testing.T) string {
			return write(t, map[string]string{"password_changed.html": "{{.Password}}"})
		}},
		{"a directory that does not exist", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "missing")
		}},
	}
	for _, tc := range broken {
		t.Run(tc.name+" stops start-up", func(t *testing.T) {
			t.Parallel()
			_, err := mail.New(newGate(nil), mail.Options{From: from, TemplatesDir: tc.dir(t)}, nil)
			if err == nil {
				t.Fatal("mail.New succeeded")
			}
		})
	}
}

func TestHTMLBodiesEscapeWhatTheyShow(t *testing.T) {
	t.Parallel()
	g := newGate(nil)
	close(g.open)
	m, _ := newMailer(t, g, mail.Options{})
	d := verifyData
	d.Email = `x"><script>alert(1)</script>@example.com`
	m.Send(t.Context(), mail.VerifyEmail, "ada@example.com", d)
	got := g.waitStarted(t)
	if strings.Contains(got.HTML, "<script>") {
		t.Errorf("HTML body carries markup from the data:\n%s", got.HTML)
	}
}

func TestLinksLastForWordsAMailCanSay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "24 hours"},
		{time.Hour, "1 hour"},
		{30 * time.Minute, "30 minutes"},
		{48 * time.Hour, "2 days"},
		{90 * time.Minute, "90 minutes"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			g := newGate(nil)
			close(g.open)
			m, _ := newMailer(t, g, mail.Options{})
			d := verifyData
			d.ValidFor = tc.d
			m.Send(t.Context(), mail.ResetPassword, "ada@example.com", d)
			if got := g.waitStarted(t); !strings.Contains(got.Text, "for "+tc.want+".") {
				t.Errorf("text for %s does not say %q:\n%s", tc.d, tc.want, got.Text)
			}
		})
	}
}

func TestMailerCountsAMailItCannotRenderAsFailed(t *testing.T) {
	t.Parallel()
	g := newGate(nil)
	close(g.open)
	m, buf := newMailer(t, g, mail.Options{})
	m.Send(t.Context(), mail.Kind("no_such_kind"), "ada@example.com", verifyData)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := m.Stats(); st.Failed != 1 || st.Sent != 0 {
		t.Errorf("stats = %+v; want one failed", st)
	}
	if !strings.Contains(buf.String(), "no_such_kind") {
		t.Errorf("the failure does not name the kind:\n%s", buf)
	}
}
