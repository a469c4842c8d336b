package verify_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/verify"
)

// latchkey starts a Latchkey server that signs with an EdDSA key, as
// JWT_KEYS_DIR makes it do, for an example to verify its tokens. A real
// service uses its deployment's URL, such as https://auth.example.com.
func latchkey() (url string, stop func()) {
	key, _, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := testserver.New(testserver.Options{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	return srv.URL, srv.Close
}

// signUp registers a user and returns an access token for it.
func signUp(url, email string) string {
	c, _ := client.New(url, nil)
	if _, err := c.Register(context.Background(), client.RegisterInput{Email: email,
		Password: "Analytical-Engine1!"}); err != nil {
		log.Fatal(err)
	}
	return c.Tokens().AccessToken
}

func get(url, accessToken string) string {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %s", res.StatusCode, body)
}

// A resource server protects its routes with the middleware; a handler
// finds the caller in the request context.
func Example() {
	latchkeyURL, stop := latchkey()
	defer stop()

	v, err := verify.New(verify.Options{
		JWKSURL:  latchkeyURL + "/.well-known/jwks.json",
		Issuer:   "latchkey",
		Audience: "latchkey-users",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := verify.ClaimsFrom(r.Context())
			fmt.Fprintf(w, "hello %s", claims.Email)
		})))
	api := httptest.NewServer(mux)
	defer api.Close()

	fmt.Println(get(api.URL+"/hello", signUp(latchkeyURL, "ada@example.com")))
	fmt.Println(get(api.URL+"/hello", "forged"))
	// Output:
	// 200 hello ada@example.com
	// 401 {"error":"The access token is invalid.","code":"invalid_token"}
}

func ExampleRequireRole() {
	latchkeyURL, stop := latchkey()
	defer stop()

	v, err := verify.New(verify.Options{
		JWKSURL:  latchkeyURL + "/.well-known/jwks.json",
		Issuer:   "latchkey",
		Audience: "latchkey-users",
	})
	if err != nil {
		log.Fatal(err)
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "the reports")
	})
	api := httptest.NewServer(v.Middleware(verify.RequireRole("ADMIN")(reports)))
	defer api.Close()

	fmt.Println(get(api.URL, signUp(latchkeyURL, "ada@example.com")))
	// Output:
	// 403 {"error":"This requires the ADMIN role.","code":"insufficient_role"}
}

func ExampleVerifier_Verify() {
	latchkeyURL, stop := latchkey()
	defer stop()
	accessToken := signUp(latchkeyURL, "ada@example.com")

	v, err := verify.New(verify.Options{
		JWKSURL:  latchkeyURL + "/.well-known/jwks.json",
		Issuer:   "latchkey",
		Audience: "latchkey-users",
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), accessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Email, claims.Role)
	// Output: ada@example.com USER
}
