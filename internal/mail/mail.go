// Package mail sends the mail of Latchkey's flows: email verification and
// password reset links, and the notice that follows a password change.
//
// A Mailer queues each mail; a few workers render it from its text and HTML
// templates and hand it to a Sender (SMTP, or the development outbox), so
// that the request that asked for a mail never waits for its delivery. A
// mail that cannot be queued or delivered is logged and counted, never
// returned to the flow that sent it: the flow's effect stands either way.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Kind names a mail Latchkey sends. Each kind has a text and an HTML
// template of that name.
type Kind string

// The kinds of mail.
const (
	// VerifyEmail carries a link that confirms the address.
	VerifyEmail Kind = "verify_email"
	// ResetPassword carries a link that sets a new password.
	ResetPassword Kind = "reset_password"
	// PasswordChanged tells the account's owner that its password was
	// changed or reset, in case it was not them.
	PasswordChanged Kind = "password_changed"
)

// kinds lists every kind of mail, in the order the templates are checked.
var kinds = []Kind{VerifyEmail, ResetPassword, PasswordChanged}

// Data is what a template can show.
type Data struct {
	// Email is the recipient's address.
	Email string
	// Link is the single-use link of VerifyEmail and ResetPassword. It
	// carries a token: it never reaches the logs outside development.
	Link string
	// ValidFor is how long Link works; templates print it with {{human}}.
	ValidFor time.Duration
	// At is when the event a notice reports happened.
	At time.Time
	// IP is the address the request came from, for notices.
	IP string
	// Reset marks a PasswordChanged notice for a reset by link rather than
	// a change with the current password.
	Reset bool
	// PublicURL is the service's base URL.
	PublicURL string
}

// LogValue implements slog.LogValuer, leaving out the link and its token.
func (d Data) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", d.Email))
}

// Message is one rendered mail.
type Message struct {
	Kind    Kind
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
	// Link is the link the mail carries, if any, kept aside so that the
	// development outbox can log it.
	Link string
	Date time.Time
}

// LogValue implements slog.LogValuer: the kind and the recipient, never the
// bodies or the link, which carry tokens.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(m.Kind)), slog.String("to", m.To))
}

// Sender delivers one message and returns when it is delivered or has
// failed. It is safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Stats are the Mailer's counters since it started.
type Stats struct {
	Queued  uint64 // accepted into the queue
	Sent    uint64 // delivered
	Failed  uint64 // not delivered: the template or the sender failed, after its retries
	Dropped uint64 // never queued: the queue was full or closed
	Backlog int    // queued and not yet delivered or failed: waiting or being sent
}

// ErrClosed is returned by Close when the Mailer was already closed.
var ErrClosed = errors.New("mail: mailer closed")

// Options configure a Mailer.
type Options struct {
	// From is the sender address (MAIL_FROM).
	From string
	// TemplatesDir holds templates that replace the built-in ones file by
	// file (MAIL_TEMPLATES_DIR); empty uses only the built-in ones.
	TemplatesDir string
	// QueueSize bounds the mails waiting for a worker; 256 when zero.
	QueueSize int
	// Workers is the number of concurrent deliveries; 2 when zero.
	Workers int
	// Now is the clock for the Date header; time.Now when nil.
	Now func() time.Time
}

// Mailer renders mail and delivers it in the background. It is safe for
// concurrent use.
type Mailer struct {
	from   string
	tmpl   *templates
	sender Sender
	log    *slog.Logger
	now    func() time.Time

	// mu guards closed against Send racing Close: a send on the closed
	// channel would panic.
	mu     sync.RWMutex
	closed bool
	jobs   chan job
	done   chan struct{} // closed when every worker has returned

	// stop cancels deliveries in progress when Close runs out of time.
	ctx  context.Context
	stop context.CancelFunc

	queued, sent, failed, dropped atomic.Uint64
}

// New loads the templates (failing on any that does not parse or render)
// and starts the workers that deliver through sender.
func New(sender Sender, o Options, log *slog.Logger) (*Mailer, error) {
	if log == nil {
		log = slog.Default()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.From == "" {
		return nil, errors.New("mail: no sender address")
	}
	tmpl, err := loadTemplates(o.TemplatesDir)
	if err != nil {
		return nil, err
	}

	ctx, stop := context.WithCancel(context.Background())
	m := &Mailer{
		from:   o.From,
		tmpl:   tmpl,
		sender: sender,
		log:    log,
		now:    o.Now,
		jobs:   make(chan job, o.QueueSize),
		done:   make(chan struct{}),
		ctx:    ctx,
		stop:   stop,
	}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(m.work)
	}
	go func() {
		wg.Wait()
		close(m.done)
	}()
	return m, nil
}

// job is a mail waiting for a worker. The worker renders it, not Send, so
// that queuing a mail costs the request next to nothing: a flow that mails
// only real accounts then does hardly more work for them than for unknown
// addresses.
type job struct {
	kind Kind
	to   string
	data Data
	at   time.Time
}

// LogValue implements slog.LogValuer, as Message does.
func (j job) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(j.kind)), slog.String("to", j.to))
}

// Send queues a mail of kind for to, rendered from d, and returns at once;
// ctx bounds nothing beyond this call, since delivery happens after the
// request that asked for the mail is over. A mail that cannot be queued is
// logged and counted as dropped.
func (m *Mailer) Send(ctx context.Context, kind Kind, to string, d Data) {
	j := job{kind: kind, to: to, data: d, at: m.now()}

	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		m.dropped.Add(1)
		m.log.ErrorContext(ctx, "mail dropped: mailer closed", "mail", j)
		return
	}
	// Counted before the send, so that no worker can report the mail's
	// outcome before it is counted as queued.
	m.queued.Add(1)
	select {
	case m.jobs <- j:
	default:
		m.queued.Add(^uint64(0))
		m.dropped.Add(1)
		m.log.ErrorContext(ctx, "mail dropped: queue full", "mail", j, "queue", cap(m.jobs))
	}
}

// work renders and delivers queued mail until the queue is closed and
// empty.
func (m *Mailer) work() {
	for j := range m.jobs {
		if err := m.deliver(j); err != nil {
			m.failed.Add(1)
			m.log.Error("mail delivery failed", "mail", j, "err", err)
			continue
		}
		m.sent.Add(1)
		m.log.Debug("mail delivered", "mail", j)
	}
}

func (m *Mailer) deliver(j job) error {
	msg, err := m.tmpl.render(j.kind, j.data)
	if err != nil {
		return err
	}
	msg.From = m.from
	msg.To = j.to
	msg.Date = j.at
	return m.sender.Send(m.ctx, msg)
}

// Close stops taking mail and waits for the queue to drain. When ctx ends
// first it cancels the deliveries in progress (each undelivered mail is
// then logged as failed) and returns ctx's error.
func (m *Mailer) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.closed = true
	close(m.jobs)
	m.mu.Unlock()

	select {
	case <-m.done:
		m.stop()
		return nil
	case <-ctx.Done():
	}
	m.stop()
	<-m.done
	return fmt.Errorf("mail: drain queue: %w", ctx.Err())
}

// Stats returns the counters, for metrics.
func (m *Mailer) Stats() Stats {
	// Outcomes first: a mail is counted as queued before its outcome, so
	// the backlog computed from these loads is never negative.
	st := Stats{Failed: m.failed.Load(), Sent: m.sent.Load(), Dropped: m.dropped.Load()}
	st.Queued = m.queued.Load()
	st.Backlog = int(st.Queued - st.Sent - st.Failed)
	return st
}
