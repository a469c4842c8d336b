package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/revocation"
)

// redisPrefix starts every key Latchkey writes to Redis.
const redisPrefix = "latchkey:"

// Redis client timeouts. A rate limit check is one short script; waiting
// longer than this for it only makes every request slow during an outage.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = time.Second
)

// shared is what the instances of a deployment share besides the database:
// lockout counters, request budgets and the revocation feed. With REDIS_URL
// they live in Redis; without it in this process, which is right for a
// single instance only.
type shared struct {
	counter auth.Counter
	limiter httpapi.Limiter
	feed    auth.RevocationFeed  // nil without Redis, unless the database carries it
	checks  []httpapi.ReadyCheck // for /readyz
	close   func() error
}

// openShared connects to Redis when REDIS_URL is set. It does not wait for
// Redis to answer: an instance starts without it and serves what it can
// until it comes.
func openShared(cfg *config.Config, log *slog.Logger) (*shared, error) {
	if cfg.RedisURL == "" {
		return &shared{
			counter: ratelimit.NewMemory(nil),
			limiter: ratelimit.NewMemoryLimiter(nil),
			close:   func() error { return nil },
		}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		// The client's parse errors name the part at fault, never the
		// password.
		return nil, &configError{fmt.Errorf("REDIS_URL: %w", err)}
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisIOTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisIOTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = redisIOTimeout
	}
	opts.MaxRetries = 1
	client := redis.NewClient(opts)

	budgets := ratelimit.NewRedis(client, redisPrefix, log)
	// Pub/sub channels ignore the database number; naming it keeps
	// deployments on different databases of one server apart.
	channel := redisPrefix + "revocations:" + strconv.Itoa(opts.DB)
	return &shared{
		counter: budgets,
		limiter: budgets,
		feed:    revocation.NewRedis(client, channel, log),
		checks:  []httpapi.ReadyCheck{{Name: "redis", Check: budgets.Ping, Degrades: true}},
		close:   client.Close,
	}, nil
}

// followDatabase makes the database the revocation feed when Redis is not
// there to carry it and the database can: every instance shares a
// PostgreSQL database, so they announce revocations to each other with
// NOTIFY and may cache sessions. SQLite has no such channel, and there
// nothing is cached.
func (sh *shared) followDatabase(ctx context.Context, cfg *config.Config, db database,
	log *slog.Logger) error {
	info, err := cfg.Database()
	if sh.feed != nil || err != nil || info.Kind != config.KindPostgres {
		return nil
	}
	h, ok := db.(interface{ DB() *sql.DB })
	if !ok {
		return nil
	}
	f, err := revocation.NewPostgres(ctx, h.DB(), info.URL, log)
	if err != nil {
		return err
	}
	sh.feed = f
	return nil
}

// deps puts the shared parts into the flows' dependencies.
func (sh *shared) deps(d *auth.Deps) {
	d.Attempts = sh.counter
	d.Revocations = sh.feed
}

// rateLimits are the request budgets of DESIGN §4, from configuration.
func (sh *shared) rateLimits(cfg *config.Config) httpapi.RateLimits {
	return httpapi.RateLimits{
		Limiter: sh.limiter,
		General: ratelimit.Rule{Name: "api", Max: cfg.RateLimitMax, Window: cfg.RateLimitWindow},
		Login: ratelimit.Rule{Name: "login", Max: cfg.RateLimitLoginMax,
			Window: cfg.RateLimitLoginWindow},
		Reset: ratelimit.Rule{Name: "reset", Max: cfg.RateLimitResetMax,
			Window: cfg.RateLimitResetWindow},
	}
}
