package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey/internal/store"
)

// defaultPurgeBatch is the rows one purge statement deletes when the caller
// sets no batch size: small enough that a statement holds its locks for
// milliseconds, large enough that a backlog clears in few round trips.
const defaultPurgeBatch = 1000

// Purge deletes the dead and old rows p selects, table by table, each in
// batches. Sessions go first, so that their refresh tokens leave with them
// by cascade.
func (s *Store) Purge(ctx context.Context, p store.Purge) (store.Purged, error) {
	batch := p.BatchSize
	if batch <= 0 {
		batch = defaultPurgeBatch
	}
	var out store.Purged
	steps := []struct {
		name  string
		count *int64
		query string
		args  []any
	}{
		{"sessions", &out.Sessions, s.ops.purgeSessions,
			[]any{s.ts(p.SessionsEnded), s.ts(p.SessionsEnded), s.ts(p.SessionsIdle)}},
		{"refresh tokens", &out.RefreshTokens, s.ops.purgeRefresh,
			[]any{s.ts(p.TokensExpired)}},
		{"one-time tokens", &out.OneTimeTokens, s.ops.purgeOneTime,
			[]any{s.ts(p.TokensExpired)}},
		{"login history", &out.LoginHistory, s.ops.purgeLogins, []any{s.ts(p.LoginHistory)}},
		{"audit events", &out.AuditEvents, s.ops.purgeAudit, []any{s.ts(p.AuditEvents)}},
	}
	for _, st := range steps {
		n, err := s.deleteBatches(ctx, st.query, batch, st.args...)
		*st.count = n
		if err != nil {
			return out, s.fail("purge "+st.name, err)
		}
	}
	return out, nil
}

// deleteBatches runs a batched DELETE, whose last argument is the batch
// size, until a batch deletes nothing. A short batch is not the end: another
// instance purging at the same time may have taken some of its rows.
func (s *Store) deleteBatches(ctx context.Context, query string, batch int,
	args ...any) (int64, error) {
	args = append(args, batch)
	var total int64
	for {
		res, err := s.write.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
