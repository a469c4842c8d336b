// Package examples_test builds the example programs and runs them together
// against a real Latchkey: the login program signs in with package client
// and calls the resource server, which verifies its token with package
// verify through Latchkey's published keys.
package examples_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
)

const strongPassword = "Correct-horse9!"

// build compiles the example in dir and returns the binary's path.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	out, err := exec.Command("go", "build", "-o", bin, "./"+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./%s: %v\n%s", dir, err, out)
	}
	return bin
}

// startResourceServer runs the resource server example on a free loopback
// port and returns its URL.
func startResourceServer(t *testing.T, bin string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LISTEN_ADDR=127.0.0.1:0"}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "resource server listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the resource server did not start")
	}
	return ""
}

func TestTheExamplesWorkTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	t.Parallel()
	key, _, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{Keys: ks})
	srv.CreateUser(t, "root@example.com", strongPassword, "ADMIN")

	rsBin := build(t, "resource-server")
	loginBin := build(t, "login")
	rs := startResourceServer(t, rsBin,
		"LATCHKEY_JWKS_URL="+srv.URL+"/.well-known/jwks.json")

	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"a new user is greeted and kept out of the reports",
			[]string{"-email", "ada@example.com", "-register"},
			[]string{"signed in as ada@example.com (USER)", "GET /hello: 200",
				"Hello, ada@example.com.", "GET /reports: 403", "insufficient_role"}},
		{"an administrator reads the reports",
			[]string{"-email", "root@example.com"},
			[]string{"signed in as root@example.com (ADMIN)", "GET /hello: 200",
				"GET /reports: 200", "signups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(loginBin, tt.args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LATCHKEY_URL=" + srv.URL,
				"RESOURCE_URL=" + rs, "LATCHKEY_PASSWORD=" + strongPassword}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("login %v: %v\n%s", tt.args, err, out)
			}
			for _, want := range tt.wants {
				if !strings.Contains(string(out), want) {
					t.Errorf("output does not contain %q:\n%s", want, out)
				}
			}
		})
	}
}
