package mail_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/smtptest"
)

// retryIn reads the pauses the sender logged before each retry.
var retryIn = regexp.MustCompile(`will retry.*retry_in=(\S+)`)

func TestSMTPPausesLongerBeforeEachRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts smtptest.Options
	}{
		{"after 451 replies", smtptest.Options{FailFirst: 4, FailCode: 451}},
		{"after refused connections", smtptest.Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := smtptest.Start(t, tc.opts).URL
			if tc.opts.FailFirst == 0 {
				hole := smtptest.StartBlackhole(t)
				hole.Close()
				url = hole.URL
			}
			log, buf := newLog()
			const base = 4 * time.Millisecond
			s, err := mail.NewSMTP(url, mail.SMTPOptions{Attempts: 4, Backoff: base}, log)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if err := s.Send(t.Context(), message()); err == nil {
				t.Fatal("Send succeeded; want every attempt to fail")
			}

			var pauses []time.Duration
			for _, m := range retryIn.FindAllStringSubmatch(buf.String(), -1) {
				d, err := time.ParseDuration(m[1])
				if err != nil {
					t.Fatalf("retry_in %q: %v", m[1], err)
				}
				pauses = append(pauses, d)
			}
			if len(pauses) != 3 {
				t.Fatalf("logged %d retries, want 3 (4 attempts):\n%s", len(pauses), buf)
			}
			// Each pause doubles and is jittered by at most a quarter, so
			// pause i lies within [0.75, 1.25] of base·2^i.
			for i, got := range pauses {
				want := base << i
				if got < want*3/4 || got > want*5/4 {
					t.Errorf("pause %d = %v; want %v give or take a quarter", i+1, got, want)
				}
			}
		})
	}
}
