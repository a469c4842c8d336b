package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestNoLogLineOfARequestLacksItsID serves one request at a time and checks
// every record logged while it was served, not only the access record: a
// flow logging without the request's context would leave one without the
// ID, or with another.
func TestNoLogLineOfARequestLacksItsID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// sentID is the X-Request-Id the request carries; trusted says
		// whether the peer is a trusted proxy.
		sentID  string
		trusted bool
		// send makes the request and returns the answer.
		send func(e *env) response
		// flowLogs says whether the flow logs beside the access record.
		flowLogs bool
	}{
		{"a login that locks the account", "", false, func(e *env) response {
			return e.browser().login("locked@example.com", "Wrong-password1!")
		}, true},
		{"a login that locks the account behind a trusted proxy", "lb-7:req.1", true,
			func(e *env) response {
				return e.browser().do("POST", "/api/auth/login", map[string]string{
					"email": "locked@example.com", "password": "Wrong-password1!"},
					"X-Request-Id", "lb-7:req.1")
			}, true},
		{"a client choosing its own id", "chosen-by-client", false, func(e *env) response {
			return e.browser().do("POST", "/api/auth/login", map[string]string{
				"email": "locked@example.com", "password": "Wrong-password1!"},
				"X-Request-Id", "chosen-by-client")
		}, true},
		{"a malformed body", "", false, func(e *env) response {
			return e.browser().do("POST", "/api/auth/login", `{"email":`)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &logLines{}
			e := newEnv(t, storetest.SQLite(t), func(c *envConfig) {
				c.auth.MaxLoginAttempts = 1
				c.log = slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
				if tc.trusted {
					c.server.TrustedProxies = []netip.Prefix{
						netip.MustParsePrefix("127.0.0.0/8")}
				}
			})
			e.createUser("locked@example.com", store.RoleUser)
			logs.reset()

			r := tc.send(e)
			id := r.Header.Get("X-Request-Id")
			switch {
			case id == "":
				t.Fatalf("answer %d without X-Request-Id", r.Status)
			case tc.trusted && id != tc.sentID:
				t.Errorf("X-Request-Id = %q; want the trusted proxy's %q", id, tc.sentID)
			case !tc.trusted && tc.sentID != "" && id == tc.sentID:
				t.Errorf("X-Request-Id = %q: the client chose it", id)
			}

			records := logs.records(t)
			access, flow := 0, 0
			for _, rec := range records {
				if rec["request_id"] != id {
					t.Errorf("record %v logged while serving request %s carries request_id %v",
						rec, id, rec["request_id"])
				}
				if rec["msg"] == "request" {
					access++
				} else {
					flow++
				}
			}
			if access != 1 || (flow > 0) != tc.flowLogs {
				t.Errorf("%d access records and %d others; want 1 access record and flow "+
					"records %v:\n%s", access, flow, tc.flowLogs, logs.buf.String())
			}
		})
	}
}

// reset forgets what was logged so far.
func (l *logLines) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func TestEveryAnswerCarriesARequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	tests := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"an unknown route", "GET", "/no/such/route", nil, 404},
		{"a method the route does not take", "DELETE", "/healthz", nil, 405},
		{"a malformed body", "POST", "/api/auth/login", `{"email":`, 400},
		{"a missing token", "GET", "/api/auth/profile", nil, 401},
		{"the metrics", "GET", "/metrics", nil, 200},
		{"the readiness probe", "GET", "/readyz", nil, 200},
		{"the OpenAPI document", "GET", "/openapi.json", nil, 200},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.srv.Client().Do(newRequest(t, e, tc.method, tc.path, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			id := res.Header.Get("X-Request-Id")
			if res.StatusCode != tc.status || id == "" {
				t.Fatalf("%s %s = %d with X-Request-Id %q; want %d with an id", tc.method,
					tc.path, res.StatusCode, id, tc.status)
			}
			if seen[id] {
				t.Errorf("X-Request-Id %q was given to an earlier request too", id)
			}
			seen[id] = true
		})
	}
}

func newRequest(t *testing.T, e *env, method, path string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
