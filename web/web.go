// Package web serves Latchkey's hosted pages (sign up, sign in with the
// second factor, forgot and reset password, email verification, and the
// account page) and the browser client latchkey.js, all embedded in the
// binary.
//
// The pages that a flow allows work without JavaScript: their forms post
// to handlers here, which call the same flows of package auth as the API.
// The account page needs JavaScript: it takes its access token from
// /api/auth/refresh with the refresh cookie and then calls the API with
// latchkey.js, so that the access token lives in the page's memory only.
package web

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
)

// Options configure the pages.
type Options struct {
	// Prefix is the path the pages live under, such as "/account"; empty
	// serves them at the root. The browser client is served under it too,
	// at Prefix+"/sdk/latchkey.js".
	Prefix string
	// Production sets Secure on cookies and names the form cookie with the
	// __Host- prefix, which browsers only accept from HTTPS.
	Production bool
	// PublicURL is the server's public origin; form posts must come from
	// it or from the origin the request was addressed to.
	PublicURL *url.URL
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Secret is the deployment's refresh token secret (JWT_REFRESH_SECRET),
	// at least 32 bytes. The key of the forms' CSRF tokens is derived from
	// it under a label of its own, so that every instance accepts the
	// tokens of the others.
	Secret []byte
	// Log receives what goes wrong while rendering; slog.Default() when nil.
	Log *slog.Logger
}

// Handler serves the pages. It implements httpapi.Pages.
type Handler struct {
	svc     *auth.Service
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	pages   map[string]*template.Template
	assets  map[string]asset
	csrfKey []byte
	budgets map[string]httpapi.Budget
	// forms names the page each form post renders again on a refusal.
	forms     map[string]string
	pubOrigin string
}

// minSecret is the shortest Secret New accepts.
const minSecret = 32

// csrfKeyLabel separates the form token key from every other key derived
// from the same secret.
const csrfKeyLabel = "latchkey web form token v1"

// New returns the pages' handler.
func New(svc *auth.Service, o Options) (*Handler, error) {
	if len(o.Secret) < minSecret {
		return nil, errors.New("web: the secret must be at least 32 bytes")
	}
	if o.Prefix == "/" || strings.HasSuffix(o.Prefix, "/") ||
		(o.Prefix != "" && !strings.HasPrefix(o.Prefix, "/")) {
		return nil, errors.New(`web: the prefix must be empty or start, and not end, with "/"`)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	key, err := hkdf.Key(sha256.New, o.Secret, nil, csrfKeyLabel, 32)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h := &Handler{svc: svc, opts: o, log: o.Log, mux: http.NewServeMux(), pages: pages,
		assets: assets, csrfKey: key, budgets: map[string]httpapi.Budget{},
		forms: map[string]string{}}
	if o.PublicURL != nil {
		h.pubOrigin = o.PublicURL.Scheme + "://" + o.PublicURL.Host
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	p := h.opts.Prefix
	h.handle("GET "+p+"/{$}", h.home)
	h.page("/signin", "signin", h.signIn, httpapi.BudgetLogin)
	h.post("/signin/mfa", "signin", h.signInMFA, httpapi.BudgetLogin)
	h.handle("GET "+p+"/signed-in", h.codesLeft)
	h.page("/signup", "signup", h.signUp, httpapi.BudgetGeneral)
	h.page("/forgot-password", "forgot", h.forgot, httpapi.BudgetReset)
	h.page("/reset-password", "reset", h.reset, httpapi.BudgetReset)
	h.page("/verify-email", "verify", h.verify, httpapi.BudgetGeneral)
	h.handle("GET "+p+"/account", h.account)
	h.handle("GET "+p+"/assets/{file}", h.asset)
	h.handle("GET "+p+"/sdk/latchkey.js", h.asset)
	h.mux.HandleFunc("/", h.notFound)
}

// handle registers h for pattern and names the route for the access log.
func (h *Handler) handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		httpapi.NoteRoute(r, r.Pattern)
		fn(w, r)
	})
}

// page registers a form page: GET renders it, POST runs submit.
func (h *Handler) page(path, name string, submit http.HandlerFunc, b httpapi.Budget) {
	h.handle("GET "+h.opts.Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusOK, name, &view{})
	})
	h.post(path, name, submit, b)
}

// post registers a form post that spends budget b and shows page name
// again when refused.
func (h *Handler) post(path, name string, submit http.HandlerFunc, b httpapi.Budget) {
	pattern := "POST " + h.opts.Prefix + path
	h.budgets[pattern] = b
	h.forms[pattern] = name
	h.handle(pattern, submit)
}

// ServeHTTP serves the pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Budgets maps each form post to the rate limit budget it spends.
func (h *Handler) Budgets() map[string]httpapi.Budget {
	out := make(map[string]httpapi.Budget, len(h.budgets))
	for k, v := range h.budgets {
		out[k] = v
	}
	return out
}

// Refuse shows the form of a post the rate limits refused, with err.
func (h *Handler) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	name, ok := h.forms[r.Method+" "+r.URL.Path]
	if !ok {
		name = "signin"
	}
	h.fail(w, r, name, &view{}, err)
}

// path returns the URL path of a page under the prefix.
func (h *Handler) path(page string) string { return h.opts.Prefix + page }

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, h.path("/account"), http.StatusSeeOther)
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "account", &view{})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "notfound", &view{})
}

func (h *Handler) client(r *http.Request) auth.Client {
	return httpapi.ClientOf(r, h.opts.TrustedProxies)
}
