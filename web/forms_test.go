package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/testserver"
)

// wantRedirectToAccount checks a completed sign-in: a 303 to the account
// page and a refresh cookie with the API's attributes.
func wantRedirectToAccount(t *testing.T, p page) {
	t.Helper()
	wantSignedInTo(t, p, "/account")
}

// wantSignedInTo checks a completed sign-in: a 303 to path and a refresh
// cookie with the API's attributes.
func wantSignedInTo(t *testing.T, p page, path string) {
	t.Helper()
	if p.status != http.StatusSeeOther || p.header.Get("Location") != path {
		t.Fatalf("got status %d to %q, want 303 to %s; body:\n%s", p.status,
			p.header.Get("Location"), path, p.body)
	}
	wantCookie(t, p, "refreshToken", "Path=/api/auth", "HttpOnly", "SameSite=Strict")
}

// wantCookie checks that p sets cookie name with each of attrs, and
// returns its value.
func wantCookie(t *testing.T, p page, name string, attrs ...string) string {
	t.Helper()
	for _, raw := range p.header.Values("Set-Cookie") {
		rest, ok := strings.CutPrefix(raw, name+"=")
		if !ok {
			continue
		}
		for _, attr := range attrs {
			if !strings.Contains(raw, attr) {
				t.Errorf("cookie %q lacks %s", raw, attr)
			}
		}
		value, _, _ := strings.Cut(rest, ";")
		return value
	}
	t.Fatalf("no cookie %s was set", name)
	return ""
}

// wantRefreshWorks checks that the account page's first step, a refresh
// with the cookie, gives an access token for the profile of email.
func wantRefreshWorks(t *testing.T, v *visitor, email string) {
	t.Helper()
	status, body := v.api("POST", "/api/auth/refresh", "", nil)
	if status != http.StatusOK {
		t.Fatalf("refresh after the form sign-in: status %d, want 200: %v", status, body)
	}
	tok, _ := body["accessToken"].(string)
	status, body = v.api("GET", "/api/auth/profile", tok, nil)
	user, _ := body["user"].(map[string]any)
	if status != http.StatusOK || user["email"] != email {
		t.Fatalf("profile: status %d, body %v; want 200 for %s", status, body, email)
	}
}

func TestSignInFormWorksWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	srv.CreateUser(t, "ada@example.com", password, "USER")
	v := newVisitor(t, srv)

	p := v.post("/signin", url.Values{"email": {"ada@example.com"}, "password": {"Wrong-pass-1!"}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", p.status)
	}
	if !strings.Contains(p.body, "Invalid email or password.") {
		t.Errorf("wrong password: the page does not say so:\n%s", p.body)
	}
	if !strings.Contains(p.body, `value="ada@example.com"`) {
		t.Error("wrong password: the email was not kept in the form")
	}
	if v.cookie("/api/auth", "refreshToken") != "" {
		t.Fatal("wrong password: a refresh cookie was set")
	}

	wantRedirectToAccount(t, v.post("/signin", url.Values{"email": {"ada@example.com"},
		"password": {password}}))
	wantRefreshWorks(t, v, "ada@example.com")
}

var mfaTokenInput = regexp.MustCompile(`name="mfaToken" value="([^"]+)"`)

