package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/docs"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mfa"
	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
)

const strongPassword = "Correct-horse9!"

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatalf("OpenAPIJSON: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %s, want 3.1", doc.OpenAPI)
	}
	return doc
}

// startServer runs Latchkey with asymmetric keys, so that every route is
// registered, behind rec.
func startServer(t *testing.T, rec *recorder) *testserver.Server {
	t.Helper()
	k, _, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	var wrap func(http.Handler) http.Handler
	if rec != nil {
		wrap = rec.wrap
	}
	return testserver.Start(t, testserver.Options{Keys: ks, Wrap: wrap})
}

func TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	srv := startServer(t, nil)

	registered := map[string]bool{}
	for _, pattern := range srv.API.Routes() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("route %q has no method: every route names one", pattern)
			continue
		}
		registered[method+" "+path] = true
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in docs/openapi.yaml", pattern)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("docs/openapi.yaml describes %s %s, which the server does not route",
					method, path)
			}
		}
	}
}

// exchange is one request and its answer.
type exchange struct {
	req    *http.Request
	body   []byte
	status int
	header http.Header
	resp   []byte
}

// recorder keeps every exchange that passes through it.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

func (rc *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)

		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())

		clone := r.Clone(context.Background())
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.exchanges = append(rc.exchanges, exchange{req: clone, body: body, status: rec.Code,
			header: rec.Header().Clone(), resp: rec.Body.Bytes()})
	})
}

// raw sends one request outside the client, for answers the client never
// provokes.
func raw(t *testing.T, method, url, contentType, body string, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// drive walks through the whole API with the Go client, plus the answers
// it never provokes, so that every operation answers at least once.
func drive(t *testing.T, srv *testserver.Server) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	newClient := func() *client.Client {
		c, err := client.New(srv.URL, &client.Options{Now: srv.Clock.Now})
		must("client.New", err)
		return c
	}
	code := func(secret string) string {
		c, err := mfa.Code(secret, mfa.Step(srv.Clock.Now()))
		must("TOTP code", err)
		srv.Clock.Advance(mfa.Period)
		return c
	}

	ada := newClient()
	_, err := ada.Register(ctx, client.RegisterInput{Email: "ada@example.com",
		Password: strongPassword, Username: "ada"})
	must("register", err)
	_, err = ada.Profile(ctx)
	must("profile", err)
	_, err = ada.Sessions(ctx)
	must("sessions", err)
	_, err = ada.LoginHistory(ctx)
	must("login history", err)
	_, err = ada.AdminMessage(ctx)
	if client.ErrorCode(err) != client.CodeInsufficientRole {
		t.Fatalf("admin check as a user: %v", err)
	}
	must("refresh", ada.Refresh(ctx))

	_, err = ada.SendVerificationEmail(ctx)
	must("send verification", err)
	m, _ := srv.Mailbox.Last(mail.VerifyEmail, "ada@example.com")
	_, err = ada.VerifyEmail(ctx, m.Token())
	must("verify email", err)
	_, err = ada.SendVerificationEmail(ctx)
	must("send verification when verified", err)
	must("change password", ada.ChangePassword(ctx, strongPassword, "Battery-staple7@"))
	must("change back", ada.ChangePassword(ctx, "Battery-staple7@", strongPassword))

	setup, err := ada.SetupTOTP(ctx)
	must("setup TOTP", err)
	backup, err := ada.EnableTOTP(ctx, code(setup.Secret))
	must("enable TOTP", err)
	_, err = ada.EnableTOTP(ctx, code(setup.Secret))
	if client.ErrorCode(err) != client.CodeMFAAlreadyEnabled {
		t.Fatalf("enable twice: %v", err)
	}
	second := newClient()
	res, err := second.Login(ctx, "ada@example.com", strongPassword)
	must("login with 2FA", err)
	_, err = second.LoginMFA(ctx, res.MFA.Token, code(setup.Secret))
	must("login MFA", err)
	res, err = second.Login(ctx, "ada@example.com", strongPassword)
	must("login with 2FA", err)
	_, err = second.LoginBackupCode(ctx, res.MFA.Token, backup[0])
	must("login with a backup code", err)
	backup, err = ada.RegenerateBackupCodes(ctx, code(setup.Secret))
	must("regenerate backup codes", err)
	must("disable TOTP", ada.DisableTOTP(ctx, strongPassword, code(setup.Secret)))
	sessions, err := ada.Sessions(ctx)
	must("sessions", err)
	for _, s := range sessions {
		if !s.Current {
			must("revoke session", ada.RevokeSession(ctx, s.ID))
		}
	}

	srv.CreateUser(t, "root@example.com", strongPassword, "ADMIN")
	root := newClient()
	_, err = root.Login(ctx, "root@example.com", strongPassword)
	must("admin login", err)
	_, err = root.AdminMessage(ctx)
	must("admin check", err)
	page, err := root.ListUsers(ctx, client.UserQuery{Limit: 1})
	must("list users", err)
	_, err = root.ListUsers(ctx, client.UserQuery{Limit: 1, Cursor: page.NextCursor})
	must("list users, page two", err)
	bob := newClient()
	u, err := bob.Register(ctx, client.RegisterInput{Email: "bob@example.com",
		Password: strongPassword})
	must("register bob", err)
	_, err = root.GetUser(ctx, u.ID)
	must("get user", err)
	role := "ADMIN"
	_, err = root.UpdateUser(ctx, u.ID, client.UserChange{Role: &role})
	must("update user", err)
	must("revoke user sessions", root.RevokeUserSessions(ctx, u.ID))
	_, err = root.AuditEvents(ctx, client.AuditQuery{Limit: 5})
	must("audit", err)
	_, err = root.GetUser(ctx, "no-such-user")
	if client.ErrorCode(err) != client.CodeNotFound {
		t.Fatalf("get an unknown user: %v", err)
	}

	must("forgot password", ada.ForgotPassword(ctx, "ada@example.com"))
	m, _ = srv.Mailbox.Last(mail.ResetPassword, "ada@example.com")
	must("reset password", ada.ResetPassword(ctx, m.Token(), "Battery-staple7@"))
	_, err = ada.Login(ctx, "ada@example.com", "Battery-staple7@")
	must("login after reset", err)
	must("logout all", ada.LogoutAll(ctx))

	// Answers the client never provokes.
	base := srv.URL
	api := base + "/api/auth"
	statuses := []struct {
		got, want int
		what      string
	}{
		{raw(t, "POST", api+"/login", "application/json",
			`{"email":"ada@example.com","password":"wrong"}`), 401, "wrong password"},
		{raw(t, "POST", api+"/register", "application/json", `{"email":`), 400, "bad JSON"},
		{raw(t, "POST", api+"/register", "text/plain", `{}`), 415, "not JSON"},
		{raw(t, "POST", api+"/register", "application/json",
			`{"email":"`+strings.Repeat("a", 70<<10)+`"}`), 413, "too large"},
		{raw(t, "POST", api+"/register", "application/json",
			`{"email":"bob@example.com","password":"`+strongPassword+`"}`), 409, "taken"},
		{raw(t, "GET", api+"/profile", "", ""), 401, "no token"},
		{raw(t, "POST", api+"/refresh", "", ""), 401, "no refresh token"},
		{raw(t, "POST", api+"/refresh", "application/json", `{}`, "Cookie",
			"refreshToken=x", "Origin", "https://evil.example"), 403, "cross-site refresh"},
		{raw(t, "GET", base+"/healthz", "", ""), 200, "healthz"},
		{raw(t, "GET", base+"/readyz", "", ""), 200, "readyz"},
		{raw(t, "GET", base+"/metrics", "", ""), 200, "metrics"},
		{raw(t, "GET", base+"/.well-known/jwks.json", "", ""), 200, "jwks"},
		{raw(t, "GET", base+"/openapi.json", "", ""), 200, "openapi"},
	}
	for _, s := range statuses {
		if s.got != s.want {
			t.Errorf("%s: status %d, want %d", s.what, s.got, s.want)
		}
	}
	res2, err := http.Get(base + "/.well-known/jwks.json")
	must("jwks", err)
	res2.Body.Close()
	if got := raw(t, "GET", base+"/.well-known/jwks.json", "", "", "If-None-Match",
		res2.Header.Get("ETag")); got != http.StatusNotModified {
		t.Errorf("jwks with its ETag: status %d, want 304", got)
	}
}

