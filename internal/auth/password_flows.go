package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// ForgotPasswordFloor is the least time ForgotPassword takes once a
// request is counted. A real account costs more than an unknown address (a
// transaction that supersedes and stores its token, and a mail to queue),
// about a millisecond on a local database and enough, over a few hundred
// requests, to tell which addresses have accounts. Both answers wait for
// the same floor, far above that work, so the difference does not show.
const ForgotPasswordFloor = 100 * time.Millisecond

// ForgotPassword mails a password reset link, valid one hour, to the
// active account with email, superseding earlier links. It answers the
// same, after comparable steps and no sooner than ForgotPasswordFloor,
// whether or not there is such an account, so that the answer cannot tell
// which addresses have one; requests per address are limited, known or
// not.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
	email = NormalizeEmail(email)
	if err := validateEmail(email); err != nil {
		return err
	}
	if err := s.limitMail(ctx, "reset-mail:"+email); err != nil {
		return err
	}
	// Real time, not s.now: the floor is about what a client can measure.
	defer waitUntil(ctx, time.Now().Add(ForgotPasswordFloor))

	// Both paths make and hash a token, make one write through the store's
	// writer after the lookup and record one audit event. The mail is only
	// queued, so its delivery costs neither path anything.
	tok, err := token.NewOpaque()
	if err != nil {
		return err
	}
	hash := s.keyed.Hash(tok)
	now := s.now()

	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("forgot password: %w", err)
	}
	if err != nil || !u.Active {
		// Voiding the tokens of an id no user has changes nothing; it
		// stands in for the token write a real account gets.
		err := s.store.VoidOneTimeTokens(ctx, newID(), store.PurposeResetPassword, now)
		if err != nil {
			return fmt.Errorf("forgot password: %w", err)
		}
		s.audit(ctx, EventResetRequested, "", c, nil)
		return nil
	}

	err = s.store.CreateOneTimeToken(ctx, store.OneTimeToken{
		ID:        newID(),
		UserID:    u.ID,
		Purpose:   store.PurposeResetPassword,
		TokenHash: hash,
		CreatedAt: now,
		ExpiresAt: now.Add(resetPasswordTTL),
	}, true)
	if err != nil {
		return fmt.Errorf("forgot password: store token: %w", err)
	}
	s.audit(ctx, EventResetRequested, u.ID, c, nil)
	s.mailer.Send(ctx, mail.ResetPassword, u.Email, mail.Data{
		Email:     u.Email,
		Link:      s.mailLink(resetPasswordPage, tok),
		ValidFor:  resetPasswordTTL,
		PublicURL: s.publicURL().String(),
	})
	return nil
}