func TestSignInFormAsksForTheSecondFactor(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	srv.CreateUser(t, "grace@example.com", password, "USER")
	v := newVisitor(t, srv)
	secret := enableTOTP(t, v, v.signInAPI("grace@example.com", password))
	v = newVisitor(t, srv)

	p := v.post("/signin", url.Values{"email": {"grace@example.com"}, "password": {password}})
	m := mfaTokenInput.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("password step: status %d, want 200 with the code form:\n%s", p.status, p.body)
	}
	if v.cookie("/api/auth", "refreshToken") != "" {
		t.Fatal("a refresh cookie was set before the second factor")
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("code page Cache-Control = %q, want no-store", got)
	}

	p = v.post("/signin/mfa", url.Values{"mfaToken": {m[1]}, "code": {"000000"}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: status %d, want 401", p.status)
	}
	if got := fieldError(p.body, "code"); got != "That code is not right. Try again." {
		t.Errorf("wrong code: message next to the field = %q", got)
	}

	wantRedirectToAccount(t, v.post("/signin/mfa", url.Values{"mfaToken": {m[1]},
		"code": {code(t, srv, secret)}}))
	wantRefreshWorks(t, v, "grace@example.com")

	p = v.post("/signin/mfa", url.Values{"mfaToken": {m[1]}, "code": {code(t, srv, secret)}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Your sign-in expired") {
		t.Errorf("used step-up token: status %d, want 401 asking for the password again",
			p.status)
	}
}

func TestBackupCodeSignInFormSaysOnceHowManyAreLeft(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	_, codes := userWithTOTP(t, srv, "edith@example.com")
	v := newVisitor(t, srv)
	p := v.post("/signin", url.Values{"email": {"edith@example.com"}, "password": {password}})
	m := mfaTokenInput.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("password step: status %d, want the code form:\n%s", p.status, p.body)
	}

	// The post answers with a redirect, so that reloading the page it
	// leads to posts nothing again.
	p = v.post("/signin/mfa", url.Values{"mfaToken": {m[1]}, "backupCode": {codes[0]}})
	wantSignedInTo(t, p, "/signed-in")
	if n := wantCookie(t, p, "latchkey-codes-left", "Path=/;", "Max-Age=60", "HttpOnly",
		"SameSite=Strict"); n != "9" {
		t.Errorf("the cookie says %q backup codes are left, want 9", n)
	}
	wantRefreshWorks(t, v, "edith@example.com")

	p = v.get("/signed-in")
	said := strings.Contains(p.body, `<strong id="codes-left">9</strong>`)
	if p.status != http.StatusOK || !said {
		t.Fatalf("the page after the sign-in: status %d, want 200 saying 9 codes are left:\n%s",
			p.status, p.body)
	}
	wantCookie(t, p, "latchkey-codes-left", "Max-Age=0")

	// Shown once: again, it is the account page.
	p = v.get("/signed-in")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/account" {
		t.Errorf("the page again: status %d to %q, want 303 to /account", p.status,
			p.header.Get("Location"))
	}
}

func TestSignUpFormWorksWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	v := newVisitor(t, srv)

	p := v.post("/signup", url.Values{"email": {"lin@example.com"}, "password": {"short"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("weak password: status %d, want 400", p.status)
	}
	if fieldError(p.body, "password") == "" {
		t.Errorf("weak password: no message next to the password field:\n%s", p.body)
	}
	if !strings.Contains(p.body, `aria-invalid="true"`) {
		t.Error("weak password: the field is not marked invalid")
	}
	if status, _ := v.api("POST", "/api/auth/login", "", map[string]string{
		"email": "lin@example.com", "password": "short"}); status != http.StatusUnauthorized {
		t.Fatalf("weak password: the account exists (login status %d)", status)
	}

	wantRedirectToAccount(t, v.post("/signup", url.Values{"email": {"lin@example.com"},
		"username": {"lin"}, "password": {password}}))
	wantRefreshWorks(t, v, "lin@example.com")

	p = v.post("/signup", url.Values{"email": {"LIN@example.com"}, "password": {password}})
	if p.status != http.StatusConflict || fieldError(p.body, "email") == "" {
		t.Errorf("taken email: status %d, want 409 with a message next to the email", p.status)
	}
}

func TestFormPostsFromElsewhereAreRefused(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	good := newVisitor(t, srv)
	token := good.csrf("/signup")

	cases := []struct {
		name   string
		header http.Header
		form   url.Values
	}{
		{"without a form token", nil, url.Values{}},
		{"with a made-up form token", nil, url.Values{"csrf": {"forged"}}},
		{"with another visitor's form token", nil, url.Values{"csrf": {token}}},
		{"marked cross-site by the browser",
			http.Header{"Sec-Fetch-Site": {"cross-site"}}, nil},
		{"marked same-site by the browser",
			http.Header{"Sec-Fetch-Site": {"same-site"}}, nil},
		{"from another origin", http.Header{"Origin": {"https://evil.example"}}, nil},
		{"from an opaque origin", http.Header{"Origin": {"null"}}, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVisitor(t, srv)
			for k, vals := range tc.header {
				v.header[k] = vals
			}
			form := tc.form
			if form == nil {
				// A genuine token of this visitor: only the headers differ.
				form = url.Values{"csrf": {v.csrf("/signup")}}
			}
			if !form.Has("csrf") {
				v.get("/signup") // the visitor has a form cookie, but no token
			}
			email := "mallory" + string(rune('a'+i)) + "@example.com"
			form.Set("email", email)
			form.Set("password", password)
			p := v.postRaw("/signup", form)
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", p.status)
			}
			if !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("the refusal is not announced:\n%s", p.body)
			}
			if status, _ := v.api("POST", "/api/auth/login", "", map[string]string{
				"email": email, "password": password}); status != http.StatusUnauthorized {
				t.Errorf("the refused post created the account (login status %d)", status)
			}
		})
	}
}

