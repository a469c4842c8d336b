package main

import (
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestAWildcardCORSOriginStopsStartNamingVariableAndValue(t *testing.T) {
	t.Parallel()
	for _, origin := range []string{"https://*", "https://*.example.com"} {
		t.Run(origin, func(t *testing.T) {
			t.Parallel()
			out, err := command(t, t.TempDir(), []string{"CORS_ORIGIN=" + origin}, "serve").
				CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("serve with CORS_ORIGIN=%s: err = %v, output %s; want exit 2",
					origin, err, out)
			}
			if !strings.Contains(string(out), "CORS_ORIGIN") ||
				!strings.Contains(string(out), `"`+origin+`"`) {
				t.Errorf("output does not name CORS_ORIGIN and %q:\n%s", origin, out)
			}
		})
	}
}

func TestServeAnswersCORSForListedOriginsOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(),
		"CORS_ORIGIN=https://app.example.com, http://localhost:5173")
	client := &http.Client{Timeout: 10 * time.Second}

	cases := []struct {
		origin, want string
	}{
		{"https://app.example.com", "https://app.example.com"},
		{"http://localhost:5173", "http://localhost:5173"},
		{"https://evil.example.com", ""},
		{"https://app.example.com.evil.example", ""},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			req, err := http.NewRequest("OPTIONS", s.url+"/api/auth/login", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()

			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("Access-Control-Allow-Origin = %q; want %q", got, tc.want)
			}
			creds := res.Header.Get("Access-Control-Allow-Credentials")
			if want := map[bool]string{true: "true", false: ""}[tc.want != ""]; creds != want {
				t.Errorf("Access-Control-Allow-Credentials = %q; want %q", creds, want)
			}
		})
	}
}
