package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/password"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

// benchHandler returns the full API handler over a fresh SQLite store and
// the access token of a signed-in user. log receives the access records.
func benchHandler(b *testing.B, log *slog.Logger) (http.Handler, string) {
	b.Helper()
	h, access, _ := benchHandlerWithRefresh(b, log)
	return h, access
}

// benchHandlerWithRefresh is benchHandler that also returns the user's
// refresh token.
func benchHandlerWithRefresh(b *testing.B, log *slog.Logger) (http.Handler, string, string) {
	b.Helper()
	st := storetest.SQLite(b)
	hasher, err := password.NewHasher(password.Options{Algorithm: password.Bcrypt, BcryptCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	access, err := token.NewAccess(token.AccessOptions{
		Secret: []byte("bench-access-secret-0123456789abcdef"),
		Issuer: "latchkey", Audience: "latchkey-users", TTL: 15 * time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	keyed, err := token.NewKeyed([]byte("bench-refresh-secret-0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	svc := auth.New(auth.Deps{
		Store: st, Hasher: hasher, Policy: password.DefaultPolicy(), Access: access,
		Keyed: keyed, Attempts: ratelimit.NewMemory(nil), Log: log,
	}, auth.Options{
		RefreshTTL: 7 * 24 * time.Hour, ReuseGrace: 10 * time.Second,
		IdleTimeout: 7 * 24 * time.Hour, MaxAge: 30 * 24 * time.Hour,
		MaxLoginAttempts: 5, LockoutDuration: 15 * time.Minute,
	})
	g, err := svc.Register(context.Background(), auth.RegisterInput{
		Email: "bench@example.com", Password: "Bench-Passw0rd!",
	}, auth.Client{IP: "127.0.0.1", UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return httpapi.New(svc, httpapi.Options{Ready: st.Ping}, log), g.AccessToken, g.RefreshToken
}

// sink is a ResponseWriter that keeps only the status, so that the
// benchmark measures the handler rather than a recorder's buffer.
type sink struct {
	header http.Header
	status int
}

func (s *sink) Header() http.Header         { return s.header }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }

// benchRequests serves req over and over through h, as one connection
// would, and fails on any status but want.
func benchRequests(b *testing.B, h http.Handler, req *http.Request, want int) {
	b.Helper()
	w := &sink{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = http.StatusOK
		h.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("status %d, want %d", w.status, want)
		}
	}
}

// loggers are the access-log setups a deployment runs with: records
// formatted and written, or the level set above them.
var loggers = []struct {
	name string
	log  *slog.Logger
}{
	{"log=text", slog.New(slog.NewTextHandler(io.Discard, nil))},
	{"log=off", slog.New(slog.DiscardHandler)},
}

// BenchmarkProfile measures an authenticated GET /api/auth/profile through
// every middleware: access log, security headers, routing, bearer token
// verification, the session lookup in SQLite and the JSON answer.
func BenchmarkProfile(b *testing.B) {
	for _, l := range loggers {
		b.Run(l.name, func(b *testing.B) {
			h, tok := benchHandler(b, l.log)
			req := httptest.NewRequest(http.MethodGet, "/api/auth/profile", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			benchRequests(b, h, req, http.StatusOK)
		})
	}
}

// BenchmarkHealthz measures the same middleware around a bare handler: the
// floor that BenchmarkProfile is read against.
func BenchmarkHealthz(b *testing.B) {
	for _, l := range loggers {
		b.Run(l.name, func(b *testing.B) {
			h, _ := benchHandler(b, l.log)
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			benchRequests(b, h, req, http.StatusOK)
		})
	}
}

// BenchmarkRefresh measures a refresh token rotation through every
// middleware: the token lookup, the rotation transaction in SQLite, a new
// access token and the JSON answer. Each request presents the successor
// the previous one returned.
func BenchmarkRefresh(b *testing.B) {
	h, _, refresh := benchHandlerWithRefresh(b, slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/auth/refresh",
			strings.NewReader(`{"refreshToken":"`+refresh+`"}`))
		req.Header.Set("Content-Type", "application/json")
		w.Body.Reset()
		clear(w.Header())
		h.ServeHTTP(w, req)
		var g struct {
			RefreshToken string `json:"refreshToken"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil || g.RefreshToken == "" {
			b.Fatalf("refresh answered %q", w.Body.String())
		}
		refresh = g.RefreshToken
	}
}

// BenchmarkRefusedToken measures the answer to a forged bearer token, which
// must stay cheap: it is what a flood of junk costs.
func BenchmarkRefusedToken(b *testing.B) {
	h, tok := benchHandler(b, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest(http.MethodGet, "/api/auth/profile", nil)
	forged := []byte(tok)
	i := len(forged) - 10 // inside the signature
	forged[i] = map[bool]byte{true: 'B', false: 'A'}[forged[i] == 'A']
	req.Header.Set("Authorization", "Bearer "+string(forged))
	benchRequests(b, h, req, http.StatusUnauthorized)
}
