package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// Observer receives what the server measures; metrics.Metrics implements
// it.
type Observer interface {
	// ObserveRequest is called once per request with the route pattern
	// that matched (empty when none did), the status and the duration.
	ObserveRequest(route string, status int, d time.Duration)
	// ObserveRefresh is called once per refresh token exchange.
	ObserveRefresh(ok bool)
}

// refreshRoute is the pattern of the refresh endpoint, whose outcomes are
// counted on their own.
const refreshRoute = "POST /api/auth/refresh"

// observe hands a finished request to the observer. A request answered
// before routing (refused by a rate limit, say) is counted under the route
// it was for.
func (s *Server) observe(r *http.Request, info *requestInfo, status int, d time.Duration) {
	if s.opts.Metrics == nil {
		return
	}
	route := info.route
	if route == "" {
		_, route = s.mux.Handler(r)
	}
	s.opts.Metrics.ObserveRequest(route, status, d)
	if route == refreshRoute {
		s.opts.Metrics.ObserveRefresh(status < http.StatusMultipleChoices)
	}
}

func (s *Server) opsRoutes() {
	if h := s.opts.MetricsHandler; h != nil {
		token := s.opts.MetricsToken
		s.handle("GET /metrics", func(w http.ResponseWriter, r *http.Request) error {
			if len(token) > 0 && !bearerMatches(r, token) {
				return metricsTokenRequired(w)
			}
			h.ServeHTTP(w, r)
			return nil
		})
	}
}

// RequireBearer serves h only to requests that carry token as their bearer
// token and answers the others 401 in the API's error format. It guards
// /metrics on a listener of its own.
func RequireBearer(token []byte, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bearerMatches(r, token) {
			writeError(w, r, metricsTokenRequired(w))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsTokenRequired sets the challenge of a refused scrape and returns
// its error.
func metricsTokenRequired(w http.ResponseWriter) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey-metrics"`)
	return auth.Errorf(auth.CodeInvalidToken, "A valid metrics token is required.")
}

// bearerMatches reports whether r carries token as its bearer token. Both
// sides are hashed first so that the comparison takes the same time
// whatever the length of the guess.
func bearerMatches(r *http.Request, token []byte) bool {
	got, ok := bearer(r)
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(token)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// maxRequestIDLength bounds a request ID taken from a proxy.
const maxRequestIDLength = 128

// requestID returns the ID of r: the X-Request-Id a trusted proxy sent
// when it is well formed, so that one ID follows the request through every
// hop, or a new random one. A client's own header is never believed, as it
// could make its requests look like someone else's in the logs.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && wellFormedRequestID(id) &&
		isTrusted(parseAddr(r.RemoteAddr), s.opts.TrustedProxies) {
		return id
	}
	return newRequestID()
}

// wellFormedRequestID accepts the IDs proxies generate (UUIDs, hex and
// base32 strings, dotted or colon-separated traces): ASCII letters, digits
// and . _ : - only, so that an ID cannot forge a log field or line.
func wellFormedRequestID(id string) bool {
	if len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// LogHandler wraps h so that every record logged with the context of a
// request the server is handling carries the request's ID as request_id:
// the access record, and whatever the flows log while serving it. Wrapping
// twice has no further effect.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if info := infoFrom(ctx); info != nil {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", info.id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// ReadyCheck is one dependency /readyz checks.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
	// Degrades marks a dependency the instance can serve without, if
	// with less: its failure shows in the detail and turns the status to
	// "degraded", but /readyz still answers 200, since taking every
	// instance out of the load balancer would be worse.
	Degrades bool
}

// readyTimeout bounds each readiness check: a load balancer asking whether
// to send traffic needs a quick answer, and a database that takes longer
// to answer a ping is not ready either.
const readyTimeout = 2 * time.Second

// Readiness states /readyz reports per check. Error texts stay in the log:
// they can name hosts and users.
const (
	readyOK          = "ok"
	readyUnavailable = "unavailable"
	readyTimedOut    = "timeout"
	readyDegraded    = "degraded"
)

// readyz checks every dependency at once and answers with the state of
// each: 503 when one the instance cannot serve without fails, 200 with the
// status "degraded" when only others do.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	checks := s.readyChecks()
	states := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			state := readyOK
			if err := c.Check(ctx); err != nil {
				state = readyUnavailable
				if ctx.Err() != nil {
					state = readyTimedOut
				}
				s.log.WarnContext(r.Context(), "not ready", "check", c.Name, "err", err)
			}
			mu.Lock()
			states[c.Name] = state
			mu.Unlock()
		})
	}
	wg.Wait()

	status, overall := http.StatusOK, readyOK
	for _, c := range checks {
		switch {
		case states[c.Name] == readyOK:
		case !c.Degrades:
			status, overall = http.StatusServiceUnavailable, readyUnavailable
		case status == http.StatusOK:
			overall = readyDegraded
		}
	}
	writeJSON(w, status, map[string]any{"status": overall, "checks": states})
	return nil
}

func (s *Server) readyChecks() []ReadyCheck {
	var checks []ReadyCheck
	if s.opts.Ready != nil {
		checks = append(checks, ReadyCheck{Name: "database", Check: s.opts.Ready})
	}
	return append(checks, s.opts.ReadyChecks...)
}
