// Package revocation carries session revocations between Latchkey
// instances over Redis publish/subscribe or PostgreSQL LISTEN/NOTIFY, so
// that each instance can cache sessions and still drop a revoked one within
// milliseconds.
package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/auth"
)

// idlePing is the liveness timing of a subscription: one that stays silent
// is pinged every idlePing, and one that does not answer the ping within
// another idlePing is treated as broken, so a dead connection that no error
// reveals is noticed within about twice idlePing.
const idlePing = 2 * time.Second

// Redis is a revocation feed over one Redis channel. It implements
// auth.RevocationFeed.
type Redis struct {
	client  redis.UniversalClient
	channel string
	log     *slog.Logger
}

// NewRedis returns a feed on channel. Instances that share a database must
// share the channel; deployments that share a Redis but not a database
// should use channels of their own.
func NewRedis(client redis.UniversalClient, channel string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.Default()
	}
	return &Redis{client: client, channel: channel, log: log}
}

var _ auth.RevocationFeed = (*Redis)(nil)

// Publish announces r to every instance following the channel.
func (f *Redis) Publish(ctx context.Context, r auth.Revocation) error {
	msg, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("revocation: encode: %w", err)
	}
	if err := f.client.Publish(ctx, f.channel, msg).Err(); err != nil {
		return fmt.Errorf("revocation: publish: %w", err)
	}
	return nil
}

// Follow delivers every revocation published on the channel to apply until
// ctx ends, reconnecting after any failure. connected(true) is called once
// the subscription is confirmed, connected(false) as soon as it breaks.
func (f *Redis) Follow(ctx context.Context, apply func(auth.Revocation),
	connected func(bool)) error {
	return retry(ctx, f.log, func() (bool, error) { return f.follow(ctx, apply, connected) })
}

// follow runs one subscription until it fails, and reports whether it was
// ever confirmed.
func (f *Redis) follow(ctx context.Context, apply func(auth.Revocation),
	connected func(bool)) (up bool, err error) {
	ps := f.client.Subscribe(ctx, f.channel)
	defer ps.Close()
	// A read blocked on the connection does not watch ctx; closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	defer func() {
		if up {
			connected(false)
		}
	}()

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, idlePing)
		if err != nil {
			if ctx.Err() != nil {
				return up, ctx.Err()
			}
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() || pinged {
				return up, err
			}
			if err := ps.Ping(ctx); err != nil {
				return up, err
			}
			pinged = true
			continue
		}
		pinged = false

		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == f.channel && !up {
				up = true
				connected(true)
			}
		case *redis.Message:
			var r auth.Revocation
			if err := json.Unmarshal([]byte(m.Payload), &r); err != nil {
				// Perhaps a revocation in a format this version does not
				// know: whatever it named, forget everything cached.
				f.log.WarnContext(ctx, "revocation feed: unreadable message", "err", err)
				connected(false)
				connected(true)
				continue
			}
			apply(r)
		case *redis.Pong:
		}
	}
}
