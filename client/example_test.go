package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/verify"
)

// latchkey starts a Latchkey server for an example to talk to. A real
// program uses its deployment's URL instead, such as
// https://auth.example.com.
func latchkey() (url string, stop func()) {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	return srv.URL, srv.Close
}

// latchkeyWithSecret is latchkey, with the HS256 secret the server signs
// access tokens with (its JWT_ACCESS_SECRET).
func latchkeyWithSecret() (url string, secret []byte, stop func()) {
	url, stop = latchkey()
	return url, testserver.AccessSecret, stop
}

func Example() {
	url, stop := latchkey()
	defer stop()
	ctx := context.Background()

	c, err := client.New(url, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Register(ctx, client.RegisterInput{
		Email:    "ada@example.com",
		Password: "Analytical-Engine1!",
	})
	if err != nil {
		log.Fatal(err)
	}

	// Every call carries the access token, refreshed when it is due.
	me, err := c.Profile(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Email, me.Role)

	if err := c.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = c.Profile(ctx)
	fmt.Println(errors.Is(err, client.ErrNotSignedIn))
	// Output:
	// ada@example.com USER
	// true
}

func ExampleClient_Login() {
	url, stop := latchkey()
	defer stop()
	ctx := context.Background()
	signup, _ := client.New(url, nil)
	signup.Register(ctx, client.RegisterInput{Email: "ada@example.com",
		Password: "Analytical-Engine1!"})

	c, err := client.New(url, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Login(ctx, "ada@example.com", "Analytical-Engine1!")
	if err != nil {
		log.Fatal(err)
	}
	if res.MFA != nil {
		// Two-factor authentication is on: ask the user for the code from
		// their authenticator, then finish with
		// c.LoginMFA(ctx, res.MFA.Token, code).
		return
	}
	fmt.Println("signed in as", res.User.Email)
	// Output: signed in as ada@example.com
}

func ExampleError() {
	url, stop := latchkey()
	defer stop()

	c, _ := client.New(url, nil)
	_, err := c.Login(context.Background(), "ada@example.com", "not-her-password")

	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code)
	}
	fmt.Println(client.ErrorCode(err) == client.CodeInvalidCredentials)
	// Output:
	// 401 invalid_credentials
	// true
}

func ExampleClient_Transport() {
	url, secret, stop := latchkeyWithSecret()
	defer stop()
	ctx := context.Background()

	// A resource server that trusts Latchkey's tokens (see package verify).
	v, _ := verify.New(verify.Options{Secret: secret, Issuer: "latchkey",
		Audience: "latchkey-users"})
	api := httptest.NewServer(v.Middleware(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := verify.ClaimsFrom(r.Context())
			fmt.Fprintf(w, "hello %s", claims.Email)
		})))
	defer api.Close()

	c, _ := client.New(url, nil)
	if _, err := c.Register(ctx, client.RegisterInput{Email: "ada@example.com",
		Password: "Analytical-Engine1!"}); err != nil {
		log.Fatal(err)
	}

	// The transport sends the access token with each request, refreshing
	// it when due and once more after a 401.
	hc := &http.Client{Transport: c.Transport(nil)}
	res, err := hc.Get(api.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output: 200 hello ada@example.com
}
