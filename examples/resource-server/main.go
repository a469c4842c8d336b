// Command resource-server is a small service that trusts Latchkey's access
// tokens without talking to Latchkey on each request: package verify checks
// every request's bearer token against Latchkey's published keys.
//
// Run Latchkey with asymmetric keys, then this:
//
//	latchkey keys generate --alg EdDSA --dir ./keys
//	JWT_KEYS_DIR=./keys latchkey serve
//	go run ./examples/resource-server
//
// It reads LATCHKEY_JWKS_URL (default
// http://127.0.0.1:8080/.well-known/jwks.json), or LATCHKEY_ACCESS_SECRET
// for a Latchkey that signs with HS256; JWT_ISSUER and JWT_AUDIENCE as
// Latchkey does; and LISTEN_ADDR (default 127.0.0.1:9090). GET /hello
// greets any signed-in user; GET /reports answers administrators only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/verify"
)

func main() {
	if err := run(); err != nil {
		slog.Error("resource server stopped", "err", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	opts := verify.Options{
		Issuer:   env("JWT_ISSUER", "latchkey"),
		Audience: env("JWT_AUDIENCE", "latchkey-users"),
		Leeway:   5 * time.Second,
	}
	if secret := os.Getenv("LATCHKEY_ACCESS_SECRET"); secret != "" {
		opts.Secret = []byte(secret)
	} else {
		opts.JWKSURL = env("LATCHKEY_JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json")
	}
	v, err := verify.New(opts)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(hello)))
	mux.Handle("GET /reports", v.Middleware(verify.RequireRole("ADMIN")(
		http.HandlerFunc(reports))))

	ln, err := net.Listen("tcp", env("LISTEN_ADDR", "127.0.0.1:9090"))
	if err != nil {
		return err
	}
	// The address line lets a caller that asked for port 0 find the port.
	fmt.Printf("resource server listening on %s\n", ln.Addr())

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hello greets the caller the token names.
func hello(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.ClaimsFrom(r.Context())
	writeJSON(w, map[string]string{
		"message": "Hello, " + c.Email + ".",
		"userId":  c.Subject,
		"role":    c.Role,
	})
}

// reports is for administrators; RequireRole already made sure.
func reports(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"reports": []string{"signups", "logins"}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write answer", "err", err)
	}
}
