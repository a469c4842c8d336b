package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// requestInfo is filled in while a request is handled and read by the access
// log when it is done. The handlers run below the mux, which gives them a new
// *http.Request, so the record travels by pointer in the context.
type requestInfo struct {
	id     string
	route  string
	userID string
	err    error
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one access record per request: never the query string,
// body, cookies or Authorization header. A panic below it becomes a 500 JSON
// error; its stack goes to the log, never to the client.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: s.requestID(r)}
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", info.id)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic",
					"panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, r, errors.New("panic"))
				}
			}
			s.access(r, info, sw, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) access(r *http.Request, info *requestInfo, sw *statusWriter, d time.Duration) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.observe(r, info, status, d)
	if !s.log.Enabled(r.Context(), level) {
		// LOG_LEVEL=warn turns access records off; then they should cost
		// nothing, not be built to be thrown away.
		return
	}
	// The request ID comes from the context, through LogHandler.
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", info.route),
		slog.Int("status", status),
		slog.Int64("bytes", sw.bytes),
		slog.Duration("duration", d),
		slog.String("client", clientAddr(r, s.opts.TrustedProxies).String()),
	}
	if info.userID != "" {
		attrs = append(attrs, slog.String("user_id", info.userID))
	}
	if info.err != nil && status >= 500 {
		// Only server faults carry their cause: client errors are expected,
		// and their causes (parser messages) can echo the request.
		attrs = append(attrs, slog.String("err", info.err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// secureHeaders sets the headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if s.opts.Production {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// Responses carry tokens and personal data: never cache them.
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a cookie-authenticated state change that a browser
// marks as coming from another site. SameSite=Strict already keeps the
// cookie off such requests in current browsers; this covers older ones and
// same-site subdomains.
func (s *Server) sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" || site == "none" {
			return nil
		}
		if site == "same-site" || site == "cross-site" {
			if s.allowedOrigin(r.Header.Get("Origin")) {
				return nil
			}
			return auth.Errorf(codeCrossSite, "Cross-site request refused.")
		}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Not a browser, or a browser too old to send Origin on a POST.
		return nil
	}
	if s.allowedOrigin(origin) || origin == requestOrigin(r) {
		return nil
	}
	return auth.Errorf(codeCrossSite, "Cross-site request refused.")
}

// allowedOrigin reports whether origin is the public URL's or a configured
// CORS origin.
func (s *Server) allowedOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	if s.opts.PublicURL != nil && origin == originOf(s.opts.PublicURL) {
		return true
	}
	for _, o := range s.opts.CORSOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

func originOf(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// requestOrigin is the origin the request was addressed to, as the browser
// saw it.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