func TestRealResponsesMatchTheDocument(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	rec := &recorder{}
	srv := startServer(t, rec)
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}

	drive(t, srv)

	answered := map[string][]int{}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ex := range rec.exchanges {
		name := ex.req.Method + " " + ex.req.URL.Path
		ex.req.URL.Scheme, ex.req.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
		route, params, err := router.FindRoute(ex.req)
		if err != nil {
			t.Errorf("%s: no documented operation: %v", name, err)
			continue
		}
		op := route.Method + " " + route.Path
		answered[op] = append(answered[op], ex.status)

		opts := &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		}
		in := &openapi3filter.RequestValidationInput{Request: ex.req, PathParams: params,
			Route: route, Options: opts}
		ex.req.Body = io.NopCloser(bytes.NewReader(ex.body))
		if ex.status < 400 {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s answered %d, but its request does not match the document: %v",
					name, ex.status, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
			Status: ex.status, Header: ex.header, Options: opts}
		out.SetBodyBytes(ex.resp)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s answered %d %s, which does not match the document: %v", name,
				ex.status, truncate(ex.resp), err)
		}
	}

	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			op := method + " " + path
			if !slices.ContainsFunc(answered[op], func(s int) bool { return s < 300 }) {
				t.Errorf("%s never answered with success in the walk-through (%v): "+
					"its documented responses are unchecked", op, answered[op])
			}
		}
	}
	if t.Failed() {
		return
	}
	var summary []string
	for op, statuses := range answered {
		summary = append(summary, fmt.Sprintf("%s %v", op, statuses))
	}
	slices.Sort(summary)
	t.Logf("validated %d exchanges:\n%s", len(rec.exchanges), strings.Join(summary, "\n"))
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func TestServedDocumentIsTheYAMLAsJSON(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var served map[string]any
	if err := json.NewDecoder(res.Body).Decode(&served); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if served["openapi"] != "3.1.0" || res.Header.Get("ETag") == "" {
		t.Errorf("served openapi = %v, ETag %q; want 3.1.0 with an ETag", served["openapi"],
			res.Header.Get("ETag"))
	}
	paths, _ := served["paths"].(map[string]any)
	ops, _ := paths["/api/auth/register"].(map[string]any)
	post, _ := ops["post"].(map[string]any)
	responses, _ := post["responses"].(map[string]any)
	if _, ok := responses["201"]; !ok {
		t.Errorf("register's responses = %v, want a 201 key", responses)
	}
	if !strings.Contains(string(docs.OpenAPIYAML()), "openapi: 3.1.0") {
		t.Error("OpenAPIYAML does not return the YAML source")
	}
}
