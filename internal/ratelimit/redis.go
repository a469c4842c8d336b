package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// coolDown is how long after a failure calls give up at once instead of
// waiting on Redis again: while it is down, each request learns so in
// microseconds rather than after a dial timeout. The first call after it
// tries Redis again, so service comes back by itself.
const coolDown = time.Second

// Redis keeps counters and request budgets in Redis, so that every instance
// sharing it sees the same counts. Request budgets use go-redis/redis_rate,
// which runs the cell rate algorithm in one Lua script on Redis's own clock,
// so instances whose clocks differ still agree. It is safe for concurrent
// use.
//
// Every error wraps ErrUnavailable. Failures and recoveries are logged once
// per change rather than once per call.
type Redis struct {
	client redis.UniversalClient
	prefix string
	rate   *redis_rate.Limiter
	log    *slog.Logger

	mu        sync.Mutex
	down      bool
	downUntil time.Time
}

// NewRedis returns a store on client whose keys all start with prefix, so
// that several deployments (or test runs) can share one Redis. log receives
// outage and recovery records (slog.Default() when nil).
func NewRedis(client redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.Default()
	}
	return &Redis{client: client, prefix: prefix, rate: redis_rate.NewLimiter(client), log: log}
}

// incrScript adds one to a counter and starts its window on the first hit.
// A counter found without an expiry (written by hand, or left by a crash
// between two commands of an older version) gets one, so no key is ever
// counted forever.
var incrScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// getScript reads a counter and the time left in its window together.
var getScript = redis.NewScript(`
local n = redis.call("GET", KEYS[1])
if not n then
  return {0, 0}
end
return {tonumber(n), redis.call("PTTL", KEYS[1])}
`)

// Incr adds one to key's count. The first hit opens a window of the given
// length; Incr returns the count within the window and the time until it
// ends.
func (r *Redis) Incr(ctx context.Context, key string,
	window time.Duration) (int64, time.Duration, error) {
	var n, ttl int64
	err := r.do(ctx, "incr", func() error {
		v, err := incrScript.Run(ctx, r.client, []string{r.counterKey(key)},
			max(window.Milliseconds(), 1)).Int64Slice()
		if err != nil {
			return err
		}
		n, ttl = v[0], v[1]
		return nil
	})
	return n, time.Duration(ttl) * time.Millisecond, err
}

// Get returns key's count in its current window and the time until the
// window ends; zero and zero when there is none.
func (r *Redis) Get(ctx context.Context, key string) (int64, time.Duration, error) {
	var n, ttl int64
	err := r.do(ctx, "get", func() error {
		v, err := getScript.Run(ctx, r.client, []string{r.counterKey(key)}).Int64Slice()
		if err != nil {
			return err
		}
		n, ttl = v[0], max(v[1], 0)
		return nil
	})
	return n, time.Duration(ttl) * time.Millisecond, err
}

// Reset forgets key's window.
func (r *Redis) Reset(ctx context.Context, key string) error {
	return r.do(ctx, "reset", func() error {
		return r.client.Del(ctx, r.counterKey(key)).Err()
	})
}

// releaseScript takes one back from a counter that exists and is above
// zero. DECR keeps the key's expiry; a counter that has gone is not
// recreated, so no key is left without an expiry.
var releaseScript = redis.NewScript(`
local n = tonumber(redis.call("GET", KEYS[1]))
if n and n > 0 then
  redis.call("DECR", KEYS[1])
end
return 0
`)

// Release takes one back from key's count in its current window, if it has
// one above zero; the window keeps its end.
func (r *Redis) Release(ctx context.Context, key string) error {
	return r.do(ctx, "release", func() error {
		return releaseScript.Run(ctx, r.client, []string{r.counterKey(key)}).Err()
	})
}

// Allow spends one event of key's budget under rule if there is one left.
func (r *Redis) Allow(ctx context.Context, rule Rule, key string) (Result, error) {
	var res Result
	err := r.do(ctx, "allow", func() error {
		rr, err := r.rate.Allow(ctx, r.budgetKey(rule, key), limitOf(rule))
		if err != nil {
			return err
		}
		res = resultOf(rule, rr, rr.Allowed > 0)
		return nil
	})
	return res, err
}

