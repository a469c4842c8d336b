package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/jwk"
)

// maxJWKSBytes bounds a fetched key set; Latchkey's holds a handful of
// keys in a few kilobytes.
const maxJWKSBytes = 1 << 20

// Bounds on a max-age taken from the server.
const (
	minServerTTL = time.Minute
	maxServerTTL = 24 * time.Hour
)

// keyCache holds the fetched key set. Fetches are single-flight: however
// many requests need a fetch at once, one runs and the others wait for it.
type keyCache struct {
	url        string
	client     *http.Client
	timeout    time.Duration
	ttl        time.Duration // zero: from the server's Cache-Control
	minRefetch time.Duration
	now        func() time.Time

	mu       sync.Mutex
	keys     map[string]publicKey // nil until a fetch succeeds
	expires  time.Time            // when the cached set is due for a refetch
	lastTry  time.Time            // when the last fetch started
	lastErr  error                // how the last fetch failed, nil if it did not
	inflight *fetchCall
}

// fetchCall is one fetch that callers can wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeyCache(o Options) *keyCache {
	return &keyCache{
		url:        o.JWKSURL,
		client:     o.HTTPClient,
		timeout:    o.FetchTimeout,
		ttl:        o.CacheTTL,
		minRefetch: o.MinRefetchInterval,
		now:        o.Now,
	}
}

// get returns the key kid names. A known key is returned at once, and a
// stale set is refreshed in the background. An unknown kid waits for a
// running fetch, or starts one unless the last started less than
// minRefetch ago.
func (c *keyCache) get(ctx context.Context, kid string) (publicKey, error) {
	c.mu.Lock()
	now := c.now()
	k, found := c.keys[kid]
	mayFetch := c.lastTry.IsZero() || now.Sub(c.lastTry) >= c.minRefetch
	if found {
		if mayFetch && !now.Before(c.expires) {
			c.start()
		}
		c.mu.Unlock()
		return k, nil
	}
	call := c.inflight
	if call == nil && mayFetch {
		call = c.start()
	}
	if call == nil {
		err := c.unknown()
		c.mu.Unlock()
		return publicKey{}, err
	}
	c.mu.Unlock()

	if err := wait(ctx, call); err != nil && c.snapshot() == nil {
		return publicKey{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	return publicKey{}, c.unknown()
}

// unknown is the error for a kid not in the set; c.mu is held.
func (c *keyCache) unknown() error {
	if c.keys == nil && c.lastErr != nil {
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, c.lastErr)
	}
	if c.keys == nil {
		return ErrKeysUnavailable
	}
	return fmt.Errorf("%w: unknown key", ErrInvalidToken)
}

func (c *keyCache) snapshot() map[string]publicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

// fetch fetches the set now and waits for it.
func (c *keyCache) fetch(ctx context.Context) error {
	c.mu.Lock()
	call := c.start()
	c.mu.Unlock()
	return wait(ctx, call)
}

func wait(ctx context.Context, call *fetchCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start begins a fetch unless one is running, and returns it; c.mu is held.
// The fetch has a context of its own, so that the request that started it
// going away does not fail the others waiting for it.
func (c *keyCache) start() *fetchCall {
	if c.inflight != nil {
		return c.inflight
	}
	call := &fetchCall{done: make(chan struct{})}
	c.inflight = call
	c.lastTry = c.now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		keys, maxAge, err := c.download(ctx)

		c.mu.Lock()
		if err == nil {
			c.keys = keys
			c.expires = c.now().Add(c.lifetime(maxAge))
		}
		c.lastErr = err
		call.err = err
		c.inflight = nil
		c.mu.Unlock()
		close(call.done)
	}()
	return call
}

// lifetime is how long a set fetched with the given max-age is used.
func (c *keyCache) lifetime(maxAge time.Duration) time.Duration {
	switch {
	case c.ttl > 0:
		return c.ttl
	case maxAge <= 0:
		return DefaultCacheTTL
	}
	return min(max(maxAge, minServerTTL), maxServerTTL)
}

// download fetches and parses the key set. Keys that are not usable (no
// kid, a type or size we do not verify with, a private member) are
// skipped; a set with no usable key is an error.
func (c *keyCache) download(ctx context.Context) (map[string]publicKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: status %d", res.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("verify: read JWKS: %w", err)
	}
	if len(raw) > maxJWKSBytes {
		return nil, 0, errors.New("verify: JWKS larger than 1 MiB")
	}

	var set jwk.Set
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, 0, fmt.Errorf("verify: parse JWKS: %w", err)
	}
	keys := make(map[string]publicKey)
	for _, k := range set.Keys {
		if k.ID == "" {
			continue
		}
		pub, alg, err := k.Public()
		if err != nil {
			continue
		}
		keys[k.ID] = publicKey{public: pub, alg: alg}
	}
	if len(keys) == 0 {
		return nil, 0, errors.New("verify: JWKS holds no usable signing key")
	}
	return keys, maxAge(res.Header.Get("Cache-Control")), nil
}

// maxAge returns the max-age directive of a Cache-Control header, or zero.
func maxAge(header string) time.Duration {
	for _, d := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
		if err != nil || secs < 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxServerTTL/time.Second))) * time.Second
	}
	return 0
}
