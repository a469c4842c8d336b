package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// RegisterInput is a sign-up request.
type RegisterInput struct {
	Email    string
	Password string
	Username string
}

// Register creates a user with the USER role and signs them in.
func (s *Service) Register(ctx context.Context, in RegisterInput, c Client) (Grant, error) {
	u, err := s.CreateUser(ctx, in, store.RoleUser)
	if err != nil {
		return Grant{}, err
	}
	s.audit(ctx, EventRegistered, u.ID, c, nil)
	return s.startSession(ctx, u, c)
}

// CreateUser validates the input and stores a new active user with role.
// It does not sign the user in; the command line uses it to create admins.
func (s *Service) CreateUser(ctx context.Context, in RegisterInput, role string) (store.User, error) {
	if !plainText(in.Email) {
		// Checked before normalizing: lower-casing would turn invalid bytes
		// into replacement characters and accept a different address.
		return store.User{}, Invalid("email", "Email is not a valid address.")
	}
	email := NormalizeEmail(in.Email)
	if err := validateEmail(email); err != nil {
		return store.User{}, err
	}
	username, err := normalizeUsername(in.Username)
	if err != nil {
		return store.User{}, err
	}
	if role != store.RoleUser && role != store.RoleAdmin {
		return store.User{}, Invalid("role", "Role must be USER or ADMIN.")
	}
	if err := s.checkPassword("password", in.Password); err != nil {
		return store.User{}, err
	}

	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return store.User{}, hashErr(err)
	}

	now := s.now()
	u := store.User{
		ID:           newID(),
		Email:        email,
		Username:     username,
		PasswordHash: hash,
		Role:         role,
		Active:       true,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	switch err := s.store.CreateUser(ctx, u); {
	case errors.Is(err, store.ErrEmailTaken):
		return store.User{}, &Error{Code: CodeEmailTaken, Message: "This email is already registered.",
			Fields: map[string]string{"email": "This email is already registered."}}
	case errors.Is(err, store.ErrUsernameTaken):
		return store.User{}, &Error{Code: CodeUsernameTaken, Message: "This username is taken.",
			Fields: map[string]string{"username": "This username is taken."}}
	case err != nil:
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Login checks an email and password and starts a session. Unknown emails
// and wrong passwords get the same answer after the same work, and failures
// are counted per normalized email, known or not, towards a lockout that is
// enforced before any password is checked. Each attempt is counted before
// its password is checked (see reserveFailure), so that a burst of
// concurrent guesses gets no more passwords checked than the limit allows.
func (s *Service) Login(ctx context.Context, email, plain string, c Client) (Grant, error) {
	if !plainText(email) {
		return Grant{}, errBadCredentials
	}
	email = NormalizeEmail(email)
	if email == "" || plain == "" {
		return Grant{}, errBadCredentials
	}
	if len(email) > maxEmailLength || len(plain) > 4*s.policy.MaxLength {
		// Too long to be a real account or password; no hashing for it.
		return Grant{}, errBadCredentials
	}

	lockKey := "lock:" + email
	if err := s.checkLock(ctx, lockKey); err != nil {
		return Grant{}, err
	}
	fails, err := s.reserveFailure(ctx, email)
	if err != nil {
		return Grant{}, err
	}

	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, plain); err != nil {
			s.releaseFailure(ctx, email)
			return Grant{}, hashErr(err)
		}
		return Grant{}, s.loginFailed(ctx, email, fails, nil, c, "invalid_credentials")
	}
	if err != nil {
		s.releaseFailure(ctx, email)
		return Grant{}, fmt.Errorf("login: %w", err)
	}

	ok, rehash, err := s.hasher.Verify(ctx, u.PasswordHash, plain)
	if err != nil {
		s.releaseFailure(ctx, email)
		return Grant{}, hashErr(err)
	}
	if !ok {
		return Grant{}, s.loginFailed(ctx, email, fails, &u, c, "invalid_credentials")
	}
	// From here on the password was right: this attempt is no failure.
	if !u.Active {
		s.releaseFailure(ctx, email)
		s.recordAttempt(ctx, &u, c, "account_disabled", "")
		return Grant{}, errDisabled
	}

	if rehash {
		u.PasswordHash = s.rehash(ctx, u, plain)
	}
	if u.TwoFactorEnabled {
		// The failures stay counted until the second factor is proven too,
		// so that a known password cannot clear the wrong codes.
		s.releaseFailure(ctx, email)
		return s.challenge(ctx, u)
	}
	if err := s.attempts.Reset(ctx, "fail:"+email); err != nil {
		return Grant{}, fmt.Errorf("login: reset failures: %w", err)
	}
	return s.completeLogin(ctx, u, c)
}

// completeLogin starts the session of a user who has proven every factor
// the account requires, and records the success.
func (s *Service) completeLogin(ctx context.Context, u store.User, c Client) (Grant, error) {
	g, err := s.startSession(ctx, u, c)
	if err != nil {
		return Grant{}, err
	}
	s.recordAttempt(ctx, &u, c, "", g.SessionID)
	return g, nil
}

// checkLock refuses the attempt while key is locked.
func (s *Service) checkLock(ctx context.Context, key string) error {
	n, left, err := s.attempts.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("lockout check: %w", err)
	}
	if n > 0 {
		return lockedErr(left)
	}
	return nil
}

func lockedErr(left time.Duration) *Error {
	return &Error{
		Code:       CodeAccountLocked,
		Message:    "Too many failed attempts; try again later.",
		RetryAfter: left,
	}
}

