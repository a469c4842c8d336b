package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Mailer delivers the flows' mail. Send queues one mail and returns at
// once: a response never waits for a mail server, and a mail that cannot
// be delivered is the mailer's to log and count. The flow's effect stands
// either way; the user can ask for another mail.
type Mailer interface {
	Send(ctx context.Context, kind mail.Kind, to string, d mail.Data)
}

type noMail struct{}

func (noMail) Send(context.Context, mail.Kind, string, mail.Data) {}

// Lifetimes of the mailed tokens.
const (
	verifyEmailTTL   = 24 * time.Hour
	resetPasswordTTL = time.Hour
)

// Pages the mailed links open, under the public URL. The token travels in
// the fragment (#token=…): a browser never sends the fragment to a server,
// so the token lands in no access log, proxy log or Referer header. The
// page reads it and posts it in a request body.
const (
	verifyEmailPage   = "verify-email"
	resetPasswordPage = "reset-password"
)

// defaultPublicURL is PUBLIC_URL's documented default, for a Service built
// without one.
var defaultPublicURL = &url.URL{Scheme: "http", Host: "localhost:8080"}

func (s *Service) publicURL() *url.URL {
	if s.opts.PublicURL != nil {
		return s.opts.PublicURL
	}
	return defaultPublicURL
}

// mailLink is the link to page carrying tok. It is built from the
// configured public URL only, never from anything a request says about the
// host it was sent to: a forged Host header must not turn a reset mail into
// a link to someone else's server.
func (s *Service) mailLink(page, tok string) string {
	base := s.publicURL()
	if s.opts.PagesURL != nil {
		base = s.opts.PagesURL
	}
	u := base.JoinPath(page)
	u.RawQuery = ""
	u.Fragment = "token=" + tok
	return u.String()
}

// issueMailToken stores a new single-use token of purpose for the user,
// superseding the live ones, and returns it.
func (s *Service) issueMailToken(ctx context.Context, userID, purpose string,
	ttl time.Duration) (string, error) {
	tok, err := token.NewOpaque()
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.store.CreateOneTimeToken(ctx, store.OneTimeToken{
		ID:        newID(),
		UserID:    userID,
		Purpose:   purpose,
		TokenHash: s.keyed.Hash(tok),
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	}, true)
	if err != nil {
		return "", fmt.Errorf("store %s token: %w", purpose, err)
	}
	return tok, nil
}

// mailLimit is the window and the number of mails one address may be sent
// on request within it.
func (s *Service) mailLimit() (time.Duration, int) {
	window, limit := s.opts.ResetLimitWindow, s.opts.ResetLimitMax
	if window <= 0 {
		window = time.Hour
	}
	if limit <= 0 {
		limit = 3
	}
	return window, limit
}

// limitMail counts a request that would mail key's address and refuses it
// past the limit, so that nobody can flood an inbox through us. Unknown
// addresses are counted too, so the answer tells nothing about accounts.
func (s *Service) limitMail(ctx context.Context, key string) error {
	window, limit := s.mailLimit()
	n, left, err := s.attempts.Incr(ctx, key, window)
	if err != nil {
		return fmt.Errorf("count mail request: %w", err)
	}
	if n > int64(limit) {
		return &Error{
			Code:       CodeRateLimited,
			Message:    "Too many requests for this address; try again later.",
			RetryAfter: left,
		}
	}
	return nil
}

// SendVerification mails the caller a link that verifies their address,
// valid 24 hours; a newer link supersedes older ones. It reports false,
// and sends nothing, when the address is already verified.
func (s *Service) SendVerification(ctx context.Context, p Principal) (bool, error) {
	if p.User.EmailVerified {
		return false, nil
	}
	if err := s.limitMail(ctx, "verify-mail:"+p.User.ID); err != nil {
		return false, err
	}
	tok, err := s.issueMailToken(ctx, p.User.ID, store.PurposeVerifyEmail, verifyEmailTTL)
	if err != nil {
		return false, err
	}
	s.mailer.Send(ctx, mail.VerifyEmail, p.User.Email, mail.Data{
		Email:     p.User.Email,
		Link:      s.mailLink(verifyEmailPage, tok),
		ValidFor:  verifyEmailTTL,
		PublicURL: s.publicURL().String(),
	})
	return true, nil
}

// VerifyEmail spends a verification token and marks its user's address
// verified. A token that is unknown, used, superseded or expired is
// refused.
func (s *Service) VerifyEmail(ctx context.Context, tok string, c Client) (store.User, error) {
	if !token.WellFormed(tok) {
		return store.User{}, errBadToken
	}
	u, err := s.store.VerifyEmail(ctx, s.keyed.Hash(tok), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, errBadToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("verify email: %w", err)
	}
	s.audit(ctx, EventEmailVerified, u.ID, c, nil)
	return u, nil
}
