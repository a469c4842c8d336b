package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAPanicBecomesA500JSONErrorWithoutAStack(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.logRequests(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom: secret internals")
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/auth/profile", nil))

	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d; want 500", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %q", rec.Body)
	}
	if body["code"] != "internal_error" || body["error"] == "" {
		t.Errorf("body = %v; want code internal_error with a message", body)
	}
	if strings.Contains(rec.Body.String(), "boom") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("response leaks the panic: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "boom: secret internals") ||
		!strings.Contains(logs.String(), "status=500") {
		t.Errorf("the log lacks the panic or the access record:\n%s", logs.String())
	}
}

func TestAccessLogNeverCarriesQueryCookiesOrAuthorization(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest("POST", "/api/auth/refresh?token=query-secret", nil)
	req.Header.Set("Authorization", "Bearer header-secret")
	req.Header.Set("Cookie", "refreshToken=cookie-secret")
	h.ServeHTTP(httptest.NewRecorder(), req)

	for _, secret := range []string{"query-secret", "header-secret", "cookie-secret"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("access log contains %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "status=204") {
		t.Errorf("no access record:\n%s", logs.String())
	}
}
