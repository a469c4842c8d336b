package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
)

// relay is a TCP relay on a loopback port in front of a real server. A test
// cuts it to make the server unreachable (connections refused and dropped)
// or stalls it to make the server hang (connections accepted, never
// answered), then restores it.
type relay struct {
	t      *testing.T
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	stalled bool
	conns   map[net.Conn]bool
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	r := &relay{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	r.restore()
	t.Cleanup(r.cut)
	return r
}

// restore listens again on the relay's address and forwards.
func (r *relay) restore() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stalled = false
	if r.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("relay listen on %s: %v", r.addr, err)
	}
	r.ln, r.addr = ln, ln.Addr().String()
	go r.accept(ln)
}

// cut stops listening and drops every connection.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	r.dropLocked()
}

// stall drops every connection and leaves new ones unanswered.
func (r *relay) stall() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stalled = true
	r.dropLocked()
}

func (r *relay) dropLocked() {
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns[c] = true
	return r.stalled
}

func (r *relay) accept(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		if r.track(client) {
			continue
		}
		server, err := net.Dial("tcp", r.target)
		if err != nil {
			client.Close()
			continue
		}
		r.track(server)
		go func() {
			io.Copy(server, client)
			server.Close()
		}()
		go func() {
			io.Copy(client, server)
			client.Close()
		}()
	}
}

func TestPostgresOutageAnswers503AndRecoversWithoutARestart(t *testing.T) {
	t.Parallel()
	schemaURL := storetest.PostgresSchemaURL(t)
	u, err := url.Parse(schemaURL)
	if err != nil {
		t.Skip("the test PostgreSQL URL is not a URL; cannot put a relay in front of it")
	}
	rl := startRelay(t, u.Host)
	u.Host = rl.addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open through the relay: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, db, func(c *envConfig) { c.server.RequestTimeout = 2 * time.Second })
	b := e.browser()
	b.register("pg-outage@example.com")
	// A token that passes the shape check, so that its lookup needs the
	// database.
	wellFormed, err := token.NewOpaque()
	if err != nil {
		t.Fatal(err)
	}

	// Every kind of request, each answered 503 while the database is away.
	requests := []struct {
		name string
		do   func() response
	}{
		{"profile", func() response { return b.do("GET", "/api/auth/profile", nil) }},
		{"login", func() response {
			return e.browser().login("pg-outage@example.com", strongPassword)
		}},
		{"register", func() response {
			return e.browser().do("POST", "/api/auth/register",
				map[string]string{"email": "new@example.com", "password": strongPassword})
		}},
		{"refresh", func() response { return b.do("POST", "/api/auth/refresh", nil) }},
		{"password forgot", func() response {
			return e.browser().do("POST", "/api/auth/password/forgot",
				map[string]string{"email": "pg-outage@example.com"})
		}},
		{"password reset", func() response {
			return e.browser().do("POST", "/api/auth/password/reset",
				map[string]string{"token": wellFormed, "password": newPassword})
		}},
		{"email verification", func() response {
			return e.browser().do("POST", "/api/auth/email/verify",
				map[string]string{"token": wellFormed})
		}},
		{"password change", func() response {
			return b.changePassword(strongPassword, newPassword)
		}},
	}
	wantAll503 := func(t *testing.T) {
		t.Helper()
		for _, req := range requests {
			t.Run(req.name, func(t *testing.T) {
				wantError(t, req.do(), http.StatusServiceUnavailable, "service_unavailable")
			})
		}
		r := b.do("GET", "/readyz", nil)
		if r.Status != http.StatusServiceUnavailable || r.obj("checks")["database"] == "ok" {
			t.Errorf("/readyz = %d %s; want 503 with the database not ok", r.Status, r.Raw)
		}
	}
	waitUntilServing := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := b.do("GET", "/api/auth/profile", nil)
			if r.Status == http.StatusOK {
				return
			}
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("profile while recovering: %d %s; want 503 or 200", r.Status, r.Raw)
			}
			if time.Now().After(deadline) {
				t.Fatalf("still 503 15s after the database returned")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("an unreachable database gives 503", func(t *testing.T) {
		rl.cut()
		wantAll503(t)
		rl.restore()
		waitUntilServing(t)
	})
	t.Run("a database that stops answering gives 503, not a hang", func(t *testing.T) {
		rl.stall()
		wantAll503(t)
		rl.restore()
		waitUntilServing(t)
	})
}

func TestPostgresAtADeadAddressIsUnavailableNotAnError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, "postgres://latchkey@"+dead+"/latchkey?sslmode=disable")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open at a dead address = %v; want an error wrapping store.ErrUnavailable", err)
	}
}
