// Command login signs in to Latchkey with package client and calls a
// resource server (see ../resource-server) with the access token, which the
// client refreshes as needed.
//
//	go run ./examples/login -email ada@example.com -register
//
// The password is read from LATCHKEY_PASSWORD, or asked for on standard
// input. LATCHKEY_URL (default http://127.0.0.1:8080) and RESOURCE_URL
// (default http://127.0.0.1:9090) say where the two servers are. For an
// account with two-factor authentication, the code is asked for too.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey/client"
)

func main() {
	email := flag.String("email", "", "account email")
	register := flag.Bool("register", false, "create the account first")
	flag.Parse()
	if *email == "" {
		slog.Error("login: -email is required")
		os.Exit(2)
	}
	in := bufio.NewReader(os.Stdin)
	if err := run(context.Background(), *email, *register, in, os.Stdout); err != nil {
		slog.Error("login failed", "err", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ask prints prompt and reads one line.
func ask(in *bufio.Reader, out io.Writer, prompt string) (string, error) {
	fmt.Fprint(out, prompt)
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func run(ctx context.Context, email string, register bool, in *bufio.Reader,
	out io.Writer) error {
	c, err := client.New(env("LATCHKEY_URL", "http://127.0.0.1:8080"), nil)
	if err != nil {
		return err
	}
	password := os.Getenv("LATCHKEY_PASSWORD")
	if password == "" {
		if password, err = ask(in, out, "Password: "); err != nil {
			return err
		}
	}

	if register {
		if _, err := c.Register(ctx, client.RegisterInput{Email: email,
			Password: password}); err != nil {
			return err
		}
	} else {
		res, err := c.Login(ctx, email, password)
		if err != nil {
			return err
		}
		if res.MFA != nil {
			code, err := ask(in, out, "Authenticator code: ")
			if err != nil {
				return err
			}
			if _, err := c.LoginMFA(ctx, res.MFA.Token, code); err != nil {
				return err
			}
		}
	}
	defer c.Logout(ctx)

	me, err := c.Profile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "signed in as %s (%s)\n", me.Email, me.Role)

	// The transport adds the access token to every request and refreshes
	// it when it is due, so this client can run as long as the session.
	hc := &http.Client{Transport: c.Transport(nil), Timeout: 10 * time.Second}
	base := env("RESOURCE_URL", "http://127.0.0.1:9090")
	for _, path := range []string{"/hello", "/reports"} {
		res, err := hc.Get(base + path)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "GET %s: %d %s\n", path, res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
