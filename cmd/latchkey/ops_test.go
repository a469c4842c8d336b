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
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("X-Request-Id") == "" && strings.Contains(url, "/api/") {
		t.Errorf("GET %s: no X-Request-Id", url)
	}
	return res.StatusCode, string(body)
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
	})

	t.Run("on METRICS_ADDR alone when it is set", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, t.TempDir(), "METRICS_ADDR=127.0.0.1:0")
		m := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`).
			FindStringSubmatch(srv.logs.String())
		if m == nil {
			t.Fatalf("no metrics address in the log:\n%s", srv.logs)
		}
		if status, _ := get(t, srv.url+"/metrics"); status != http.StatusNotFound {
			t.Errorf("GET /metrics on the API = %d; want 404", status)
		}
		status, body := get(t, "http://"+m[1]+"/metrics")
		if status != http.StatusOK || !strings.Contains(body, "latchkey_logins_total") {
			t.Errorf("GET /metrics on METRICS_ADDR = %d:\n%.2000s", status, body)
		}
	})
}
