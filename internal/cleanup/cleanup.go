// Package cleanup is the maintenance job that keeps Latchkey's tables from
// growing without bound: it deletes dead sessions, expired tokens, and
// login history and audit events past their retention. Every server
// instance runs it; deleting is idempotent, so instances running it at the
// same time only share the work.
package cleanup

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Purger is the part of the store the job uses.
type Purger interface {
	Purge(ctx context.Context, p store.Purge) (store.Purged, error)
}

// Retention says how long rows live before the job deletes them.
type Retention struct {
	// IdleTimeout is the sliding session expiry: a session idle this long
	// can no longer be used.
	IdleTimeout time.Duration
	// LoginHistory and Audit are how long login history entries and audit
	// events are kept.
	LoginHistory time.Duration
	Audit        time.Duration
}

// runTimeout bounds one run, so that a stuck database cannot pile up runs.
const runTimeout = 10 * time.Minute

// Job deletes what has outlived its retention.
type Job struct {
	p   Purger
	r   Retention
	now func() time.Time
	log *slog.Logger
}

// New returns a Job over p. now is time.Now and log slog.Default() when
// nil.
func New(p Purger, r Retention, now func() time.Time, log *slog.Logger) *Job {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Job{p: p, r: r, now: now, log: log}
}

// Cutoffs is what a run at now deletes: sessions that were revoked, passed
// their absolute expiry or sat idle past the timeout, tokens that expired,
// and history and events older than their retention.
func (j *Job) Cutoffs(now time.Time) store.Purge {
	now = now.UTC()
	return store.Purge{
		SessionsEnded: now,
		SessionsIdle:  now.Add(-j.r.IdleTimeout),
		TokensExpired: now,
		LoginHistory:  now.Add(-j.r.LoginHistory),
		AuditEvents:   now.Add(-j.r.Audit),
	}
}

// Run deletes once what has outlived its retention and returns how many
// rows went.
func (j *Job) Run(ctx context.Context) (store.Purged, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	return j.p.Purge(ctx, j.Cutoffs(j.now()))
}

// Loop runs the job about every interval until ctx ends. The first run
// comes after a random part of the interval (at most a minute), and each
// wait varies by a tenth, so that instances started together do not purge
// in lockstep. A failed run is logged; the next one catches up.
func (j *Job) Loop(ctx context.Context, interval time.Duration) {
	wait := time.Duration(rand.Int64N(int64(min(interval, time.Minute)) + 1))
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		j.runAndLog(ctx)
		wait = jitter(interval)
	}
}

func (j *Job) runAndLog(ctx context.Context) {
	start := time.Now()
	n, err := j.Run(ctx)
	if err != nil {
		if ctx.Err() == nil {
			j.log.WarnContext(ctx, "cleanup failed", "err", err)
		}
		return
	}
	j.log.InfoContext(ctx, "cleanup done", "sessions", n.Sessions,
		"refresh_tokens", n.RefreshTokens, "one_time_tokens", n.OneTimeTokens,
		"login_history", n.LoginHistory, "audit_events", n.AuditEvents,
		"duration", time.Since(start))
}

// jitter returns d give or take a tenth.
func jitter(d time.Duration) time.Duration {
	spread := int64(d / 10)
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}
