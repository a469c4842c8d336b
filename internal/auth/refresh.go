package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// maxGraceHops bounds how far along a family a retried token may be
// followed inside the grace window (a client retrying a token whose
// successor was itself just rotated by another tab).
const maxGraceHops = 3

// Refresh rotates a refresh token: the presented token is retired and its
// successor issued, in one compare-and-set. A token that was already rotated
// is a replay. Within the grace window after its rotation the replay is an
// idempotent retry and gets the same successor again; after it, the replay
// means the token leaked, so the whole family and its session are revoked.
func (s *Service) Refresh(ctx context.Context, presented string, c Client) (Grant, error) {
	if !token.WellFormed(presented) {
		return Grant{}, errBadToken
	}
	now := s.now()

	st, err := s.refreshState(ctx, presented)
	if err != nil {
		return Grant{}, err
	}
	if err := s.usable(st, now); err != nil {
		return Grant{}, err
	}
	if !st.Token.RotatedAt.IsZero() {
		return s.replay(ctx, presented, st, now, c, 0)
	}

	next := s.keyed.Successor(presented)
	rec := store.RefreshToken{
		ID:        newID(),
		SessionID: st.Session.ID,
		UserID:    st.User.ID,
		TokenHash: s.keyed.Hash(next),
		CreatedAt: now,
		ExpiresAt: s.refreshExpiry(st.Session, now),
	}
	err = s.store.RotateRefreshToken(ctx, st.Token.ID, rec, now)
	if errors.Is(err, store.ErrConflict) {
		// Another request rotated or revoked it between our read and our
		// write; judge the token again as it is now.
		if st, err = s.refreshState(ctx, presented); err != nil {
			return Grant{}, err
		}
		if err := s.usable(st, now); err != nil {
			return Grant{}, err
		}
		return s.replay(ctx, presented, st, now, c, 0)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	st.Session.LastActivity = now
	return s.grant(st.User, st.Session, next, rec.ExpiresAt, now)
}

func (s *Service) refreshState(ctx context.Context, tok string) (store.RefreshState, error) {
	st, err := s.store.RefreshState(ctx, s.keyed.Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return st, errBadToken
	}
	if err != nil {
		return st, fmt.Errorf("refresh: %w", err)
	}
	return st, nil
}

// usable refuses a token that is revoked, expired, or whose session or user
// may no longer be used. A rotated token passes: that is for replay to judge.
func (s *Service) usable(st store.RefreshState, now time.Time) error {
	if !st.Token.RevokedAt.IsZero() || !now.Before(st.Token.ExpiresAt) {
		return errBadToken
	}
	return s.sessionLive(st.Session, st.User, now)
}

// replay handles a token that has already been rotated.
func (s *Service) replay(ctx context.Context, tok string, st store.RefreshState, now time.Time,
	c Client, hops int) (Grant, error) {
	if now.Sub(st.Token.RotatedAt) > s.opts.ReuseGrace || hops >= maxGraceHops {
		return Grant{}, s.reuseDetected(ctx, st, now, c)
	}

	next := s.keyed.Successor(tok)
	succ, err := s.refreshState(ctx, next)
	if err != nil {
		// A rotated token always has a stored successor; without one the
		// family cannot be trusted.
		if errors.Is(err, errBadToken) {
			return Grant{}, s.reuseDetected(ctx, st, now, c)
		}
		return Grant{}, err
	}
	if err := s.usable(succ, now); err != nil {
		return Grant{}, err
	}
	if !succ.Token.RotatedAt.IsZero() {
		return s.replay(ctx, next, succ, now, c, hops+1)
	}
	return s.grant(succ.User, succ.Session, next, succ.Token.ExpiresAt, now)
}

// reuseDetected revokes the token's family and session: a rotated token
// presented after the grace window is in the hands of someone it was not
// issued to, or was, and either way nobody can tell which.
func (s *Service) reuseDetected(ctx context.Context, st store.RefreshState, now time.Time,
	c Client) error {
	if err := s.store.RevokeSession(ctx, "", st.Session.ID, now); err != nil {
		return fmt.Errorf("revoke reused family: %w", err)
	}
	s.log.WarnContext(ctx, "refresh token reuse detected",
		"user_id", st.User.ID, "session_id", st.Session.ID)
	s.audit(ctx, EventReuseDetected, st.User.ID, c, map[string]string{"session_id": st.Session.ID})
	return &Error{Code: CodeInvalidToken, Message: errBadToken.Message,
		Err: errors.New("refresh token reuse detected")}
}
