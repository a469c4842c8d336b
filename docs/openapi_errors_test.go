package docs_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/latchkey/latchkey/client"
)

// TestAdminErrorAnswersMatchTheDocument provokes every error the admin API
// documents, and the admin refusals of ordinary users, and validates each
// answer's status and body against the document.
func TestAdminErrorAnswersMatchTheDocument(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	rec := &recorder{}
	srv := startServer(t, rec)
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}

	ctx := context.Background()
	rootID := srv.CreateUser(t, "root@example.com", strongPassword, "ADMIN").ID
	root, err := client.New(srv.URL, &client.Options{Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Login(ctx, "root@example.com", strongPassword); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	admin, err := root.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ada, err := client.New(srv.URL, &client.Options{Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ada.Register(ctx, client.RegisterInput{Email: "ada@example.com",
		Password: strongPassword}); err != nil {
		t.Fatalf("register: %v", err)
	}
	user, err := ada.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}

	ghost := "/api/admin/users/0190ffff-0000-7000-8000-000000000000"
	self := "/api/admin/users/" + rootID
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	cases := []struct {
		name, method, path, ctype, body string
		header                          []string
		want                            int
	}{
		{"a user listing users", "GET", "/api/admin/users", "", "", bearer(user), 403},
		{"a user reading the trail", "GET", "/api/admin/audit", "", "", bearer(user), 403},
		{"a user changing a role", "PATCH", self, "application/json", `{"role":"USER"}`,
			bearer(user), 403},
		{"a user ending sessions", "DELETE", self + "/sessions", "", "", bearer(user), 403},
		{"no token", "GET", "/api/admin/users/" + rootID, "", "", nil, 401},
		{"a bad limit", "GET", "/api/admin/users?limit=-1", "", "", bearer(admin), 400},
		{"a forged cursor", "GET", "/api/admin/audit?cursor=YTox", "", "", bearer(admin), 400},
		{"an unknown user", "GET", ghost, "", "", bearer(admin), 404},
		{"ending the sessions of an unknown user", "DELETE", ghost + "/sessions", "", "",
			bearer(admin), 404},
		{"changing an unknown user", "PATCH", ghost, "application/json", `{"active":false}`,
			bearer(admin), 404},
		{"demoting the last admin", "PATCH", self, "application/json", `{"role":"USER"}`,
			bearer(admin), 409},
		{"an unknown role", "PATCH", self, "application/json", `{"role":"ROOT"}`,
			bearer(admin), 400},
		{"a malformed body", "PATCH", self, "application/json", `{"role":`, bearer(admin), 400},
		{"a body that is not JSON", "PATCH", self, "text/plain", `role=USER`, bearer(admin),
			415},
		{"a body over 64 KiB", "PATCH", self, "application/json",
			`{"role":"` + strings.Repeat("A", 70<<10) + `"}`, bearer(admin), 413},
	}
	for _, c := range cases {
		if got := raw(t, c.method, srv.URL+c.path, c.ctype, c.body, c.header...); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	checked := 0
	for _, ex := range rec.exchanges {
		if !strings.HasPrefix(ex.req.URL.Path, "/api/admin/") {
			continue
		}
		checked++
		name := ex.req.Method + " " + ex.req.URL.Path
		ex.req.URL.Scheme, ex.req.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
		route, params, err := router.FindRoute(ex.req)
		if err != nil {
			t.Errorf("%s: no documented operation: %v", name, err)
			continue
		}
		opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		in := &openapi3filter.RequestValidationInput{Request: ex.req, PathParams: params,
			Route: route, Options: opts}
		ex.req.Body = io.NopCloser(bytes.NewReader(ex.body))
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
			Status: ex.status, Header: ex.header, Options: opts}
		out.SetBodyBytes(ex.resp)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s answered %d %s, which does not match the document: %v", name,
				ex.status, truncate(ex.resp), err)
		}
	}
	if checked != len(cases) {
		t.Errorf("validated %d admin answers; want the %d provoked", checked, len(cases))
	}
}
