package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/smtptest"
)

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

const (
	from = "Latchkey <no-reply@example.com>"
	link = "https://auth.example.com/verify-email#token=secret-token-value"
)

// message is a rendered verification mail for ada@example.com.
func message() mail.Message {
	return mail.Message{
		Kind:    mail.VerifyEmail,
		From:    from,
		To:      "ada@example.com",
		Subject: "Confirm your email address",
		Text:    "Open " + link + "\n",
		HTML:    `<p><a href="` + link + `">Confirm</a></p>`,
		Link:    link,
		Date:    time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestSMTPDeliversOverEachTransport(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		opts     smtptest.Options
		wantTLS  bool
		wantUser string
	}{
		{"in the clear when the server offers no STARTTLS", smtptest.Options{}, false, ""},
		{"upgraded with STARTTLS when the server offers it",
			smtptest.Options{STARTTLS: true}, true, ""},
		{"over implicit TLS for smtps", smtptest.Options{ImplicitTLS: true}, true, ""},
		{"authenticated with the URL's credentials after STARTTLS",
			smtptest.Options{STARTTLS: true, Username: "mailer", Password: "p@ss word"}, true,
			"mailer"},
		{"authenticated with the URL's credentials over implicit TLS",
			smtptest.Options{ImplicitTLS: true, Username: "mailer", Password: "p@ss word"}, true,
			"mailer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tc.opts)
			url := srv.URL
			if tc.opts.Username != "" {
				url = strings.Replace(url, "p@ss word", "p%40ss%20word", 1)
			}
			s, err := mail.NewSMTP(url, mail.SMTPOptions{TLSConfig: srv.ClientTLS}, nil)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if err := s.Send(t.Context(), message()); err != nil {
				t.Fatalf("Send: %v", err)
			}

			d := srv.Next(t, 10*time.Second)
			if d.TLS != tc.wantTLS || d.User != tc.wantUser {
				t.Errorf("delivered with TLS %v, user %q; want %v, %q", d.TLS, d.User, tc.wantTLS,
					tc.wantUser)
			}
			if d.From != "no-reply@example.com" || len(d.To) != 1 || d.To[0] != "ada@example.com" {
				t.Errorf("envelope from %q to %v; want no-reply@example.com to ada@example.com",
					d.From, d.To)
			}
			m := d.Parse(t)
			if m.Subject != "Confirm your email address" {
				t.Errorf("subject = %q", m.Subject)
			}
			if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) {
				t.Errorf("bodies lack the link:\ntext: %q\nhtml: %q", m.Text, m.HTML)
			}
		})
	}
}

func TestSMTPNeverSendsCredentialsOverAPlainConnection(t *testing.T) {
	t.Parallel()
	// The server offers AUTH PLAIN without TLS; the client must decline.
	srv := smtptest.Start(t, smtptest.Options{Username: "mailer", Password: "secret",
		InsecureAuth: true})
	s, err := mail.NewSMTP(srv.URL, mail.SMTPOptions{Backoff: time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	err = s.Send(t.Context(), message())
	if err == nil {
		t.Fatal("Send succeeded without TLS to authenticate over")
	}
	if mail.Transient(err) {
		t.Errorf("Transient(%v) = true; a missing TLS layer will not appear on retry", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q carries the password", err)
	}
	if n := srv.AuthCommands(); n != 0 {
		t.Errorf("server saw %d AUTH commands over a plain connection, want 0", n)
	}
	if n := srv.DataCommands(); n != 0 {
		t.Errorf("server saw %d DATA commands, want 0", n)
	}
}

func TestSMTPRetriesOnlyTransientFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		failFirst int
		failCode  int
		wantErr   bool
		wantData  int
	}{
		{"two 451 replies are retried until the third attempt delivers", 2, 451, false, 3},
		{"a 550 reply is final at once", 1, 550, true, 1},
		{"three 421 replies exhaust the attempts", 3, 421, true, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{FailFirst: tc.failFirst,
				FailCode: tc.failCode})
			s, err := mail.NewSMTP(srv.URL, mail.SMTPOptions{Attempts: 3,
				Backoff: time.Millisecond}, nil)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			err = s.Send(t.Context(), message())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Send error = %v; want error %v", err, tc.wantErr)
			}
			if got := srv.DataCommands(); got != tc.wantData {
				t.Errorf("DATA commands = %d, want %d", got, tc.wantData)
			}
		})
	}
}

