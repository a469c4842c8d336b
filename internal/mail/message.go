package mail

import (
	"fmt"

	gomail "github.com/wneessen/go-mail"
)

// build turns m into a MIME message: a plain-text body with an HTML
// alternative. SMTP and the outbox share it, so the outbox shows exactly
// what SMTP would deliver.
func build(m Message) (*gomail.Msg, error) {
	// No User-Agent header: it would only advertise the library to
	// whoever reads the headers.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("mail: sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
