package httpapi

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// Pages are hosted pages served beside the API (package web). They get
// every request outside /api/ that no API route matches, behind the same
// middleware as the API: request IDs, the access log, security headers and
// the rate limits that Budgets asks for.
type Pages interface {
	http.Handler
	// Budgets maps the "METHOD /path" of each form post to the budget it
	// spends, as the API route doing the same work would.
	Budgets() map[string]Budget
	// Refuse answers a form post that the rate limits refused with err,
	// which carries the public message and Retry-After.
	Refuse(w http.ResponseWriter, r *http.Request, err error)
}

// Budget names the rate limit budget a page's form post spends.
type Budget int

// The budgets a form post can spend. Each spends the general budget too.
const (
	// BudgetGeneral is the general budget alone.
	BudgetGeneral Budget = iota + 1
	// BudgetLogin is the failed-login budget of POST /api/auth/login: the
	// post counts when it answers 401, or 429 for a locked account.
	BudgetLogin
	// BudgetReset is the budget of password forgot and reset requests.
	BudgetReset
)

// ClientOf describes the caller of r for sessions, login history and the
// audit trail, believing X-Forwarded-For only from trusted proxies.
func ClientOf(r *http.Request, trusted []netip.Prefix) auth.Client {
	return auth.Client{
		IP:        clientAddr(r, trusted).String(),
		UserAgent: r.UserAgent(),
	}
}

// RefreshCookie is the cookie that hands a refresh token to a browser:
// HttpOnly, SameSite=Strict, scoped to the auth routes. Secure is set in
// production.
func RefreshCookie(value string, lifetime time.Duration, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     refreshCookie,
		Value:    value,
		Path:     cookiePath,
		MaxAge:   int(seconds(lifetime)),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// ExpiredRefreshCookie is the cookie that deletes the refresh cookie.
func ExpiredRefreshCookie(secure bool) *http.Cookie {
	c := RefreshCookie("", 0, secure)
	c.MaxAge = -1
	return c
}

// Status is the HTTP status of err's public code, as the API answers it.
func Status(err error) int {
	if s, ok := statusOf[auth.Public(err).Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// NoteRoute records the route pattern a page served, for the access log
// and the metrics.
func NoteRoute(r *http.Request, pattern string) {
	if info := infoFrom(r.Context()); info != nil {
		info.route = pattern
	}
}

// NoteUser records the user a page acted for, for the access log.
func NoteUser(r *http.Request, userID string) {
	if info := infoFrom(r.Context()); info != nil {
		info.userID = userID
	}
}

// NoteError records the error a page answered, for the access log and the
// login budget, which tells a locked account from other refusals by it.
func NoteError(r *http.Request, err error) {
	if info := infoFrom(r.Context()); info != nil {
		info.err = err
	}
}
