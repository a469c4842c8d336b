// Package client is a Go client for Latchkey's HTTP API. A Client signs a
// user in, keeps the tokens, and sends them with every call; it refreshes
// the access token shortly before it expires and, once, when the server
// answers 401 invalid_token, before giving up. It is safe for concurrent
// use: however many goroutines find the access token expired at once, one
// refresh runs and the others wait for its result, so the rotating refresh
// token is never spent twice.
//
// The client asks for the refresh token in the JSON body
// (Auth-Token-Transport: body) instead of a cookie, as a program that is
// not a browser should. Failures the server reports are *Error values that
// carry the HTTP status and the API's error code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrNotSignedIn means a call needs a signed-in user and the client holds
// no tokens, or its session ended and it could not be refreshed.
var ErrNotSignedIn = errors.New("client: not signed in")

// Defaults for the zero values of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultRefreshAhead = 30 * time.Second
)

// maxResponse bounds a response body the client reads.
const maxResponse = 4 << 20

// Options configure a Client.
type Options struct {
	// HTTPClient sends the requests; by default a client with a
	// DefaultTimeout timeout. It should not have a cookie jar: the client
	// carries the refresh token itself.
	HTTPClient *http.Client
	// RefreshAhead is how long before its expiry the access token is
	// refreshed, at most half its lifetime.
	RefreshAhead time.Duration
	// OnTokens, when set, is called with the tokens each time they change,
	// and with zero Tokens when the client signs out or its session ends,
	// so that a program can keep them across runs (see SetTokens). Calls do
	// not overlap.
	OnTokens func(Tokens)
	// UserAgent is sent with every request.
	UserAgent string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Tokens are what a signed-in client holds. They are secrets: their
// formatted and logged forms hide the values.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	// Expiry is when the access token expires, by the client's clock.
	Expiry time.Time
}

// String describes the tokens without their values.
func (t Tokens) String() string {
	if t.AccessToken == "" {
		return "client.Tokens{}"
	}
	return "client.Tokens{[redacted], expires " + t.Expiry.Format(time.RFC3339) + "}"
}

// GoString is String, so that %#v hides the values too.
func (t Tokens) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the values.
func (t Tokens) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Client talks to one Latchkey server for one user at a time. It is safe
// for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	ahead     time.Duration
	onTokens  func(Tokens)
	userAgent string
	now       func() time.Time

	mu        sync.Mutex
	tokens    Tokens
	refreshAt time.Time    // when the access token is due for a refresh
	inflight  *refreshCall // the refresh running now, if any

	notifyMu sync.Mutex // orders OnTokens calls
}

// refreshCall is one refresh that callers can wait for.
type refreshCall struct {
	done   chan struct{}
	access string
	err    error
}

