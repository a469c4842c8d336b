package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the latchkey command built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latchkey-cmd-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "latchkey")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building latchkey: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command prepares latchkey with args in a fresh working directory and an
// environment holding only what the test gives it.
func command(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	return cmd
}

func TestProductionWithoutSecretsRefusesToStartNamingTheVariable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := command(t, dir, []string{"APP_ENV=production",
		"PUBLIC_URL=https://auth.example.com"}, "serve")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("serve in production without secrets: err = %v, output %s; want exit 2", err, out)
	}
	for _, name := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "MFA_ENCRYPTION_KEY"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
}

func TestInvalidDurationStopsStartNamingVariableAndValue(t *testing.T) {
	t.Parallel()
	out, err := command(t, t.TempDir(), []string{"ACCESS_TOKEN_EXPIRY=15x"}, "serve").
		CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ACCESS_TOKEN_EXPIRY") ||
		!strings.Contains(string(out), "15x") {
		t.Fatalf("serve with a bad duration: err = %v, output:\n%s", err, out)
	}
}

func TestVersionPrintsAVersion(t *testing.T) {
	t.Parallel()
	out, err := command(t, t.TempDir(), nil, "version").Output()
	if err != nil || !regexp.MustCompile(`^latchkey \S+\n$`).Match(out) {
		t.Fatalf("version = %q, %v", out, err)
	}
}

func TestMigrateUpThenStatusListsAppliedMigrations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := command(t, dir, nil, "migrate", "up").CombinedOutput(); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	out, err := command(t, dir, nil, "migrate", "status").Output()
	if err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("status lists no migrations:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "applied") || strings.Contains(l, "pending") {
			t.Errorf("migration not applied after migrate up: %q", l)
		}
	}
}

// server is a running `latchkey serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *logBuffer
	done chan error
}

// logBuffer collects a process's log lines while the test reads them.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line + "\n")
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs serve on a free loopback port in dir and waits until it
// listens.
func startServer(t *testing.T, dir string, env ...string) *server {
	t.Helper()
	cmd := command(t, dir, append(env, "LISTEN_ADDR=127.0.0.1:0"), "serve")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &logBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`msg="latchkey listening" addr=(\S+)`)
		for sc.Scan() {
			line := sc.Text()
			s.logs.add(line)
			if m := re.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("server exited before listening: %v\n%s", err, s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", s.logs)
	}
	return s
}

type client struct {
	t    *testing.T
	http *http.Client
	base string
}

func (c *client) do(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestServeRunsTheWalkThroughAndDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	if !strings.Contains(srv.logs.String(), "generated development secret") {
		t.Errorf("no warning about generated development secrets:\n%s", srv.logs)
	}

	jar, _ := cookiejar.New(nil)
	c := &client{t: t, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: srv.url}
	creds := map[string]string{"email": "ada@example.com", "password": "Analytical-Engine1!"}
	if status, body := c.do("POST", "/api/auth/register", "", creds); status != 201 {
		t.Fatalf("register = %d %v", status, body)
	}
	status, body := c.do("POST", "/api/auth/login", "", creds)
	tok, _ := body["accessToken"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("login = %d %v", status, body)
	}
	if status, body := c.do("GET", "/api/auth/profile", tok, nil); status != 200 {
		t.Fatalf("profile = %d %v", status, body)
	}
	status, body = c.do("POST", "/api/auth/refresh", "", nil)
	tok, _ = body["accessToken"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("refresh = %d %v", status, body)
	}
	if status, _ := c.do("POST", "/api/auth/logout", tok, nil); status != 200 {
		t.Fatalf("logout = %d", status)
	}
	if status, _ := c.do("GET", "/api/auth/profile", tok, nil); status != 401 {
		t.Fatalf("profile after logout = %d; want 401", status)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "latchkey.db")); err != nil {
		t.Errorf("no SQLite file under ./data: %v", err)
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
	if !strings.Contains(srv.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", srv.logs)
	}
	logs := srv.logs.String()
	if strings.Contains(logs, "Analytical-Engine1!") || strings.Contains(logs, tok) {
		t.Error("a password or token reached the log")
	}
}

func TestUserCreateReadsThePasswordFromStandardInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := command(t, dir, nil, "user", "create", "--email", "Root@Example.com", "--role", "ADMIN")
	cmd.Stdin = strings.NewReader("Admin-Password1!\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<root@example.com> with role ADMIN") {
		t.Fatalf("user create: %v\n%s", err, out)
	}

	weak := command(t, dir, nil, "user", "create", "--email", "weak@example.com",
		"--password", "short")
	if out, err := weak.CombinedOutput(); err == nil {
		t.Fatalf("user create with a weak password succeeded:\n%s", out)
	}

	srv := startServer(t, dir)
	c := &client{t: t, http: &http.Client{Timeout: 10 * time.Second}, base: srv.url}
	status, body := c.do("POST", "/api/auth/login", "",
		map[string]string{"email": "root@example.com", "password": "Admin-Password1!"})
	tok, _ := body["accessToken"].(string)
	if status != 200 {
		t.Fatalf("admin login = %d %v", status, body)
	}
	if status, body := c.do("GET", "/api/auth/admin", tok, nil); status != 200 {
		t.Errorf("admin route for the created admin = %d %v", status, body)
	}
}
