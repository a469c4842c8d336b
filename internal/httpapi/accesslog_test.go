package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessRecordsFollowTheLogLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		level  slog.Level
		status int
		want   bool
	}{
		{"at info a success is recorded", slog.LevelInfo, http.StatusOK, true},
		{"at warn a success is not recorded", slog.LevelWarn, http.StatusOK, false},
		{"at warn a client error is not recorded", slog.LevelWarn, http.StatusNotFound, false},
		{"at warn a server fault is still recorded", slog.LevelWarn, http.StatusBadGateway, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs,
				&slog.HandlerOptions{Level: tc.level}))}
			h := s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

			got := strings.Contains(logs.String(), "msg=request")
			if got != tc.want {
				t.Errorf("access record written: got %v, want %v; log:\n%s", got, tc.want, logs.String())
			}
		})
	}
}
