package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test with what when it
// has not after a generous deadline. The deadline only guards against a
// hang; no result depends on how long the wait took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSIGTERMLetsARequestInFlightFinish(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir())
	addr := strings.TrimPrefix(srv.url, "http://")

	// A registration whose body waits for the server's 100 Continue: once
	// that arrives, the handler is running and reading the body, so the
	// request is in flight when the signal comes. (A request whose header
	// the server has not read yet is not served once shutdown begins.)
	body := `{"email":"drain@example.com","password":"Analytical-Engine1!"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /api/auth/register HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n"+
		"Expect: 100-continue\r\n\r\n", addr, len(body))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	interim, err := http.ReadResponse(rd, nil)
	if err != nil || interim.StatusCode != http.StatusContinue {
		t.Fatalf("interim answer = %v, %v; want 100 Continue", interim, err)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Once the listener is closed the server is draining: new connections
	// are refused while the one in flight is still served.
	waitFor(t, "the listener to close after SIGTERM", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-srv.done:
		t.Fatalf("server exited with a request in flight: %v\n%s", err, srv.logs)
	default:
	}

	if _, err := conn.Write([]byte(body)); err != nil {
		t.Fatalf("send the body: %v", err)
	}
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("read the answer of the request in flight: %v\n%s", err, srv.logs)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("decode the answer: %v", err)
	}
	if res.StatusCode != http.StatusCreated || out["accessToken"] == nil {
		t.Errorf("request in flight = %d %v; want 201 with an access token", res.StatusCode, out)
	}

	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("server exit after draining: %v\n%s", err, srv.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop after draining:\n%s", srv.logs)
	}
	if !strings.Contains(srv.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", srv.logs)
	}
}