// ResetPassword sets a new password with a mailed reset token. The policy
// applies; the token is spent; every session and refresh token family of
// the account ends, its lockout is lifted, and the account's address gets
// a notice.
func (s *Service) ResetPassword(ctx context.Context, tok, newPassword string, c Client) error {
	if !token.WellFormed(tok) {
		return errBadToken
	}
	hash := s.keyed.Hash(tok)

	// A look before the hashing, so that a dead link is reported before
	// the user's new password is weighed, and no hash is spent on it.
	o, err := s.store.PeekOneTimeToken(ctx, store.PurposeResetPassword, hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return errBadToken
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := s.checkPassword("password", newPassword); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, o.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return errBadToken
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if !u.Active {
		return errDisabled
	}
	pwHash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return hashErr(err)
	}

	now := s.now()
	u, err = s.store.ResetPassword(ctx, hash, pwHash, now)
	if errors.Is(err, store.ErrNotFound) {
		// Spent by a concurrent request, or expired while we hashed.
		return errBadToken
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	ended, err := s.store.RevokeUserSessions(ctx, u.ID, "", now)
	if err != nil {
		return fmt.Errorf("reset password: end sessions: %w", err)
	}
	s.liftLockout(ctx, u)
	s.audit(ctx, EventPasswordReset, u.ID, c, map[string]string{
		"sessions_revoked": strconv.Itoa(len(ended))})
	s.notifyPasswordChange(ctx, u, c, true)
	return nil
}

// CodePasswordChanged refuses a password change that lost the race with a
// reset or another change of the same account.
const CodePasswordChanged = "password_changed"

var errPasswordChanged = Errorf(CodePasswordChanged,
	"The password was changed by another request meanwhile; nothing was changed.")

// ChangePassword replaces the caller's password after checking the current
// one. The policy applies; every other session of the account ends while
// the caller's goes on; outstanding reset links stop working, and the
// account's address gets a notice. A wrong current password counts toward
// the lockout, as a failed login does: a stolen access token must not
// become a way to guess the password at leisure. The new hash is written
// only over the one the current password was checked against, so that a
// reset or change committed in between is never undone.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string,
	c Client) error {
	u := p.User
	if current == "" {
		return Invalid("currentPassword", "Current password is required.")
	}
	if err := s.checkLock(ctx, "lock:"+u.Email); err != nil {
		return err
	}
	if err := s.checkPassword("newPassword", next); err != nil {
		return err
	}
	if next == current {
		return Invalid("newPassword", "The new password must differ from the current one.")
	}
	// Counted before the check, as a login is (see reserveFailure), so that
	// a burst of guesses with one access token gets no more checked than
	// the lockout allows.
	fails, err := s.reserveFailure(ctx, u.Email)
	if err != nil {
		return err
	}

	ok := false
	if len(current) <= 4*s.policy.MaxLength {
		if ok, _, err = s.hasher.Verify(ctx, u.PasswordHash, current); err != nil {
			s.releaseFailure(ctx, u.Email)
			return hashErr(err)
		}
	}
	if !ok {
		s.audit(ctx, EventPasswordRefused, u.ID, c, nil)
		if err := s.lockIfReached(ctx, u.Email, fails, &u, c); err != nil {
			return err
		}
		const msg = "The current password is incorrect."
		return &Error{Code: CodeInvalidPassword, Message: msg,
			Fields: map[string]string{"currentPassword": msg}}
	}
	// The current password was right: this attempt is no failure.
	s.releaseFailure(ctx, u.Email)
	pwHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return hashErr(err)
	}

	now := s.now()
	u, err = s.store.ChangePassword(ctx, u.ID, u.PasswordHash, pwHash, now)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.changeAfterUpgrade(ctx, p.User.ID, current, pwHash, now)
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ended, err := s.store.RevokeUserSessions(ctx, u.ID, p.Session.ID, now)
	if err != nil {
		return fmt.Errorf("change password: end other sessions: %w", err)
	}
	if err := s.attempts.Reset(ctx, "fail:"+u.Email); err != nil {
		s.log.WarnContext(ctx, "failure count not cleared", "user_id", u.ID, "err", err)
	}
	s.audit(ctx, EventPasswordChanged, u.ID, c, map[string]string{
		"session_id": p.Session.ID, "sessions_revoked": strconv.Itoa(len(ended))})
	s.notifyPasswordChange(ctx, u, c, false)
	return nil
}

// changeAfterUpgrade is ChangePassword's second try when the stored hash
// changed after the current password was checked against it. A login
// upgrading the hash of the same password is harmless, and the change goes
// on over the new hash; a reset or another change committed meanwhile is
// not, since writing would undo it with a password checked against the
// hash it replaced.
func (s *Service) changeAfterUpgrade(ctx context.Context, userID, current, pwHash string,
	now time.Time) (store.User, error) {
	cur, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return store.User{}, fmt.Errorf("change password: read user again: %w", err)
	}
	ok, _, err := s.hasher.Verify(ctx, cur.PasswordHash, current)
	if err != nil {
		return store.User{}, hashErr(err)
	}
	if !ok {
		return store.User{}, errPasswordChanged
	}
	u, err := s.store.ChangePassword(ctx, userID, cur.PasswordHash, pwHash, now)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, errPasswordChanged
	}
	return u, err
}

// liftLockout clears the account's failure count and lock after a reset:
// whoever was locked out has just proven control of the address. The reset
// stands if the counters cannot be reached; the lock then runs out on its
// own.
func (s *Service) liftLockout(ctx context.Context, u store.User) {
	for _, key := range []string{"fail:" + u.Email, "lock:" + u.Email} {
		if err := s.attempts.Reset(ctx, key); err != nil {
			s.log.WarnContext(ctx, "lockout not lifted after password reset", "user_id", u.ID,
				"err", err)
			return
		}
	}
}

// notifyPasswordChange mails the account's address a notice of the change,
// so that an owner who did not make it learns of it.
func (s *Service) notifyPasswordChange(ctx context.Context, u store.User, c Client, reset bool) {
	s.mailer.Send(ctx, mail.PasswordChanged, u.Email, mail.Data{
		Email:     u.Email,
		At:        s.now(),
		IP:        c.IP,
		Reset:     reset,
		PublicURL: s.publicURL().String(),
	})
}

// waitUntil returns at deadline, or earlier when ctx ends.
func waitUntil(ctx context.Context, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
