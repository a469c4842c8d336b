package audit_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var at = time.Date(2031, time.January, 2, 3, 4, 5, 6_000, time.UTC)

func TestSanitizeKeepsFactsAndDropsSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		detail map[string]string
		want   map[string]string
	}{
		{"plain facts are kept", map[string]string{"reason": "invalid_credentials",
			"session_id": "0190"}, map[string]string{"reason": "invalid_credentials",
			"session_id": "0190"}},
		{"secret-looking keys are redacted whatever their case", map[string]string{
			"password": "hunter2", "refreshToken": "abc", "TOTP_Code": "123456",
			"mfa_secret": "JBSWY3DP", "new_hash": "$argon2id$"},
			map[string]string{"password": "[redacted]", "refreshToken": "[redacted]",
				"TOTP_Code": "[redacted]", "mfa_secret": "[redacted]", "new_hash": "[redacted]"}},
		{"a count of what is left is kept", map[string]string{"remaining": "9"},
			map[string]string{"remaining": "9"}},
		{"no detail gives an empty one", nil, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := audit.Sanitize(auth.Event{Type: auth.EventLoginFailed, Detail: tc.detail,
				At: at})
			if len(got.Detail) != len(tc.want) {
				t.Fatalf("detail = %v, want %v", got.Detail, tc.want)
			}
			for k, v := range tc.want {
				if got.Detail[k] != v {
					t.Errorf("detail[%q] = %q, want %q", k, got.Detail[k], v)
				}
			}
		})
	}
}

func TestSanitizeBoundsAndCleansText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 400)
	many := map[string]string{}
	for i := range 40 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	got := audit.Sanitize(auth.Event{
		Type:      auth.EventLoginFailed,
		UserID:    "user\x00id",
		IP:        "192.0.2.1",
		UserAgent: "agent\xff" + long + long,
		Detail:    many,
		At:        at.In(time.FixedZone("CET", 3600)),
	})
	if got.UserID != "userid" {
		t.Errorf("UserID = %q; want the NUL dropped", got.UserID)
	}
	if !utf8.ValidString(got.UserAgent) || len(got.UserAgent) > 512 ||
		!strings.HasPrefix(got.UserAgent, "agent") || !strings.HasSuffix(got.UserAgent, "…") {
		t.Errorf("UserAgent = %d bytes, valid %v; want valid UTF-8 cut to 512 with a marker",
			len(got.UserAgent), utf8.ValidString(got.UserAgent))
	}
	if len(got.Detail) > 17 || got.Detail["truncated"] != "true" {
		t.Errorf("detail has %d keys, truncated=%q; want at most 16 and a mark",
			len(got.Detail), got.Detail["truncated"])
	}
	if !got.CreatedAt.Equal(at) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v; want %v in UTC", got.CreatedAt, at)
	}
	if got.ID == "" || got.Type != auth.EventLoginFailed || got.IPAddress != "192.0.2.1" {
		t.Errorf("event = %+v; want an id, the type and the address", got)
	}
}

func TestRecordWritesEvenWhenTheRequestIsGone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := audit.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		rec.Record(ctx, auth.Event{Type: auth.EventLoginFailed, IP: "198.51.100.2",
			UserAgent: "test", Detail: map[string]string{"reason": "invalid_credentials"}, At: at})

		got, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		if len(got) != 1 || got[0].Type != auth.EventLoginFailed || got[0].UserID != "" ||
			got[0].Detail["reason"] != "invalid_credentials" || !got[0].CreatedAt.Equal(at) {
			t.Errorf("trail = %+v; want the one failed login", got)
		}
	})
}

func TestMultiHandsEachEventToEveryAuditor(t *testing.T) {
	t.Parallel()
	s := storetest.SQLite(t)
	m := metrics.New()
	both := audit.Multi(m, audit.New(s, nil))
	for range 2 {
		both.Record(t.Context(), auth.Event{Type: auth.EventLoginSucceeded, At: at})
	}

	got, err := s.AuditEvents(t.Context(), store.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("the trail holds %d events; want 2", len(got))
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `latchkey_logins_total{outcome="success"} 2`
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %q:\n%s", want, rec.Body)
	}
}
