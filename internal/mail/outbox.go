package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Outbox is the Sender used when no SMTP server is configured: it writes
// each mail as an .eml file that any mail client opens, so that a
// developer can follow every link without a mail server.
type Outbox struct {
	dir      string
	logLinks bool
	log      *slog.Logger
}

// NewOutbox returns an Outbox writing to dir, which it creates readable by
// its owner only: the mails carry live tokens. With logLinks set (for
// development) it also logs the link each mail carries, so the flows can be
// finished from the log alone; never set it in production, where a link in
// the log is a password reset for whoever reads the log.
func NewOutbox(dir string, logLinks bool, log *slog.Logger) (*Outbox, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	return &Outbox{dir: dir, logLinks: logLinks, log: log}, nil
}

// Dir is the directory the outbox writes to.
func (o *Outbox) Dir() string { return o.dir }

// Send writes m to a new file in the outbox. The file appears complete or
// not at all: it is written under a temporary name and renamed.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := build(m)
	if err != nil {
		return err
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	name := fmt.Sprintf("%s-%s-%s.eml", m.Date.UTC().Format("20060102T150405.000Z"), m.Kind,
		hex.EncodeToString(suffix[:]))
	path := filepath.Join(o.dir, name)

	f, err := os.CreateTemp(o.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	_, err = msg.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		// The partial file is of no use to anyone; its removal error
		// would add nothing to err.
		_ = os.Remove(f.Name())
		return fmt.Errorf("mail outbox: %w", err)
	}

	attrs := []any{"mail", m, "path", path}
	if o.logLinks && m.Link != "" {
		attrs = append(attrs, "link", m.Link)
	}
	o.log.InfoContext(ctx, "mail written to outbox", attrs...)
	return nil
}
