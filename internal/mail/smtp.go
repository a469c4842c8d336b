package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPOptions tune an SMTP sender. Zero values take the defaults.
type SMTPOptions struct {
	// Timeout bounds connecting and each command of one attempt; 10s.
	Timeout time.Duration
	// Attempts is how many times one mail is tried when the failures are
	// transient (a refused or dropped connection, a 4xx reply); 3.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one and jittered; 1s.
	Backoff time.Duration
	// TLSConfig verifies the server's certificate; nil uses the system's
	// roots. ServerName defaults to the URL's host.
	TLSConfig *tls.Config
}

// SMTP is a Sender that delivers through an SMTP server.
type SMTP struct {
	addr     string
	options  []gomail.Option
	attempts int
	backoff  time.Duration
	log      *slog.Logger
}

// Default ports: message submission with STARTTLS, and submission over
// implicit TLS.
const (
	portSubmission    = 587
	portSubmissionTLS = 465
)

// NewSMTP returns a sender for the server of rawURL:
// smtp://[user:password@]host[:port] speaks STARTTLS when the server offers
// it (port 587 by default), smtps:// uses TLS from the first byte (port 465
// by default). With credentials it authenticates with the strongest
// mechanism the server offers, and never sends a password in the clear
// over a connection that is not encrypted.
func NewSMTP(rawURL string, o SMTPOptions, log *slog.Logger) (*SMTP, error) {
	if log == nil {
		log = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}

	u, err := url.Parse(rawURL)
	if err != nil {
		// The parser's message quotes the URL, password included.
		return nil, errors.New("mail: SMTP URL does not parse")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	port := portSubmission
	if u.Scheme == "smtps" {
		port = portSubmissionTLS
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP port %q is invalid", p)
		}
		port = n
	}

	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tc = o.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(o.Timeout),
		gomail.WithTLSConfig(tc),
	}
	switch u.Scheme {
	case "smtp":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "smtps":
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: unsupported SMTP URL scheme %q (want smtp or smtps)", u.Scheme)
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()),
			gomail.WithPassword(pass))
	}
	// Checking that the options apply (port range, timeout) now turns a bad
	// setting into a start-up error rather than a failure at the first mail.
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return &SMTP{
		addr:     net.JoinHostPort(host, strconv.Itoa(port)),
		options:  append([]gomail.Option{}, opts...),
		attempts: o.Attempts,
		backoff:  o.Backoff,
		log:      log,
	}, nil
}

// Addr is the server's host:port.
func (s *SMTP) Addr() string { return s.addr }

// Send delivers m, trying again with growing pauses while the failures are
// transient. It gives up at once on a permanent failure (a 5xx reply, a
// rejected certificate, refused credentials) and when ctx ends.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.addr)
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		// A client per attempt: nothing of a failed connection carries
		// over, and concurrent workers share no connection state.
		c, err := gomail.NewClient(host, s.options...)
		if err == nil {
			err = c.DialAndSendWithContext(ctx, msg)
		}
		if err == nil {
			return nil
		}
		if attempt >= s.attempts || !Transient(err) || ctx.Err() != nil {
			return fmt.Errorf("smtp %s: attempt %d of %d: %w", s.addr, attempt, s.attempts, err)
		}

		pause := jitter(wait)
		s.log.WarnContext(ctx, "mail delivery failed; will retry", "mail", m, "attempt", attempt,
			"retry_in", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("smtp %s: gave up after attempt %d: %w", s.addr, attempt,
				errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		wait *= 2
	}
}

// jitter spreads d by up to a quarter either way, so that workers retrying
// after one outage do not all come back at the same instant.
func jitter(d time.Duration) time.Duration {
	q := int64(d / 4)
	if q <= 0 {
		return d
	}
	return d - time.Duration(q) + time.Duration(rand.Int64N(2*q+1))
}

// Transient reports whether a delivery that failed with err may succeed
// when tried again: the connection failed or dropped, or the server
// answered with a 4xx reply. A 5xx reply, a certificate that does not
// verify or credentials the server refuses will fail the same way again.
func Transient(err error) bool {
	var (
		certErr   *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		alert     tls.AlertError
	)
	if errors.As(err, &certErr) || errors.As(err, &authority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert) {
		return false
	}

	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return false
		}
		// Without a reply code the connection failed mid-transaction.
		code := se.ErrorCode()
		return code == 0 || (code >= 400 && code < 500)
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code >= 400 && reply.Code < 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}