// linkOf returns the token of the newest mail of kind to to.
func linkOf(t *testing.T, srv *testserver.Server, kind mail.Kind, to string) (string, string) {
	t.Helper()
	m, ok := srv.Mailbox.Last(kind, to)
	if !ok {
		t.Fatalf("no %s mail to %s", kind, to)
	}
	return m.Data.Link, m.Token()
}

func TestLinkPagesNeverUseTheirToken(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	srv.CreateUser(t, "ida@example.com", password, "USER")
	v := newVisitor(t, srv)
	tok := v.signInAPI("ida@example.com", password)
	if status, _ := v.api("POST", "/api/auth/email/verify/send", tok, nil); status != 202 {
		t.Fatalf("send verification: status %d", status)
	}
	link, verifyTok := linkOf(t, srv, mail.VerifyEmail, "ida@example.com")
	if !strings.HasPrefix(link, "http://latchkey.test/verify-email#token=") {
		t.Errorf("verification link %q does not open the verify page with a fragment", link)
	}
	if p := v.post("/forgot-password", url.Values{"email": {"ida@example.com"}}); p.status != 200 {
		t.Fatalf("forgot: status %d", p.status)
	}
	_, resetTok := linkOf(t, srv, mail.ResetPassword, "ida@example.com")

	// A mail scanner opens each link, some with the token in a query.
	for _, path := range []string{"/verify-email", "/verify-email?token=" + verifyTok,
		"/reset-password", "/reset-password?token=" + resetTok} {
		for range 2 {
			if p := newVisitor(t, srv).get(path); p.status != http.StatusOK {
				t.Fatalf("GET %s: status %d", path, p.status)
			}
		}
	}
	status, body := v.api("GET", "/api/auth/profile", tok, nil)
	if user, _ := body["user"].(map[string]any); status != 200 || user["emailVerified"] != false {
		t.Fatalf("after opening the link the email is verified: %v", body)
	}

	p := v.post("/verify-email", url.Values{"token": {verifyTok}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Your email address is verified.") {
		t.Fatalf("verify: status %d:\n%s", p.status, p.body)
	}
	p = v.post("/verify-email", url.Values{"token": {verifyTok}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "already used") {
		t.Errorf("verify again: status %d, want 401 saying the link is used", p.status)
	}

	p = v.post("/reset-password", url.Values{"token": {resetTok}, "password": {"New-Horse-9!"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Your password is changed") {
		t.Fatalf("reset: status %d:\n%s", p.status, p.body)
	}
	if status, _ := v.api("GET", "/api/auth/profile", tok, nil); status != 401 {
		t.Errorf("the session from before the reset still works: status %d", status)
	}
	v.signInAPI("ida@example.com", "New-Horse-9!")
}

func TestResetFormTakesAPastedLinkAndKeepsTheTokenOnAWeakPassword(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	srv.CreateUser(t, "joan@example.com", password, "USER")
	v := newVisitor(t, srv)
	v.post("/forgot-password", url.Values{"email": {"joan@example.com"}})
	link, tok := linkOf(t, srv, mail.ResetPassword, "joan@example.com")

	p := v.post("/reset-password", url.Values{"password": {"New-Horse-9!"}})
	if p.status != http.StatusBadRequest || fieldError(p.body, "token") == "" {
		t.Fatalf("no token: status %d, want 400 asking for it next to its field", p.status)
	}
	p = v.post("/reset-password", url.Values{"token": {link}, "password": {"weak"}})
	if p.status != http.StatusBadRequest || fieldError(p.body, "password") == "" {
		t.Fatalf("weak password: status %d, want 400 next to the password", p.status)
	}
	if !strings.Contains(p.body, `value="`+tok+`"`) {
		t.Error("weak password: the token was not kept in the form")
	}
	p = v.post("/reset-password", url.Values{"token": {link}, "password": {"New-Horse-9!"}})
	if p.status != http.StatusOK {
		t.Fatalf("pasted link: status %d:\n%s", p.status, p.body)
	}
	v.signInAPI("joan@example.com", "New-Horse-9!")
}

var (
	scriptTag  = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineCode = regexp.MustCompile(`(?is)<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	inputTag   = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	idAttr     = regexp.MustCompile(`\sid="([^"]+)"`)
)

func TestPagesHaveAStrictPolicyAndNoInlineCode(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	v := newVisitor(t, srv)
	for _, path := range []string{"/signin", "/signup", "/forgot-password", "/reset-password",
		"/verify-email", "/account", "/no-such-page"} {
		t.Run(path, func(t *testing.T) {
			p := v.get(path)
			csp := p.header.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "unsafe") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			for _, want := range []string{"form-action 'self'", "frame-ancestors 'none'",
				"base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
				}
			}
			if got := p.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			for _, m := range scriptTag.FindAllStringSubmatch(p.body, -1) {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("inline script: %s", m[0])
				}
			}
			if m := inlineCode.FindString(p.body); m != "" {
				t.Errorf("inline style or handler %q in the page", m)
			}
			for _, in := range inputTag.FindAllString(p.body, -1) {
				if strings.Contains(in, `type="hidden"`) || strings.Contains(in, " hidden") {
					continue
				}
				id := idAttr.FindStringSubmatch(in)
				if id == nil || !strings.Contains(p.body, `<label for="`+id[1]+`"`) {
					t.Errorf("input without a label: %s", in)
				}
				if !strings.Contains(in, "autocomplete=") {
					t.Errorf("input without autocomplete: %s", in)
				}
			}
		})
	}
}