// loginFailed records a failed password for email, already counted as the
// fails-th failure of the window by reserveFailure, and locks the email
// once the failures reach the limit. The answer is the same, after the same
// writes, whether or not the account exists.
func (s *Service) loginFailed(ctx context.Context, email string, fails int64, u *store.User,
	c Client, reason string) error {
	s.recordAttempt(ctx, u, c, reason, "")
	if err := s.lockIfReached(ctx, email, fails, u, c); err != nil {
		return err
	}
	return errBadCredentials
}

// reserveFailure counts an attempt for email as a failure before its
// secret is checked. Counting only after the check would let a burst of
// concurrent guesses all pass checkLock before the first of them failed,
// and have every one checked. An attempt that would take the count past the
// limit is refused unchecked and not counted: the attempts before it are
// still being checked, and lock the email if they fail. An attempt that
// turns out not to be a failure is taken back by releaseFailure, or clears
// the count when its login completes.
func (s *Service) reserveFailure(ctx context.Context, email string) (int64, error) {
	n, _, err := s.attempts.Incr(ctx, "fail:"+email, s.opts.LockoutDuration)
	if err != nil {
		return 0, fmt.Errorf("count failure: %w", err)
	}
	if n > int64(s.opts.MaxLoginAttempts) {
		s.releaseFailure(ctx, email)
		return n, errAttemptsInFlight
	}
	return n, nil
}

// errAttemptsInFlight refuses an attempt while as many as the lockout
// allows are still being checked.
var errAttemptsInFlight = &Error{Code: CodeRateLimited,
	Message: "Too many sign-in attempts at once; try again shortly.", RetryAfter: time.Second}

// releaseFailure takes back the count reserveFailure took for an attempt
// that was no failure. Should that fail, the count ends with its window.
func (s *Service) releaseFailure(ctx context.Context, email string) {
	if err := s.attempts.Release(ctx, "fail:"+email); err != nil {
		s.log.WarnContext(ctx, "attempt count not taken back", "err", err)
	}
}

// lockIfReached locks email when n, the failures counted in the window so
// far, reached the limit, and returns the lock error then.
func (s *Service) lockIfReached(ctx context.Context, email string, n int64, u *store.User,
	c Client) error {
	if n < int64(s.opts.MaxLoginAttempts) {
		return nil
	}
	// The lock gets a window of its own so that it lasts the full duration
	// from the failure that triggered it. The failure count is left to its
	// window, which opened earlier and so ends no later than the lock:
	// resetting it here would let attempts that passed checkLock before the
	// lock was set start a fresh count.
	if _, _, err := s.attempts.Incr(ctx, "lock:"+email, s.opts.LockoutDuration); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	s.log.InfoContext(ctx, "account locked", "user_id", userID(u))
	s.audit(ctx, EventLocked, userID(u), c, nil)
	return lockedErr(s.opts.LockoutDuration)
}

func userID(u *store.User) string {
	if u == nil {
		return ""
	}
	return u.ID
}

// rehash upgrades a stored hash to the configured algorithm and returns
// the hash the account now has as far as this login knows: the new one, or
// u's when the upgrade failed. Failure is logged, not fatal. The upgrade
// applies only while the hash is still the one just verified, so that it
// cannot write the old password back over a reset committed meanwhile.
func (s *Service) rehash(ctx context.Context, u store.User, plain string) string {
	hash, err := s.hasher.Hash(ctx, plain)
	if err == nil {
		err = s.store.RehashPassword(ctx, u.ID, u.PasswordHash, hash, s.now())
	}
	if errors.Is(err, store.ErrNotFound) {
		return s.upgradedElsewhere(ctx, u, plain)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
		return u.PasswordHash
	}
	return hash
}

// upgradedElsewhere is rehash's answer when the stored hash changed after
// the login checked it. Another login of the same password upgrading the
// same old hash is the common cause, and then the new hash still holds
// plain: the login goes on with it. After a reset or a change it does not,
// and the old hash is returned so that the login is refused.
func (s *Service) upgradedElsewhere(ctx context.Context, u store.User, plain string) string {
	cur, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return u.PasswordHash
	}
	if ok, _, err := s.hasher.Verify(ctx, cur.PasswordHash, plain); err != nil || !ok {
		return u.PasswordHash
	}
	return cur.PasswordHash
}

// recordAttempt records the outcome of a sign-in attempt by u, nil for an
// email with no account: failed for reason, or, when reason is empty,
// succeeded with the session sessionID. The event goes to the auditor with
// the entry for u's login history attached (see Event.Attempt), so that a
// store writes the two in one transaction and a failure for an unknown
// email costs the same commits as one for a known account. A failure to
// write is logged by the auditor rather than failing the attempt.
func (s *Service) recordAttempt(ctx context.Context, u *store.User, c Client,
	reason, sessionID string) {
	e := Event{
		Type:      EventLoginSucceeded,
		UserID:    userID(u),
		IP:        c.IP,
		UserAgent: c.UserAgent,
		Detail:    map[string]string{"session_id": sessionID},
		At:        s.now(),
	}
	if reason != "" {
		e.Type = EventLoginFailed
		e.Detail = map[string]string{"reason": reason}
	}
	e.Attempt = &store.LoginAttempt{
		ID:        newID(),
		UserID:    e.UserID,
		IPAddress: c.IP,
		UserAgent: truncate(c.UserAgent, maxUserAgent),
		Success:   reason == "",
		Reason:    reason,
		CreatedAt: e.At,
	}
	s.auditor.Record(ctx, e)
}

// LoginHistory returns the caller's most recent login attempts.
func (s *Service) LoginHistory(ctx context.Context, p Principal, limit int) ([]store.LoginAttempt, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	return s.store.LoginHistory(ctx, p.User.ID, limit)
}
