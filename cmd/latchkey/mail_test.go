package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mailedToken waits for the development log to show a link to page and
// returns its token.
func mailedToken(t *testing.T, srv *server, page string) string {
	t.Helper()
	re := regexp.MustCompile(`link="[^"]*/` + page + `#token=([A-Za-z0-9_-]+)"`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindAllStringSubmatch(srv.logs.String(), -1); m != nil {
			return m[len(m)-1][1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s link in the log:\n%s", page, srv.logs)
	return ""
}

func TestANewcomerFinishesTheMailFlowsFromTheOutboxLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir, "PUBLIC_URL=https://auth.example.test")
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: srv.url}

	const first, second = "Analytical-Engine1!", "Difference-Engine2!"
	status, body := c.do("POST", "/api/auth/register", "",
		map[string]string{"email": "ada@example.com", "password": first})
	tok, _ := body["accessToken"].(string)
	if status != 201 || tok == "" {
		t.Fatalf("register = %d %v", status, body)
	}
	if status, body := c.do("POST", "/api/auth/email/verify/send", tok, nil); status != 202 {
		t.Fatalf("verify/send = %d %v", status, body)
	}
	verify := mailedToken(t, srv, "verify-email")
	if status, body := c.do("POST", "/api/auth/email/verify", "",
		map[string]string{"token": verify}); status != 200 {
		t.Fatalf("verify = %d %v", status, body)
	}

	if status, body := c.do("POST", "/api/auth/password/forgot", "",
		map[string]string{"email": "ada@example.com"}); status != 202 {
		t.Fatalf("forgot = %d %v", status, body)
	}
	reset := mailedToken(t, srv, "reset-password")
	if status, body := c.do("POST", "/api/auth/password/reset", "",
		map[string]string{"token": reset, "password": second}); status != 200 {
		t.Fatalf("reset = %d %v", status, body)
	}
	if status, body := c.do("POST", "/api/auth/login", "",
		map[string]string{"email": "ada@example.com", "password": second}); status != 200 {
		t.Fatalf("login with the new password = %d %v", status, body)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, srv.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop after SIGTERM:\n%s", srv.logs)
	}

	files, err := filepath.Glob(filepath.Join(dir, "data", "outbox", "*.eml"))
	if err != nil || len(files) != 3 {
		t.Errorf("outbox holds %v (%v); want the verification, reset and notice mails", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(first)) || bytes.Contains(raw, []byte(second)) {
			t.Errorf("%s carries a password", f)
		}
	}
	logs := srv.logs.String()
	if strings.Contains(logs, first) || strings.Contains(logs, second) {
		t.Error("a password reached the log")
	}
	if !strings.Contains(logs, "https://auth.example.test/verify-email#token=") {
		t.Errorf("links are not built from PUBLIC_URL:\n%s", logs)
	}
}

func TestABrokenMailSettingStopsStartNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, variable string
	}{
		{"a missing templates directory", "MAIL_TEMPLATES_DIR=./no-such-dir", "MAIL_TEMPLATES_DIR"},
		{"an SMTP URL with a bad port", "SMTP_URL=smtp://mail.example.com:99999", "SMTP_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := command(t, t.TempDir(), []string{tc.env}, "serve").CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("serve with %s: err = %v, output %s; want exit 2", tc.env, err, out)
			}
			if !strings.Contains(string(out), tc.variable) {
				t.Errorf("output does not name %s:\n%s", tc.variable, out)
			}
		})
	}
}
