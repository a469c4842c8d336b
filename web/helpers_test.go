package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/internal/testserver"
)

// password is a password the default policy accepts.
const password = "Correct-Horse-9!"

// start runs a server with the hosted pages at the root.
func start(t *testing.T, o testserver.Options) *testserver.Server {
	t.Helper()
	o.Web = true
	return testserver.Start(t, o)
}

// visitor is a browser without JavaScript: a cookie jar that does not
// follow redirects, so that tests see them.
type visitor struct {
	t    *testing.T
	srv  *testserver.Server
	http *http.Client
	// header is added to every request, as a browser adds Origin and
	// Sec-Fetch-Site.
	header http.Header
}

func newVisitor(t *testing.T, srv *testserver.Server) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t: t, srv: srv, header: http.Header{
		"Origin":         {srv.URL},
		"Sec-Fetch-Site": {"same-origin"},
	}, http: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// page is an answer of the server.
type page struct {
	status int
	header http.Header
	body   string
}

func (v *visitor) do(req *http.Request) page {
	v.t.Helper()
	for k, vals := range v.header {
		if req.Method != http.MethodGet {
			req.Header[k] = vals
		}
	}
	res, err := v.http.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (v *visitor) get(path string) page {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.srv.URL+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.do(req)
}

// post sends form to path as a browser would after loading the form from
// path's page: with its CSRF token, unless form sets one.
func (v *visitor) post(path string, form url.Values) page {
	v.t.Helper()
	if !form.Has("csrf") {
		form.Set("csrf", v.csrf(path))
	}
	return v.postRaw(path, form)
}

func (v *visitor) postRaw(path string, form url.Values) page {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.srv.URL+path,
		strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads the page at path and returns the token of its forms.
func (v *visitor) csrf(path string) string {
	v.t.Helper()
	form := path
	if form == "/signin/mfa" {
		form = "/signin"
	}
	p := v.get(form)
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		v.t.Fatalf("GET %s: no CSRF token in the page", form)
	}
	return m[1]
}

// api calls a JSON route with the visitor's cookies.
func (v *visitor) api(method, path, bearer string, body any) (int, map[string]any) {
	v.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, v.srv.URL+path, r)
	if err != nil {
		v.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	p := v.do(req)
	out := map[string]any{}
	if p.body != "" {
		_ = json.Unmarshal([]byte(p.body), &out)
	}
	return p.status, out
}

// cookie returns the visitor's cookie name for path, or "".
func (v *visitor) cookie(path, name string) string {
	u, _ := url.Parse(v.srv.URL + path)
	for _, c := range v.http.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// refreshWith sends refresh token cookie value to /api/auth/refresh, as the
// browser that held it would, and returns the status.
func (v *visitor) refreshWith(value string) int {
	v.t.Helper()
	u, err := url.Parse(v.srv.URL + "/api/auth")
	if err != nil {
		v.t.Fatal(err)
	}
	v.http.Jar.SetCookies(u, []*http.Cookie{{Name: "refreshToken", Value: value,
		Path: "/api/auth"}})
	status, _ := v.api("POST", "/api/auth/refresh", "", nil)
	return status
}

// signInAPI signs in through the API and returns the access token.
func (v *visitor) signInAPI(email, pw string) string {
	v.t.Helper()
	status, body := v.api("POST", "/api/auth/login", "", map[string]string{
		"email": email, "password": pw})
	if status != http.StatusOK {
		v.t.Fatalf("login: status %d, want 200: %v", status, body)
	}
	tok, _ := body["accessToken"].(string)
	return tok
}

// enableTOTP turns 2FA on for the caller of tok and returns the secret.
func enableTOTP(t *testing.T, v *visitor, tok string) string {
	t.Helper()
	secret, _ := enableTOTPWithCodes(t, v, tok)
	return secret
}

// enableTOTPWithCodes turns 2FA on for the caller of tok and returns the
// secret and the backup codes.
func enableTOTPWithCodes(t *testing.T, v *visitor, tok string) (string, []string) {
	t.Helper()
	status, body := v.api("POST", "/api/auth/mfa/totp/setup", tok, nil)
	if status != http.StatusOK {
		t.Fatalf("setup: status %d: %v", status, body)
	}
	secret := body["secret"].(string)
	status, body = v.api("POST", "/api/auth/mfa/totp/enable", tok,
		map[string]string{"code": code(t, v.srv, secret)})
	if status != http.StatusOK {
		t.Fatalf("enable: status %d: %v", status, body)
	}
	var codes []string
	list, _ := body["backupCodes"].([]any)
	for _, c := range list {
		s, _ := c.(string)
		codes = append(codes, s)
	}
	if len(codes) != 10 {
		t.Fatalf("enable: got %d backup codes, want 10: %v", len(codes), body)
	}
	// The next code must come from a later step: a used one is refused.
	v.srv.Clock.Advance(30 * time.Second)
	return secret, codes
}

// userWithTOTP creates an account for email with the password above and
// 2FA on, and returns its TOTP secret and backup codes.
func userWithTOTP(t *testing.T, srv *testserver.Server, email string) (string, []string) {
	t.Helper()
	srv.CreateUser(t, email, password, "USER")
	v := newVisitor(t, srv)
	return enableTOTPWithCodes(t, v, v.signInAPI(email, password))
}

// code is the TOTP code of secret at the server's clock.
func code(t *testing.T, srv *testserver.Server, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fieldError returns the message the page shows next to input id.
func fieldError(body, id string) string {
	re := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `-error"[^>]*>([^<]*)<`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}