func TestAccountPageAllowsOnlyDataImagesBeyondSelf(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	csp := newVisitor(t, srv).get("/account").header.Get("Content-Security-Policy")
	want := "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; " +
		"frame-ancestors 'none'; object-src 'none'"
	if csp != want {
		t.Errorf("account page policy\n got %q\nwant %q", csp, want)
	}
}

func TestAssetsAndTheBrowserClientAreServed(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{})
	v := newVisitor(t, srv)
	for path, ctype := range map[string]string{
		"/sdk/latchkey.js":   "text/javascript; charset=utf-8",
		"/assets/pages.js":   "text/javascript; charset=utf-8",
		"/assets/account.js": "text/javascript; charset=utf-8",
		"/assets/forms.js":   "text/javascript; charset=utf-8",
		"/assets/style.css":  "text/css; charset=utf-8",
	} {
		p := v.get(path)
		if p.status != 200 || p.header.Get("Content-Type") != ctype || p.body == "" {
			t.Errorf("GET %s: status %d, type %q; want 200 %s", path, p.status,
				p.header.Get("Content-Type"), ctype)
		}
		if etag := p.header.Get("ETag"); etag == "" {
			t.Errorf("GET %s: no ETag", path)
		}
	}
	if p := v.get("/assets/nothing.js"); p.status != http.StatusNotFound {
		t.Errorf("unknown asset: status %d, want 404", p.status)
	}
	if p := v.get("/api/auth/nothing"); p.status != 404 ||
		!strings.Contains(p.header.Get("Content-Type"), "json") {
		t.Errorf("unknown API route: status %d, type %q; want the API's JSON 404", p.status,
			p.header.Get("Content-Type"))
	}
}