// New returns a client for the server at baseURL, such as
// https://auth.example.com.
func New(baseURL string, o *Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if opts.RefreshAhead <= 0 {
		opts.RefreshAhead = DefaultRefreshAhead
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "latchkey-go-client"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Client{
		base:      u,
		http:      opts.HTTPClient,
		ahead:     opts.RefreshAhead,
		onTokens:  opts.OnTokens,
		userAgent: opts.UserAgent,
		now:       opts.Now,
	}, nil
}

// Tokens returns the tokens the client holds; zero when signed out.
func (c *Client) Tokens() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// SetTokens makes the client use t, such as tokens kept from an earlier
// run. A zero Tokens signs the client out locally.
func (c *Client) SetTokens(t Tokens) {
	c.mu.Lock()
	c.tokens = t
	c.refreshAt = t.Expiry.Add(-c.ahead)
	c.mu.Unlock()
	c.notify()
}

// SignedIn reports whether the client holds tokens.
func (c *Client) SignedIn() bool {
	return c.Tokens().AccessToken != ""
}

// grant is the body of a response that hands out tokens.
type grant struct {
	User         *User  `json:"user"`
	AccessToken  string `json:"accessToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int64  `json:"expiresIn"`
	RefreshToken string `json:"refreshToken"`
}

// keep stores the tokens of g, received at received.
func (c *Client) keep(g grant, received time.Time) error {
	c.mu.Lock()
	err := c.keepLocked(g, received)
	c.mu.Unlock()
	if err == nil {
		c.notify()
	}
	return err
}

// keepLocked is keep with c.mu held.
func (c *Client) keepLocked(g grant, received time.Time) error {
	if g.AccessToken == "" || g.RefreshToken == "" || g.ExpiresIn <= 0 {
		return errors.New("client: the server's answer holds no tokens")
	}
	lifetime := time.Duration(g.ExpiresIn) * time.Second
	c.tokens = Tokens{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken,
		Expiry: received.Add(lifetime)}
	c.refreshAt = received.Add(lifetime - min(c.ahead, lifetime/2))
	return nil
}

// forget drops the tokens: the session is over.
func (c *Client) forget() {
	c.mu.Lock()
	changed := c.forgetLocked()
	c.mu.Unlock()
	if changed {
		c.notify()
	}
}

// forgetLocked is forget with c.mu held; it reports whether there was
// anything to drop.
func (c *Client) forgetLocked() bool {
	changed := c.tokens.AccessToken != "" || c.tokens.RefreshToken != ""
	c.tokens = Tokens{}
	c.refreshAt = time.Time{}
	return changed
}

// notify hands the current tokens to OnTokens. Reading them under notifyMu
// means the last call always sees the last state, whatever the order in
// which changes raced here.
func (c *Client) notify() {
	if c.onTokens == nil {
		return
	}
	c.notifyMu.Lock()
	defer c.notifyMu.Unlock()
	c.onTokens(c.Tokens())
}

// accessToken returns a usable access token, refreshing first when it is
// due.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	t, due := c.tokens, !c.now().Before(c.refreshAt)
	c.mu.Unlock()
	switch {
	case t.AccessToken == "":
		return "", ErrNotSignedIn
	case due && t.RefreshToken != "":
		return c.refreshFrom(ctx, t.AccessToken)
	}
	return t.AccessToken, nil
}

// Refresh exchanges the refresh token for new tokens now.
func (c *Client) Refresh(ctx context.Context) error {
	_, err := c.refreshFrom(ctx, c.Tokens().AccessToken)
	return err
}

// refreshFrom replaces the access token stale. When another goroutine has
// already replaced it, the new one is returned without a request; when a
// refresh is running, its result is awaited; otherwise one starts. The
// refresh runs on a context of its own, so that the caller that started it
// giving up does not fail the others waiting for it.
func (c *Client) refreshFrom(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	if cur := c.tokens.AccessToken; cur != "" && cur != stale {
		c.mu.Unlock()
		return cur, nil
	}
	call := c.inflight
	if call == nil {
		rt := c.tokens.RefreshToken
		if rt == "" {
			c.mu.Unlock()
			return "", ErrNotSignedIn
		}
		call = &refreshCall{done: make(chan struct{})}
		c.inflight = call
		go c.runRefresh(context.WithoutCancel(ctx), call, rt)
	}
	c.mu.Unlock()

	select {
	case <-call.done:
		return call.access, call.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Client) runRefresh(ctx context.Context, call *refreshCall, refreshToken string) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()

	var g grant
	_, err := c.send(ctx, http.MethodPost, "/api/auth/refresh", nil,
		map[string]string{"refreshToken": refreshToken}, "", &g)
	received := c.now()

	// The new tokens replace the old ones in the same critical section that
	// ends the call: a caller that still holds the old access token either
	// waits for this call or finds the new token, and never sends the
	// spent refresh token again.
	c.mu.Lock()
	changed := false
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		// The refresh token is spent, revoked or expired: the session is
		// over, and only signing in again helps.
		changed = c.forgetLocked()
		call.err = fmt.Errorf("%w: %w", ErrNotSignedIn, err)
	case err != nil:
		// A network fault or an outage: keep the tokens for a later try.
		// Within the server's reuse grace window, the same refresh token
		// gets the same successor, so a lost answer costs nothing.
		call.err = fmt.Errorf("client: refresh: %w", err)
	default:
		if call.err = c.keepLocked(g, received); call.err == nil {
			call.access, changed = g.AccessToken, true
		}
	}
	c.inflight = nil
	c.mu.Unlock()
	close(call.done)
	if changed {
		c.notify()
	}
}

// call sends a request to the API and decodes the answer into out. With
// authed set it carries the access token, refreshed when due, and retries
// once after a refresh when the server answers 401 invalid_token.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any,
	authed bool) error {
	_, err := c.callStatus(ctx, method, path, query, in, out, authed)
	return err
}

// callStatus is call that also returns the status of a successful answer.
func (c *Client) callStatus(ctx context.Context, method, path string, query url.Values, in,
	out any, authed bool) (int, error) {
	if !authed {
		return c.send(ctx, method, path, query, in, "", out)
	}
	tok, err := c.accessToken(ctx)
	if err != nil {
		return 0, err
	}
	status, err := c.send(ctx, method, path, query, in, tok, out)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized ||
		apiErr.Code != CodeInvalidToken {
		return status, err
	}
	tok, rerr := c.refreshFrom(ctx, tok)
	if rerr != nil {
		if errors.Is(rerr, ErrNotSignedIn) {
			return 0, rerr
		}
		return status, err
	}
	return c.send(ctx, method, path, query, in, tok, out)
}

// send makes one request and returns the status of a successful answer. A
// JSON body is sent when in is not nil; a non-2xx answer becomes an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any,
	accessToken string, out any) (int, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Auth-Token-Transport", "body")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}

	res, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: read answer: %w", method, path, err)
	}
	if len(raw) > maxResponse {
		return 0, fmt.Errorf("client: %s %s: answer larger than %d MiB", method, path,
			maxResponse>>20)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return 0, newError(res, raw)
	}
	if out == nil || len(raw) == 0 {
		return res.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return res.StatusCode, fmt.Errorf("client: %s %s: decode answer: %w", method, path,
			err)
	}
	return res.StatusCode, nil
}
