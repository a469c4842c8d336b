package metrics

import (
	"context"

	"github.com/latchkey/latchkey/internal/ratelimit"
)

// Limiter is a per-client request limiter, as the HTTP transport uses it
// (httpapi.Limiter).
type Limiter interface {
	Allow(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
	Refund(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
}

// CountRefusals wraps l so that each refusal it answers is counted under
// the rule's name, without the transport knowing about metrics.
func (m *Metrics) CountRefusals(l Limiter) Limiter {
	if m == nil || l == nil {
		return l
	}
	return countingLimiter{l: l, m: m}
}

type countingLimiter struct {
	l Limiter
	m *Metrics
}

func (c countingLimiter) Allow(
	ctx context.Context,
	r ratelimit.Rule,
	key string,
) (ratelimit.Result, error) {
	res, err := c.l.Allow(ctx, r, key)
	if err == nil && !res.Allowed {
		c.m.RateLimited(r.Name)
	}
	return res, err
}

// Refund gives an event back; it refuses nothing, so nothing is counted.
func (c countingLimiter) Refund(
	ctx context.Context,
	r ratelimit.Rule,
	key string,
) (ratelimit.Result, error) {
	return c.l.Refund(ctx, r, key)
}