func TestSMTPGivesUpWhenTheServerIsDown(t *testing.T) {
	t.Parallel()
	hole := smtptest.StartBlackhole(t)
	hole.Close()
	log, buf := newLog()
	s, err := mail.NewSMTP(hole.URL, mail.SMTPOptions{Attempts: 2, Backoff: time.Millisecond}, log)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	err = s.Send(t.Context(), message())
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if !mail.Transient(err) {
		t.Errorf("Transient(%v) = false; a refused connection may work later", err)
	}
	if !strings.Contains(err.Error(), "attempt 2 of 2") {
		t.Errorf("error %q does not report the last of 2 attempts", err)
	}
	if !strings.Contains(buf.String(), "will retry") {
		t.Errorf("the first failure was not logged:\n%s", buf)
	}
}

func TestSMTPStopsRetryingWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	hole := smtptest.StartBlackhole(t)
	hole.Close()
	s, err := mail.NewSMTP(hole.URL, mail.SMTPOptions{Attempts: 5, Backoff: time.Hour}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, message()) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "attempt 1 of 5") {
			t.Errorf("Send error = %v; want the cancellation or the first attempt's failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send kept waiting out its back-off after its context ended")
	}
}

func TestSMTPRefusesAnUntrustedCertificate(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{ImplicitTLS: true})
	s, err := mail.NewSMTP(srv.URL, mail.SMTPOptions{Backoff: time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	err = s.Send(t.Context(), message())
	if err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
	if mail.Transient(err) {
		t.Errorf("Transient(%v) = true; a bad certificate stays bad", err)
	}
}

func TestNewSMTPChecksTheURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url, wantAddr string
		wantErr             bool
	}{
		{"smtp defaults to the submission port", "smtp://mail.example.com", "mail.example.com:587",
			false},
		{"smtps defaults to the implicit TLS port", "smtps://u:pw@mail.example.com",
			"mail.example.com:465", false},
		{"an explicit port wins", "smtp://mail.example.com:2525", "mail.example.com:2525", false},
		{"another scheme is refused", "http://u:hunter2@mail.example.com", "", true},
		{"a missing host is refused", "smtp://u:hunter2@:25", "", true},
		{"a port out of range is refused", "smtp://u:hunter2@mail.example.com:70000", "", true},
		{"an unparsable URL is refused", "smtp://u:hunter2@mail example.com:%zz", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := mail.NewSMTP(tc.url, mail.SMTPOptions{}, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewSMTP(%q) succeeded", tc.url)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error %q carries the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSMTP(%q): %v", tc.url, err)
			}
			if s.Addr() != tc.wantAddr {
				t.Errorf("Addr() = %q, want %q", s.Addr(), tc.wantAddr)
			}
		})
	}
}

func TestOutboxWritesEMLFilesAndLogsLinksOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	for _, logLinks := range []bool{true, false} {
		name := "without the link in the log"
		if logLinks {
			name = "with the link in the log"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "outbox")
			log, buf := newLog()
			o, err := mail.NewOutbox(dir, logLinks, log)
			if err != nil {
				t.Fatalf("NewOutbox: %v", err)
			}
			if err := o.Send(t.Context(), message()); err != nil {
				t.Fatalf("Send: %v", err)
			}

			files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
			if err != nil || len(files) != 1 {
				t.Fatalf("outbox holds %v (%v); want one .eml file", files, err)
			}
			info, err := os.Stat(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("mail file mode = %v, want 0600: it carries a live token", perm)
			}
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			m, err := smtptest.Parse(raw)
			if err != nil {
				t.Fatalf("parse %s: %v", files[0], err)
			}
			if m.Subject != "Confirm your email address" || !strings.Contains(m.Text, link) {
				t.Errorf("outbox mail = %q / %q; want the subject and the link", m.Subject, m.Text)
			}
			if got := strings.Contains(buf.String(), link); got != logLinks {
				t.Errorf("link in log = %v, want %v:\n%s", got, logLinks, buf)
			}
			if !strings.Contains(buf.String(), files[0]) {
				t.Errorf("log does not name the file %s:\n%s", files[0], buf)
			}
		})
	}
}