// rateKeyPrefix is what go-redis/redis_rate puts before every key it is
// given.
const rateKeyPrefix = "rate:"

// refundScript gives back one event of a budget that redis_rate keeps.
// Its key holds the theoretical arrival time of the next event, in seconds
// since 2017 on Redis's clock; a refund moves it back by one interval
// (ARGV[1], in seconds), and a budget that is whole again is deleted, as
// redis_rate would have no key for it. It returns the seconds until the
// budget is whole.
var refundScript = redis.NewScript(`
redis.replicate_commands()
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local tat = tonumber(redis.call("GET", KEYS[1]))
if not tat then
  return "0"
end
tat = tat - tonumber(ARGV[1])
if tat <= now then
  redis.call("DEL", KEYS[1])
  return "0"
end
redis.call("SET", KEYS[1], tat, "EX", math.ceil(tat - now))
return tostring(tat - now)
`)

// Refund gives back one event of key's budget under rule that Allow spent,
// for an event that turned out not to count. The budget never grows past
// rule.Max: what has refilled since the event was spent is not given twice.
func (r *Redis) Refund(ctx context.Context, rule Rule, key string) (Result, error) {
	var res Result
	err := r.do(ctx, "refund", func() error {
		interval := rule.Window.Seconds() / float64(rule.Max)
		v, err := refundScript.Run(ctx, r.client,
			[]string{rateKeyPrefix + r.budgetKey(rule, key)},
			strconv.FormatFloat(interval, 'f', -1, 64)).Text()
		if err != nil {
			return err
		}
		reset, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("refund script answered %q: %w", v, err)
		}
		res = standing(rule, time.Duration(reset*float64(time.Second)))
		return nil
	})
	return res, err
}

// Ping checks that Redis answers, for readiness probes. It ignores the
// cool-down, so that a probe sees a recovery as soon as it happens.
func (r *Redis) Ping(ctx context.Context) error {
	err := r.client.Ping(ctx).Err()
	r.observe(ctx, err)
	if err != nil {
		return fmt.Errorf("ratelimit: ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

func (r *Redis) counterKey(key string) string {
	return r.prefix + "count:" + key
}

func (r *Redis) budgetKey(rule Rule, key string) string {
	return r.prefix + rule.Name + ":" + key
}

func limitOf(rule Rule) redis_rate.Limit {
	return redis_rate.Limit{Rate: rule.Max, Burst: rule.Max, Period: rule.Window}
}

func resultOf(rule Rule, rr *redis_rate.Result, allowed bool) Result {
	return Result{
		Allowed:    allowed,
		Limit:      rule.Max,
		Remaining:  rr.Remaining,
		RetryAfter: max(rr.RetryAfter, 0),
		ResetAfter: max(rr.ResetAfter, 0),
	}
}

// do runs one Redis operation, unless Redis failed within the cool-down.
func (r *Redis) do(ctx context.Context, op string, f func() error) error {
	if r.coolingDown() {
		return fmt.Errorf("ratelimit: %s: %w (failed within the last %s)",
			op, ErrUnavailable, coolDown)
	}
	err := f()
	r.observe(ctx, err)
	if err != nil {
		return fmt.Errorf("ratelimit: %s: %w: %w", op, ErrUnavailable, err)
	}
	return nil
}

func (r *Redis) coolingDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down && time.Now().Before(r.downUntil)
}

// observe records the outcome of a call and logs changes between up and
// down. A call abandoned by its own caller says nothing about Redis.
func (r *Redis) observe(ctx context.Context, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		if !r.down {
			r.log.ErrorContext(ctx, "redis unavailable: logins and password resets "+
				"are refused, other request limits are not enforced", "err", err)
		}
		r.down = true
		r.downUntil = time.Now().Add(coolDown)
	case r.down:
		r.down = false
		r.log.InfoContext(ctx, "redis available again")
	}
}