func TestPagesLiveUnderTheirPrefix(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Web: true, WebPrefix: "/id"})
	srv.CreateUser(t, "kay@example.com", password, "USER")
	v := newVisitor(t, srv)
	for path, want := range map[string]int{
		"/id/signin": 200, "/id/sdk/latchkey.js": 200, "/signin": 404, "/id/": 303,
	} {
		if p := v.get(path); p.status != want {
			t.Errorf("GET %s: status %d, want %d", path, p.status, want)
		}
	}
	if p := v.get("/id/signin"); !strings.Contains(p.body, `action="/id/signin"`) ||
		!strings.Contains(p.body, `src="/id/assets/pages.js"`) {
		t.Errorf("the sign-in page does not point under the prefix:\n%s", p.body)
	}
	p := v.post("/id/signin", url.Values{"email": {"kay@example.com"}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/id/account" {
		t.Errorf("sign-in: status %d to %q, want 303 to /id/account", p.status,
			p.header.Get("Location"))
	}
	v.post("/id/forgot-password", url.Values{"email": {"kay@example.com"}})
	if link, _ := linkOf(t, srv, mail.ResetPassword, "kay@example.com"); !strings.HasPrefix(
		link, "http://latchkey.test/id/reset-password#token=") {
		t.Errorf("reset link %q does not open the page under the prefix", link)
	}
}

func TestFormSignInsSpendTheLoginBudget(t *testing.T) {
	t.Parallel()
	srv := start(t, testserver.Options{HTTP: httpapi.Options{RateLimits: httpapi.RateLimits{
		Limiter: ratelimit.NewMemoryLimiter(nil),
		General: ratelimit.Rule{Name: "api", Max: 100, Window: time.Hour},
		Login:   ratelimit.Rule{Name: "login", Max: 2, Window: time.Hour},
		Reset:   ratelimit.Rule{Name: "reset", Max: 3, Window: time.Hour},
	}}})
	srv.CreateUser(t, "lou@example.com", password, "USER")
	v := newVisitor(t, srv)
	for i := range 3 {
		p := v.post("/signin", url.Values{"email": {"lou@example.com"}, "password": {password}})
		if p.status != http.StatusSeeOther || p.header.Get("RateLimit-Remaining") != "2" {
			t.Fatalf("sign-in %d: status %d, RateLimit-Remaining %q; want 303 and 2 "+
				"(a success costs nothing)", i+1, p.status, p.header.Get("RateLimit-Remaining"))
		}
	}
	for i := range 2 {
		p := v.post("/signin", url.Values{"email": {"lou@example.com"}, "password": {"Bad-pass-1!"}})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, p.status)
		}
	}
	p := v.post("/signin", url.Values{"email": {"lou@example.com"}, "password": {password}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Errorf("third attempt: status %d, Retry-After %q; want 429 with Retry-After",
			p.status, p.header.Get("Retry-After"))
	}
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(p.body, "Too many requests") || !strings.Contains(p.body, `id="signin-form"`) {
		t.Errorf("third attempt: want the sign-in form again with the reason, got %q:\n%s",
			p.header.Get("Content-Type"), p.body)
	}
}
