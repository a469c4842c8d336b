package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCleanupRunsOnceAndReportsWhatWent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := command(t, dir, []string{"AUDIT_RETENTION=30d"}, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	want := "deleted 0 sessions, 0 refresh tokens, 0 one-time tokens, " +
		"0 login history entries and 0 audit events"
	if !strings.Contains(string(out), want) {
		t.Errorf("output = %q; want it to contain %q", out, want)
	}

	out, err = command(t, dir, []string{"AUDIT_RETENTION=never"}, "cleanup").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AUDIT_RETENTION") {
		t.Errorf("cleanup with a bad retention: err = %v, output %q; want it refused by name",
			err, out)
	}
}

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	status, header, body := getWith(t, url, "")
	if header.Get("X-Request-Id") == "" && strings.Contains(url, "/api/") {
		t.Errorf("GET %s: no X-Request-Id", url)
	}
	return status, body
}

// getWith fetches url with token as the bearer token, when there is one,
// and returns the status, the headers and the body.
func getWith(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// metricsToken is the METRICS_TOKEN the tests configure.
const metricsToken = "metrics-token-0123456789abcdefghijklmnop"

// productionEnv is what serve needs to start in production, logging as
// text so that startServer finds the address.
func productionEnv() []string {
	return []string{"APP_ENV=production", "LOG_FORMAT=text", "AUTO_MIGRATE=true",
		"PUBLIC_URL=https://auth.example.com",
		"JWT_ACCESS_SECRET=access-secret-0123456789abcdefghijklmnop",
		"JWT_REFRESH_SECRET=refresh-secret-0123456789abcdefghijklmnop",
		"MFA_ENCRYPTION_KEY=" + strings.Repeat("ab", 32)}
}

// metricsAddr returns the address the metrics listener logged.
func metricsAddr(t *testing.T, srv *server) string {
	t.Helper()
	m := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`).
		FindStringSubmatch(srv.logs.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", srv.logs)
	}
	return "http://" + m[1]
}

func TestMetricsAreServedWhereConfigured(t *testing.T) {
	t.Parallel()
	t.Run("on the API's address by default", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, t.TempDir())
		get(t, srv.url+"/api/auth/profile")
		status, body := get(t, srv.url+"/metrics")
		counted := `latchkey_http_requests_total{route="GET /api/auth/profile",status="401"} 1`
		if status != http.StatusOK || !strings.Contains(body, counted) ||
			!strings.Contains(body, "latchkey_password_hashes_in_flight") {
			t.Errorf("GET /metrics = %d; want the API's request counted:\n%.2000s", status, body)
		}
		if !strings.Contains(srv.logs.String(), "/metrics is open to anyone on LISTEN_ADDR") {
			t.Errorf("no warning that /metrics is open:\n%s", srv.logs)
		}
	})

	t.Run("on METRICS_ADDR alone when it is set", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, t.TempDir(), "METRICS_ADDR=127.0.0.1:0")
		if status, _ := get(t, srv.url+"/metrics"); status != http.StatusNotFound {
			t.Errorf("GET /metrics on the API = %d; want 404", status)
		}
		status, body := get(t, metricsAddr(t, srv)+"/metrics")
		if status != http.StatusOK || !strings.Contains(body, "latchkey_logins_total") {
			t.Errorf("GET /metrics on METRICS_ADDR = %d:\n%.2000s", status, body)
		}
		if strings.Contains(srv.logs.String(), "/metrics is open") {
			t.Errorf("warned that /metrics is open with METRICS_ADDR set:\n%s", srv.logs)
		}
	})

	t.Run("nowhere on the API's address in production without a token", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, t.TempDir(), productionEnv()...)
		status, _, body := getWith(t, srv.url+"/metrics", "")
		if status != http.StatusNotFound || strings.Contains(body, "latchkey_") {
			t.Errorf("GET /metrics = %d; want 404 without metrics:\n%.2000s", status, body)
		}
	})
}

func TestMetricsTokenGuardsEveryAddress(t *testing.T) {
	t.Parallel()
	const want401 = `{"error":"A valid metrics token is required.","code":"invalid_token"}`
	check := func(t *testing.T, url string) {
		t.Helper()
		for _, token := range []string{"", "wrong", metricsToken + "x", metricsToken[:31]} {
			status, header, body := getWith(t, url, token)
			challenge := header.Get("WWW-Authenticate")
			if status != http.StatusUnauthorized || strings.TrimSpace(body) != want401 ||
				!strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("GET %s with token %q = %d, WWW-Authenticate %q, body %.200q; "+
					"want 401, a Bearer challenge and %s", url, token, status, challenge, body, want401)
			}
		}
		status, _, body := getWith(t, url, metricsToken)
		if status != http.StatusOK || !strings.Contains(body, "latchkey_logins_total") {
			t.Errorf("GET %s with the token = %d:\n%.2000s", url, status, body)
		}
	}
	tests := []struct {
		name      string
		env       []string
		separated bool
	}{
		{"on the API's address in development", nil, false},
		{"on the API's address in production", productionEnv(), false},
		{"on METRICS_ADDR", []string{"METRICS_ADDR=127.0.0.1:0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, t.TempDir(), append(tt.env, "METRICS_TOKEN="+metricsToken)...)
			url := srv.url
			if tt.separated {
				url = metricsAddr(t, srv)
			}
			check(t, url+"/metrics")
			if strings.Contains(srv.logs.String(), metricsToken) {
				t.Errorf("the log shows METRICS_TOKEN:\n%s", srv.logs)
			}
			if strings.Contains(srv.logs.String(), "/metrics is open") {
				t.Errorf("warned that /metrics is open with a token set:\n%s", srv.logs)
			}
		})
	}
}
