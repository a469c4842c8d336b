package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// touchInterval bounds how stale a session's LastActivity may get before an
// authenticated request writes it again: one write per session per interval
// instead of one per request. It is a small share of the idle timeout so a
// strict 15-minute session still slides accurately.
func (s *Service) touchInterval() time.Duration {
	return min(s.opts.IdleTimeout/15, time.Minute)
}

// maxUserAgent is how many bytes of a client's user agent a session or a
// login history entry keeps.
const maxUserAgent = 512

// startSession creates a session for u with its first refresh token and an
// access token.
func (s *Service) startSession(ctx context.Context, u store.User, c Client) (Grant, error) {
	now := s.now()
	sess := store.Session{
		ID:           newID(),
		UserID:       u.ID,
		IPAddress:    c.IP,
		UserAgent:    truncate(c.UserAgent, maxUserAgent),
		CreatedAt:    now,
		LastActivity: now,
		ExpiresAt:    now.Add(s.opts.MaxAge),
	}
	refresh, err := token.NewOpaque()
	if err != nil {
		return Grant{}, err
	}
	first := store.RefreshToken{
		ID:        newID(),
		SessionID: sess.ID,
		UserID:    u.ID,
		TokenHash: s.keyed.Hash(refresh),
		CreatedAt: now,
		ExpiresAt: s.refreshExpiry(sess, now),
	}
	if err := s.store.CreateSession(ctx, sess, first); err != nil {
		return Grant{}, fmt.Errorf("create session: %w", err)
	}
	if err := s.stillCurrent(ctx, u, sess.ID, now); err != nil {
		return Grant{}, err
	}
	return s.grant(u, sess, refresh, first.ExpiresAt, now)
}

// stillCurrent ends the session just created for u, and refuses the login,
// when the account's password hash or standing is no longer what the
// login read before checking the password. A reset, a change or a
// deactivation committed in between ended every session but could not end
// this one, created after it; read after the session was committed, the
// account shows any such change, and otherwise any later one will find
// the session and end it.
func (s *Service) stillCurrent(ctx context.Context, u store.User, sessionID string,
	now time.Time) error {
	cur, err := s.store.UserByID(ctx, u.ID)
	if err == nil && cur.PasswordHash == u.PasswordHash && cur.Active {
		return nil
	}
	if rerr := s.store.RevokeSession(ctx, u.ID, sessionID, now); rerr != nil {
		s.log.WarnContext(ctx, "session of a refused login not revoked", "user_id", u.ID,
			"err", rerr)
	}
	switch {
	case err != nil:
		return fmt.Errorf("create session: read user again: %w", err)
	case !cur.Active:
		return errDisabled
	}
	return errBadCredentials
}

// refreshExpiry is a new refresh token's expiry: its lifetime, capped by the
// session's absolute end.
func (s *Service) refreshExpiry(sess store.Session, now time.Time) time.Time {
	exp := now.Add(s.opts.RefreshTTL)
	if sess.ExpiresAt.Before(exp) {
		return sess.ExpiresAt
	}
	return exp
}

func (s *Service) grant(u store.User, sess store.Session, refresh string, refreshExp,
	now time.Time) (Grant, error) {
	access, exp, err := s.access.Issue(token.Subject{
		UserID:    u.ID,
		SessionID: sess.ID,
		Email:     u.Email,
		Role:      u.Role,
	}, now)
	if err != nil {
		return Grant{}, fmt.Errorf("issue access token: %w", err)
	}
	return Grant{
		User:             u,
		SessionID:        sess.ID,
		AccessToken:      access,
		AccessExpiresAt:  exp,
		RefreshToken:     refresh,
		RefreshExpiresAt: refreshExp,
	}, nil
}

// AccessTTL is the lifetime of the access tokens the service issues.
func (s *Service) AccessTTL() time.Duration { return s.access.TTL() }

// RefreshTTL is the lifetime of each refresh token.
func (s *Service) RefreshTTL() time.Duration { return s.opts.RefreshTTL }

// sessionLive reports why a session may not be used, or nil when it may.
func (s *Service) sessionLive(sess store.Session, u store.User, now time.Time) error {
	switch {
	case !sess.RevokedAt.IsZero(),
		!now.Before(sess.ExpiresAt),
		now.Sub(sess.LastActivity) >= s.opts.IdleTimeout:
		return errBadToken
	case !u.Active:
		return errDisabled
	}
	return nil
}

// SessionExpiry is when the session ends if nothing extends it: its idle
// deadline, capped by its absolute lifetime.
func (s *Service) SessionExpiry(sess store.Session) time.Time {
	idle := sess.LastActivity.Add(s.opts.IdleTimeout)
	if sess.ExpiresAt.Before(idle) {
		return sess.ExpiresAt
	}
	return idle
}

// Authenticate verifies an access token and that its session is still live,
// and returns the caller. Verifying the signature alone is not enough: a
// token of a revoked session must stop working at once.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	now := s.now()
	claims, err := s.access.Verify(accessToken, now)
	if err != nil {
		return Principal{}, &Error{Code: CodeInvalidToken, Message: errBadToken.Message, Err: err}
	}

	su, err := s.sessionUser(ctx, claims.SessionID, claims.Subject, now)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errBadToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if su.Session.UserID != claims.Subject {
		return Principal{}, errBadToken
	}
	if err := s.sessionLive(su.Session, su.User, now); err != nil {
		return Principal{}, err
	}

	if now.Sub(su.Session.LastActivity) >= s.touchInterval() {
		if err := s.store.TouchSession(ctx, su.Session.ID, now); err != nil {
			return Principal{}, fmt.Errorf("touch session: %w", err)
		}
		su.Session.LastActivity = now
	}
	return Principal{User: su.User, Session: su.Session}, nil
}

// Logout ends the caller's session, or every session of the caller when all
// is set.
func (s *Service) Logout(ctx context.Context, p Principal, all bool, c Client) error {
	now := s.now()
	if all {
		if _, err := s.store.RevokeUserSessions(ctx, p.User.ID, "", now); err != nil {
			return err
		}
	} else if err := s.store.RevokeSession(ctx, p.User.ID, p.Session.ID, now); err != nil {
		return err
	}
	s.audit(ctx, EventLogout, p.User.ID, c, map[string]string{
		"session_id": p.Session.ID, "all": fmt.Sprint(all)})
	return nil
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]store.Session, error) {
	now := s.now()
	all, err := s.store.ListSessions(ctx, p.User.ID, now)
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, sess := range all {
		if now.Sub(sess.LastActivity) < s.opts.IdleTimeout {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession ends one of the caller's sessions. Another user's session
// id is answered like an unknown one.
func (s *Service) RevokeSession(ctx context.Context, p Principal, sessionID string,
	c Client) error {
	if !validID(sessionID) {
		return errNoSession
	}
	err := s.store.RevokeSession(ctx, p.User.ID, sessionID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return errNoSession
	}
	if err != nil {
		return err
	}
	s.audit(ctx, EventSessionRevoked, p.User.ID, c, map[string]string{"session_id": sessionID})
	return nil
}

// truncate cuts s to at most n bytes on a character boundary, dropping
// invalid UTF-8 and NUL bytes, which PostgreSQL refuses in text columns.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
