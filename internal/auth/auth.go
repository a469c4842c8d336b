// Package auth holds Latchkey's authentication flows: registration, password
// login with lockout, sessions, access tokens and refresh token rotation with
// reuse detection. It knows nothing of HTTP or SQL; it talks to storage
// through store.Store and to shared counters through Counter.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Counter counts events per key in fixed windows shared by every instance.
// ratelimit.Memory implements it for one process.
type Counter interface {
	Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	Get(ctx context.Context, key string) (int64, time.Duration, error)
	Reset(ctx context.Context, key string) error
	// Release takes one back from key's count in its current window, for
	// an attempt counted before it was checked that turned out not to be a
	// failure.
	Release(ctx context.Context, key string) error
}

// Options are the rules of the flows, from configuration.
type Options struct {
	RefreshTTL       time.Duration // lifetime of each refresh token
	ReuseGrace       time.Duration // how long a rotated token still gets its successor
	IdleTimeout      time.Duration // sliding session expiry
	MaxAge           time.Duration // absolute session lifetime
	MaxLoginAttempts int           // failures before lockout
	LockoutDuration  time.Duration // failure window and lock length
	MFAIssuer        string        // name authenticator apps show; "Latchkey" when empty
	// PublicURL is the base of every link in a mail; never a request's Host.
	PublicURL *url.URL
	// PagesURL is where the pages that mailed links open live (the hosted
	// pages under their prefix); PublicURL when nil.
	PagesURL *url.URL
	// ResetLimitWindow and ResetLimitMax bound the mail one address can be
	// sent on request (password reset, verification); 1h and 3 when zero.
	ResetLimitWindow time.Duration
	ResetLimitMax    int
}

// Service runs the flows. It is safe for concurrent use.
type Service struct {
	store    store.Store
	hasher   *password.Hasher
	policy   password.Policy
	access   *token.Access
	keyed    *token.Keyed
	attempts Counter
	auditor  Auditor
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	factors  twoFactor
	mailer   Mailer
	revs     *revocations // nil unless sessions are cached
}

// Deps are the parts a Service is built from.
type Deps struct {
	Store    store.Store
	Hasher   *password.Hasher
	Policy   password.Policy
	Access   *token.Access
	Keyed    *token.Keyed
	Attempts Counter
	Audit    Auditor          // records security events; only the login history when nil
	Now      func() time.Time // time.Now when nil
	Log      *slog.Logger     // slog.Default() when nil
	MFAKey   []byte           // AES-256 key for TOTP secrets at rest; no 2FA without it
	Mailer   Mailer           // delivers the flows' mail; none is sent when nil

	// Revocations carries revocations between instances; with it, sessions
	// are cached (see sessioncache.go). Nothing is cached when nil.
	Revocations RevocationFeed
}

// New returns a Service.
func New(d Deps, o Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Audit == nil {
		d.Audit = historyOnly{store: d.Store, log: d.Log}
	}
	if d.Mailer == nil {
		d.Mailer = noMail{}
	}
	revs := newRevocations(d)
	if revs != nil {
		d.Store = announcingStore{Store: d.Store, r: revs}
	}
	return &Service{
		store:    d.Store,
		hasher:   d.Hasher,
		policy:   d.Policy,
		access:   d.Access,
		keyed:    d.Keyed,
		attempts: d.Attempts,
		auditor:  d.Audit,
		opts:     o,
		now:      func() time.Time { return d.Now().UTC().Truncate(time.Millisecond) },
		log:      d.Log,
		factors:  newTwoFactor(d.MFAKey, o.MFAIssuer, d.Log),
		mailer:   d.Mailer,
		revs:     revs,
	}
}

// Client describes where a request came from, for sessions and history.
type Client struct {
	IP        string
	UserAgent string
}

// Grant is what a successful login, registration or refresh hands out.
type Grant struct {
	User             store.User
	SessionID        string
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	// MFA is set, and nothing else but User, when the password was right
	// but the account needs a second factor before a session starts.
	MFA *MFAChallenge
}

// Principal is the verified caller of an authenticated request.
type Principal struct {
	User    store.User
	Session store.Session
}

// NormalizeEmail applies Unicode NFKC to an address, trims it and
// lower-cases it: the form in which emails are stored and compared. NFKC
// turns compatibility forms, such as fullwidth letters, into the
// characters they stand for, so that they name the same account.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
}

// oddRune reports whether r has no place in an email or a username: white
// space, a control, format (zero-width and bidi controls among them),
// private-use, surrogate or unassigned code point, a variation selector or
// another character that shows as nothing, such as the Hangul fillers.
// Each would let a name look like another's in lists and the audit trail.
func oddRune(r rune) bool {
	if r == utf8.RuneError || unicode.In(r, unicode.White_Space, unicode.Cc, unicode.Cf,
		unicode.Co, unicode.Cs, unicode.Variation_Selector,
		unicode.Other_Default_Ignorable_Code_Point) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// maxEmailLength is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailLength = 254

// plainText reports whether s can be stored and compared as text: valid
// UTF-8 without NUL bytes.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func validateEmail(email string) error {
	if email == "" {
		return Invalid("email", "Email is required.")
	}
	if len(email) > maxEmailLength {
		return Invalid("email", "Email is too long.")
	}
	if strings.ContainsFunc(email, oddRune) {
		return Invalid("email", "Email contains spaces, invisible or unusual characters.")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return Invalid("email", "Email is not a valid address.")
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || !strings.Contains(email[at+1:], ".") {
		return Invalid("email", "Email is not a valid address.")
	}
	return nil
}

// normalizeUsername applies NFKC to a username, trims and lower-cases it,
// as NormalizeEmail does an address, and checks that it is 3 to 32
// letters, digits, '.', '_' or '-'.
func normalizeUsername(s string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
	if u == "" {
		return "", nil
	}
	n := utf8.RuneCountInString(u)
	if n < 3 || n > 32 {
		return "", Invalid("username", "Username must be 3 to 32 characters.")
	}
	for _, r := range u {
		if oddRune(r) ||
			!unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-", r) {
			return "", Invalid("username",
				"Username may contain only letters, digits, '.', '_' and '-'.")
		}
	}
	return u, nil
}

func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// checkPassword applies the password policy.
func (s *Service) checkPassword(field, plain string) error {
	if err := s.policy.Check(plain); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			return &Error{
				Code:    CodeWeakPassword,
				Message: pe.Message,
				Fields:  map[string]string{field: pe.Message},
			}
		}
		return err
	}
	return nil
}

// hashErr turns a hashing failure into the public error: a full hashing
// queue is a rate limit, not a fault.
func hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return &Error{Code: CodeRateLimited, Message: "Too many requests; try again shortly.",
			RetryAfter: time.Second, Err: err}
	}
	return fmt.Errorf("password hash: %w", err)
}
