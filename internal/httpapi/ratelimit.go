package httpapi

import (
	"context"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// Limiter meters requests per client. ratelimit.MemoryLimiter (one
// process) and ratelimit.Redis (shared by every instance) implement it.
type Limiter interface {
	// Allow spends one event of key's budget under r if there is one left.
	Allow(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
	// Refund gives back one event of key's budget under r that Allow
	// spent, for an event that turned out not to count.
	Refund(ctx context.Context, r ratelimit.Rule, key string) (ratelimit.Result, error)
}

// RateLimits are the request budgets of each client.
type RateLimits struct {
	Limiter Limiter        // no request limits when nil
	General ratelimit.Rule // every request under /api/
	Login   ratelimit.Rule // failed logins; the rest are given back (see loginMeter)
	Reset   ratelimit.Rule // password forgot and reset requests
}

// exposedHeaders are the response headers a cross-origin script may read.
var exposedHeaders = []string{"Retry-After", "X-Request-Id",
	"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}

// routeLimit names the budget a route spends besides the general one.
type routeLimit int

const (
	limitNone routeLimit = iota
	limitLogin
	limitReset
)

// own returns the rule of route's own budget, if it has one.
func (rl RateLimits) own(route routeLimit) (ratelimit.Rule, bool) {
	switch route {
	case limitLogin:
		return rl.Login, true
	case limitReset:
		return rl.Reset, true
	}
	return ratelimit.Rule{}, false
}

// limitsWith returns limitedRoutes and the form posts of pages. A page's
// form post spends the general budget like an API request, besides its own.
func limitsWith(pages Pages) map[string]routeLimit {
	out := maps.Clone(limitedRoutes)
	if pages == nil {
		return out
	}
	for route, b := range pages.Budgets() {
		switch b {
		case BudgetLogin:
			out[route] = limitLogin
		case BudgetReset:
			out[route] = limitReset
		default:
			out[route] = limitNone
		}
	}
	return out
}

// limitedRoutes are the routes with a budget of their own. They are matched
// on the exact method and path, before routing: a variant spelling of a
// path never reaches these handlers, since the mux redirects or refuses it.
var limitedRoutes = map[string]routeLimit{
	"POST /api/auth/login":           limitLogin,
	"POST /api/auth/login/mfa":       limitLogin,
	"POST /api/auth/password/forgot": limitReset,
	"POST /api/auth/password/reset":  limitReset,
}

// limitRequests enforces the rate limits per client (see clientKey).
//
// When the limiter's store is down, the general limit lets requests
// through, so that signed-in users keep working, while login and password
// reset are refused with 503 rate_limiter_unavailable: those are what an
// attacker would hammer while the limits are off. The limiter logs the
// outage; /readyz reports it.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	rl := s.opts.RateLimits
	if rl.Limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, budgeted := s.limited[r.Method+" "+r.URL.Path]
		if !budgeted && !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		refuse := writeError
		if budgeted && !strings.HasPrefix(r.URL.Path, "/api/") {
			// A form post of the pages: the person at it gets the form
			// again with the reason, not the API's JSON.
			refuse = s.refusePage
		}
		ctx := r.Context()
		key := clientKey(clientAddr(r, s.opts.TrustedProxies))

		// An error here means the store is down: fail open.
		if res, err := rl.Limiter.Allow(ctx, rl.General, key); err == nil {
			setRateHeaders(w, res)
			if !res.Allowed {
				refuse(w, r, limited(res))
				return
			}
		}

		if rule, ok := rl.own(route); ok {
			res, err := rl.Limiter.Allow(ctx, rule, key)
			if err != nil {
				refuse(w, r, err)
				return
			}
			setRateHeaders(w, res)
			if !res.Allowed {
				refuse(w, r, limited(res))
				return
			}
		}
		if route == limitLogin {
			// Only failed logins count, yet each attempt is counted before
			// its credentials are checked and given back once it did not
			// fail: counting after the answer would let a burst of
			// concurrent attempts all find budget left, and all be checked.
			m := &loginMeter{ResponseWriter: w, r: r, s: s, key: key}
			defer m.finish()
			w = m
		}
		next.ServeHTTP(w, r)
	})
}

// refusePage answers a page's form post that the limits refused.
func (s *Server) refusePage(w http.ResponseWriter, r *http.Request, err error) {
	if info := infoFrom(r.Context()); info != nil {
		info.err = err
	}
	s.opts.Pages.Refuse(w, r, err)
}

func limited(res ratelimit.Result) error {
	return &auth.Error{
		Code:       auth.CodeRateLimited,
		Message:    "Too many requests; try again later.",
		RetryAfter: max(res.RetryAfter, time.Second),
	}
}

// setRateHeaders describes the budget in the RateLimit-* headers of the
// IETF draft: the limit, what is left, and the seconds until it is whole.
func setRateHeaders(w http.ResponseWriter, res ratelimit.Result) {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(res.ResetAfter.Seconds())), 10))
}

// loginMeter gives the client back the login budget its attempt spent,
// unless the answer is a failed login. It does so just before the status
// goes out, so that the budget is whole again before the client can send
// its next attempt.
type loginMeter struct {
	http.ResponseWriter
	r       *http.Request
	s       *Server
	key     string
	written bool
}

func (m *loginMeter) WriteHeader(code int) {
	if !m.written {
		m.written = true
		if !failedLogin(m.r, code) {
			m.refund()
		}
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *loginMeter) Write(b []byte) (int, error) {
	if !m.written {
		m.WriteHeader(http.StatusOK)
	}
	return m.ResponseWriter.Write(b)
}

func (m *loginMeter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// finish gives the budget back for a handler that returned, or panicked,
// without writing: that is no failed login either.
func (m *loginMeter) finish() {
	if !m.written {
		m.written = true
		m.refund()
	}
}

func (m *loginMeter) refund() {
	rl := m.s.opts.RateLimits
	// The attempt's own deadline or hang-up must not keep the budget
	// spent; the store's own timeouts bound the call.
	ctx := context.WithoutCancel(m.r.Context())
	res, err := rl.Limiter.Refund(ctx, rl.Login, m.key)
	if err != nil {
		// The budget stays spent, which errs on the safe side; the store
		// going down also refuses the next attempt with 503 until it is
		// back.
		m.s.log.WarnContext(ctx, "login budget not given back", "err", err)
		return
	}
	setRateHeaders(m.ResponseWriter, res)
}

// failedLogin reports whether an answer to a login route is a failed
// attempt: wrong credentials or code, or an attempt on a locked account.
// Any other answer checked no credentials, or found them right: a
// success, a second-factor challenge, an invalid request, a deactivated
// account, an account with as many attempts in flight as its lockout
// allows, or a store that is down.
func failedLogin(r *http.Request, status int) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if status != http.StatusTooManyRequests {
		return false
	}
	info := infoFrom(r.Context())
	return info != nil && info.err != nil && auth.Public(info.err).Code == auth.CodeAccountLocked
}

// withDeadline bounds the work of each request, so that a database or
// Redis that stops answering turns into a 503 instead of a request that
// hangs until the client gives up.
func (s *Server) withDeadline(next http.Handler) http.Handler {
	timeout := s.opts.RequestTimeout
	if timeout <= 0 {
		timeout = defaultRequestTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// defaultRequestTimeout leaves time within the server's write timeout to
// send the 503 of a request that ran out of it.
const defaultRequestTimeout = 10 * time.Second
