// Package httpapi is Latchkey's HTTP transport: routes, handlers and
// middleware over the flows of package auth. Handlers return errors; one
// adapter renders them in the API's error format and feeds the access log.
package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"

	"github.com/latchkey/latchkey/internal/auth"
)

// Options configure the transport.
type Options struct {
	Production     bool           // Secure cookies and HSTS
	PublicURL      *url.URL       // the server's public origin
	CORSOrigins    []string       // origins allowed to call with credentials
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	// Ready reports whether the backing stores answer, for /readyz.
	Ready func(ctx context.Context) error
	// ReadyChecks are further dependencies /readyz checks, such as Redis.
	ReadyChecks []ReadyCheck
	// Metrics observes every request; none when nil.
	Metrics Observer
	// MetricsHandler, when set, is served at /metrics on this server; leave
	// it nil when metrics are served on a separate address.
	MetricsHandler http.Handler
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken []byte
	// RateLimits are the request budgets per client; none without a
	// Limiter.
	RateLimits RateLimits
	// RequestTimeout bounds each request's work; 10s when zero.
	RequestTimeout time.Duration
	// Pages, when set, serves what no API route matches outside /api/:
	// the hosted pages and the browser client.
	Pages Pages
}

// Server routes requests to the flows.
type Server struct {
	auth    *auth.Service
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	// patterns are the routes handle registered, for Routes.
	patterns []string
	// limited are the routes with a budget of their own: the API's and
	// the pages' form posts.
	limited map[string]routeLimit
}

// New returns the API's handler.
func New(svc *auth.Service, opts Options, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(LogHandler(log.Handler()))
	s := &Server{auth: svc, opts: opts, log: log, mux: http.NewServeMux()}
	s.routes()
	s.limited = limitsWith(opts.Pages)

	var h http.Handler = s.withDeadline(s.limitRequests(http.HandlerFunc(s.dispatch)))
	if len(opts.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins:   opts.CORSOrigins,
			AllowedMethods:   []string{"GET", "POST", "PATCH", "DELETE"},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "Auth-Token-Transport"},
			ExposedHeaders:   exposedHeaders,
			AllowCredentials: true,
			MaxAge:           600,
		}).Handler(h)
	}
	h = s.secureHeaders(h)
	s.handler = s.logRequests(h)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) routes() {
	const p = "/api/auth"
	s.handle("POST "+p+"/register", s.register)
	s.handle("POST "+p+"/login", s.login)
	s.handle("POST "+p+"/refresh", s.refresh)
	s.handle("POST "+p+"/logout", s.authed(s.logout))
	s.handle("GET "+p+"/profile", s.authed(s.profile))
	s.handle("GET "+p+"/admin", s.authed(s.requireRole("ADMIN", s.admin)))
	s.handle("GET "+p+"/sessions", s.authed(s.sessions))
	s.handle("DELETE "+p+"/sessions/{id}", s.authed(s.revokeSession))
	s.handle("GET "+p+"/login-history", s.authed(s.loginHistory))

	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.adminRoutes()
	s.opsRoutes()
	s.wellKnownRoutes()
	s.mfaRoutes()
	s.mailRoutes()
}

// handlerFunc is an HTTP handler that returns its error instead of writing
// it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if info := infoFrom(r.Context()); info != nil {
			info.route = r.Pattern
		}
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// dispatch serves the mux, answering unknown routes and wrong methods in the
// API's JSON error format instead of the mux's plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &headerRecorder{header: http.Header{}}
	s.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		if s.opts.Pages != nil && !strings.HasPrefix(r.URL.Path, "/api/") {
			s.opts.Pages.ServeHTTP(w, r)
			return
		}
		writeError(w, r, auth.Errorf(auth.CodeNotFound, "No such route."))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, r, auth.Errorf(codeMethodNotAllowed, "Method not allowed on this route."))
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	}
}

// headerRecorder captures the mux's own small answers (404, 405, redirects).
type headerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// client describes the caller for sessions and login history.
func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{
		IP:        clientAddr(r, s.opts.TrustedProxies).String(),
		UserAgent: r.UserAgent(),
	}
}

type principalKey struct{}

// principal returns the caller that authed verified.
func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(auth.Principal)
	return p
}

// authed requires a valid bearer access token whose session is live.
func (s *Server) authed(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			return auth.Errorf(auth.CodeInvalidToken, "A bearer access token is required.")
		}
		p, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil {
			if auth.Public(err).Code == auth.CodeInvalidToken {
				w.Header().Set("WWW-Authenticate",
					`Bearer realm="latchkey", error="invalid_token"`)
			}
			return err
		}
		if info := infoFrom(r.Context()); info != nil {
			info.userID = p.User.ID
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// requireRole lets only callers with role through.
func (s *Server) requireRole(role string, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if principal(r).User.Role != role {
			return auth.Errorf(auth.CodeInsufficientRole, "This requires the %s role.", role)
		}
		return next(w, r)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
