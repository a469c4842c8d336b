package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/mail"
)

// mailDrainGrace bounds how long shutdown waits for queued mail to go out
// once the last request is done.
const mailDrainGrace = 10 * time.Second

// newMailer builds the mailer from configuration: SMTP when SMTP_URL is
// set, otherwise the outbox under DATA_DIR, whose links are logged in
// development so the flows can be finished without a mail server.
func newMailer(cfg *config.Config, log *slog.Logger) (*mail.Mailer, error) {
	var sender mail.Sender
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTP(cfg.SMTPURL, mail.SMTPOptions{}, log)
		if err != nil {
			return nil, &configError{fmt.Errorf("SMTP_URL: %w", err)}
		}
		log.Info("mail is delivered over SMTP", "server", s.Addr())
		sender = s
	} else {
		dir := filepath.Join(cfg.DataDir, "outbox")
		o, err := mail.NewOutbox(dir, !cfg.Production(), log)
		if err != nil {
			return nil, err
		}
		if cfg.Production() {
			log.Warn("!!! SMTP_URL is not set: mail is written to the outbox and never delivered",
				"dir", dir)
		} else {
			log.Info("mail is written to the outbox and its links to this log "+
				"(set SMTP_URL to deliver it)", "dir", dir)
		}
		sender = o
	}

	m, err := mail.New(sender, mail.Options{From: cfg.MailFrom, TemplatesDir: cfg.MailTemplatesDir},
		log)
	if err != nil {
		return nil, &configError{fmt.Errorf("MAIL_TEMPLATES_DIR: %w", err)}
	}
	return m, nil
}

// withMailer hands the flows the mailer.
func withMailer(m *mail.Mailer) func(*auth.Deps) {
	return func(d *auth.Deps) { d.Mailer = m }
}

// stopMailer lets the queued mail go out, for at most mailDrainGrace. Run
// it once no request can queue more.
func stopMailer(m *mail.Mailer, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), mailDrainGrace)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		log.Warn("mail queue stopped before it drained", "err", err)
	}
	st := m.Stats()
	if st.Failed > 0 || st.Dropped > 0 {
		log.Warn("mail not delivered since start", "failed", st.Failed, "dropped", st.Dropped)
	}
}
