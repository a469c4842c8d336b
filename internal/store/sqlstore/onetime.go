package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// oneTimeFields are the columns scanned by oneTimeDest. They go
// unqualified: SQLite refuses table names in a RETURNING clause.
const oneTimeFields = `id, user_id, purpose, token_hash, created_at, expires_at, used_at,
	attempts`

// oneTimeQueries are the statements for one-time tokens, in the engine's
// placeholder style.
type oneTimeQueries struct {
	insert, supersede, peek, consume, fail string
}

func newOneTimeQueries(bind func(string) string) oneTimeQueries {
	return oneTimeQueries{
		insert: bind(`INSERT INTO one_time_tokens (id, user_id, purpose, token_hash,
			created_at, expires_at, used_at, attempts)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		supersede: bind(`UPDATE one_time_tokens SET used_at = ?
			WHERE user_id = ? AND purpose = ? AND used_at IS NULL`),
		peek: bind(`SELECT ` + oneTimeFields + ` FROM one_time_tokens
			WHERE purpose = ? AND token_hash = ? AND used_at IS NULL AND expires_at > ?`),
		// The conditional UPDATE is the compare-and-set: only one caller
		// can move used_at from NULL.
		consume: bind(`UPDATE one_time_tokens SET used_at = ?
			WHERE purpose = ? AND token_hash = ? AND used_at IS NULL AND expires_at > ?
			RETURNING ` + oneTimeFields),
		// In SET, attempts is the value before this update.
		fail: bind(`UPDATE one_time_tokens SET attempts = attempts + 1,
			used_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE used_at END
			WHERE id = ? AND used_at IS NULL AND expires_at > ?
			RETURNING attempts`),
	}
}

func oneTimeDest(o *store.OneTimeToken) []any {
	return []any{&o.ID, &o.UserID, &o.Purpose, &o.TokenHash, timeDest{&o.CreatedAt},
		timeDest{&o.ExpiresAt}, timeDest{&o.UsedAt}, &o.Attempts}
}

// CreateOneTimeToken stores t, first voiding the live tokens of the same
// user and purpose when supersede is set.
func (s *Store) CreateOneTimeToken(ctx context.Context, t store.OneTimeToken, supersede bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if supersede {
			_, err := tx.ExecContext(ctx, s.ot.supersede, s.ts(t.CreatedAt), t.UserID, t.Purpose)
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, s.ot.insert, t.ID, t.UserID, t.Purpose, t.TokenHash,
			s.ts(t.CreatedAt), s.ts(t.ExpiresAt), s.nullTS(t.UsedAt), t.Attempts)
		return err
	})
	return s.fail("create one-time token", err)
}

// PeekOneTimeToken returns the live token with the purpose and hash, or
// store.ErrNotFound.
func (s *Store) PeekOneTimeToken(
	ctx context.Context,
	purpose, hash string,
	now time.Time,
) (store.OneTimeToken, error) {
	var o store.OneTimeToken
	err := s.read.QueryRowContext(ctx, s.ot.peek, purpose, hash, s.ts(now)).
		Scan(oneTimeDest(&o)...)
	if err != nil {
		return store.OneTimeToken{}, s.fail("peek one-time token", err)
	}
	return o, nil
}

// ConsumeOneTimeToken uses the live token with the purpose and hash, or
// returns store.ErrNotFound.
func (s *Store) ConsumeOneTimeToken(
	ctx context.Context,
	purpose, hash string,
	now time.Time,
) (store.OneTimeToken, error) {
	var o store.OneTimeToken
	err := s.write.QueryRowContext(ctx, s.ot.consume, s.ts(now), purpose, hash, s.ts(now)).
		Scan(oneTimeDest(&o)...)
	if err != nil {
		return store.OneTimeToken{}, s.fail("consume one-time token", err)
	}
	return o, nil
}

// FailOneTimeToken counts a failed attempt with the live token id, voiding
// it at max attempts.
func (s *Store) FailOneTimeToken(
	ctx context.Context,
	id string,
	max int,
	now time.Time,
) (int, error) {
	var n int
	err := s.write.QueryRowContext(ctx, s.ot.fail, max, s.ts(now), id, s.ts(now)).Scan(&n)
	if err != nil {
		return 0, s.fail("fail one-time token", err)
	}
	return n, nil
}

// VoidOneTimeTokens voids every live token of the user and purpose.
func (s *Store) VoidOneTimeTokens(ctx context.Context, userID, purpose string, now time.Time) error {
	_, err := s.write.ExecContext(ctx, s.ot.supersede, s.ts(now), userID, purpose)
	return s.fail("void one-time tokens", err)
}
