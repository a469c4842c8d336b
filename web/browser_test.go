package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/testserver"
)

// The browser tests drive Debian's Chromium through the DevTools protocol
// with chromedp: a Go library, so the tests need no Node toolchain and no
// driver binary, and chromedp starts the installed browser rather than
// downloading one of its own.

// chromiumPath returns the browser to drive: LATCHKEY_CHROMIUM or Debian's.
// Without one the test is skipped, except on CI, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("LATCHKEY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Chromium at %s: %v", path, err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium): %v", path, err)
	}
	return path
}

// tab is one browser tab with the server it talks to. Errors the page's
// scripts throw and policy violations it logs fail the test.
type tab struct {
	t   *testing.T
	ctx context.Context
	srv *testserver.Server
	mu  sync.Mutex
	// problems are script exceptions and logged errors, such as a
	// Content-Security-Policy violation.
	problems []string
	// lastBearer is the access token of the tab's latest API request.
	lastBearer string
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// its first tab.
func newBrowser(t *testing.T, srv *testserver.Server) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	return openTab(t, srv, ctx)
}

// openTab opens a tab in the browser of ctx.
func openTab(t *testing.T, srv *testserver.Server, parent context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, srv: srv}
	if err := chromedp.Listen(ctx, tb.note); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("in the browser: %s", p)
		}
	})
	return tb
}

func (tb *tab) note(ev any) {
	var p string
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.noteBearer(ev.Request.Headers)
		return
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			p += " " + ex.Description
		}
	case *log.EventEntryAdded:
		// Answers such as a 401 are logged as network errors; they are
		// expected. Anything else at error level is not.
		if ev.Entry.Level != log.EntryLevelError || ev.Entry.Source == log.EntrySourceNetwork {
			return
		}
		p = fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text)
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.problems = append(tb.problems, p)
}

// noteBearer keeps the access token of a request's Authorization header.
func (tb *tab) noteBearer(h network.Headers) {
	for k, v := range h {
		s, _ := v.(string)
		tok, ok := strings.CutPrefix(s, "Bearer ")
		if !strings.EqualFold(k, "Authorization") || !ok {
			continue
		}
		tb.mu.Lock()
		tb.lastBearer = tok
		tb.mu.Unlock()
	}
}

// bearer returns the access token the page sent with its latest API
// request. The token lives in the page's memory only; the browser's
// network log is where a test can see it.
func (tb *tab) bearer() string {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.lastBearer == "" {
		tb.t.Fatal("the page has sent no access token")
	}
	return tb.lastBearer
}

// refreshCookie returns the refresh token cookie the browser holds for
// the API, or "" when it holds none. Scripts cannot read it: it is
// HttpOnly.
func (tb *tab) refreshCookie() string {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies,
		network.GetCookiesParams{URLs: []string{tb.srv.URL + "/api/auth/refresh"}})
	if err != nil {
		tb.t.Fatalf("read the browser's cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "refreshToken" {
			return c.Value
		}
	}
	return ""
}

// do runs steps within a deadline that names the step on failure.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open loads path and waits for the element sel.
func (tb *tab) open(path, sel string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// fill types value into the input with id.
func (tb *tab) fill(id, value string) {
	tb.t.Helper()
	eval[bool](tb, `(document.getElementById("`+id+`").value = "") === ""`)
	tb.do("fill #"+id, chromedp.SendKeys(chromedp.ID(id), value))
}

// click clicks sel.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// text returns the text of sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// location returns the address of the tab's page.
func (tb *tab) location() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatalf("the tab's address: %v", err)
	}
	return loc
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		tb.t.Fatalf("waiting until %s: %v", what, err)
	}
}

// screenshotDir is where the tests leave screenshots of the pages:
// LATCHKEY_SCREENSHOTS, or data/screenshots of the repository, which git
// ignores.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LATCHKEY_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "data", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// viewports are the widths the pages are shot at.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 900, false},
	{"phone", 390, 844, true},
}

// shoot saves the page at each viewport as name-<viewport>.png and goes
// back to the desktop size.
func (tb *tab) shoot(name string) {
	tb.t.Helper()
	dir := screenshotDir(tb.t)
	for _, vp := range viewports {
		var opts []chromedp.EmulateViewportOption
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		tb.do("resize for "+name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(dir, name+"-"+vp.name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do("resize back", chromedp.EmulateViewport(1280, 900))
}

// scriptOff turns JavaScript off in the tab, as a visitor may have it.
func (tb *tab) scriptOff() {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		tb.t.Fatalf("turn JavaScript off: %v", err)
	}
}

// signIn sends the sign-in form with email and pw. What comes next, the
// account page, the code step or an error, is for the caller to wait for.
func (tb *tab) signIn(email, pw string) {
	tb.t.Helper()
	tb.open("/signin", "#signin-form")
	tb.fill("email", email)
	tb.fill("password", pw)
	tb.click("#signin-form button[type=submit]")
}

// shownCodes returns the backup codes the account page lists.
func (tb *tab) shownCodes() []string {
	tb.t.Helper()
	return eval[[]string](tb,
		`[...document.querySelectorAll("#backup-codes li")].map(li => li.textContent)`)
}

// newCodes waits for the account page to show a new set of backup codes
// and returns them.
func (tb *tab) newCodes() []string {
	tb.t.Helper()
	tb.do("backup codes", chromedp.WaitVisible(chromedp.ID("mfa-codes")))
	codes := tb.shownCodes()
	if len(codes) != 10 {
		tb.t.Fatalf("got %d backup codes, want 10", len(codes))
	}
	return codes
}

// wantCodesDownload checks that the account page offers codes as a text
// file to download.
func (tb *tab) wantCodesDownload(codes []string) {
	tb.t.Helper()
	href := eval[string](tb, `document.getElementById("codes-download").href`)
	prefix := "data:text/plain;charset=utf-8,"
	if !strings.HasPrefix(href, prefix) {
		tb.t.Fatalf("backup codes download link %q is not a text file", href)
	}
	file, err := url.PathUnescape(strings.TrimPrefix(href, prefix))
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, c := range codes {
		if !strings.Contains(file, c) {
			tb.t.Errorf("the downloadable file lacks backup code %s:\n%s", c, file)
		}
	}
	if got := eval[string](tb, `document.getElementById("codes-download").download`); got == "" {
		tb.t.Error("the backup codes link does not download")
	}
}

// rows is the number of rows in the sessions table.
const rows = `document.querySelectorAll("#sessions tr").length`

func TestAccountLifecycleInABrowser(t *testing.T) {
	srv := start(t, testserver.Options{})
	tb := newBrowser(t, srv)
	const email = "margaret@example.com"

	// Sign up.
	tb.open("/signup", "#signup-form")
	tb.shoot("signup")
	tb.fill("email", email)
	tb.fill("password", "short")
	tb.click("#signup-form button[type=submit]")
	tb.waitFor("the password is refused next to its field",
		`document.getElementById("password-error").textContent.length > 0`)
	if got := eval[string](tb, `document.getElementById("password").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("refused password: aria-invalid = %q, want true", got)
	}
	tb.shoot("signup-error")
	tb.fill("password", password)
	tb.click("#signup-form button[type=submit]")
	tb.do("account page", chromedp.WaitVisible(chromedp.CSS("#account")))
	if got := tb.text("#profile-email"); got != email {
		t.Errorf("profile email = %q, want %q", got, email)
	}
	if got := tb.text("#profile-verified"); got != "No" {
		t.Errorf("email verified = %q, want No", got)
	}
	if !eval[bool](tb, `document.querySelector("#history-empty:not([hidden])") !== null &&
		document.getElementById("history").closest("table").hidden`) {
		t.Error("a new account's empty sign-in history is not said to be empty")
	}

	// Verify the email address from the mailed link.
	tb.click("#send-verification")
	tb.waitFor("the verification is sent", `!document.getElementById("profile-status").hidden`)
	tb.shoot("account-new")
	link, tok := linkOf(t, srv, "verify_email", email)
	if !strings.HasSuffix(link, "/verify-email#token="+tok) {
		t.Fatalf("verification link %q", link)
	}
	tb.open("/verify-email#token="+tok, "#verify-form")
	if !eval[bool](tb, `document.getElementById("token-group").hidden`) {
		t.Error("the token from the link was not taken into the form")
	}
	if got := eval[string](tb, `location.hash`); got != "" {
		t.Errorf("the token stayed in the address bar: hash %q", got)
	}
	tb.shoot("verify-email")
	tb.click("#verify-form button[type=submit]")
	tb.do("verified", chromedp.WaitVisible(chromedp.ID("verify-done")))
	tb.shoot("verify-email-done")
	tb.open("/account", "#account")
	if got := tb.text("#profile-verified"); got != "Yes" {
		t.Errorf("after verifying, email verified = %q, want Yes", got)
	}

	// Enrol two-factor authentication with the key shown beside the QR code.
	tb.click("#mfa-start")
	tb.do("QR code", chromedp.WaitVisible(chromedp.ID("mfa-qr")))
	tb.waitFor("the QR code is drawn", `document.getElementById("mfa-qr").naturalWidth > 0`)
	secret := tb.text("#mfa-secret")
	tb.shoot("account-2fa-setup")
	tb.fill("enable-code", code(t, srv, secret))
	tb.click("#mfa-enable-form button[type=submit]")
	codes := tb.newCodes()
	tb.wantCodesDownload(codes)
	tb.shoot("account-backup-codes")
	tb.click("#codes-done")
	tb.do("2FA on", chromedp.WaitVisible(chromedp.ID("mfa-on")))
	if n := eval[int](tb, `document.querySelectorAll("#backup-codes li").length`); n != 0 {
		t.Errorf("the backup codes are still in the page (%d)", n)
	}

	// Sign out: the tab's session ends on the server, not only in the page.
	held, heldCookie := tb.bearer(), tb.refreshCookie()
	outsider := newVisitor(t, srv)
	if status, _ := outsider.api("GET", "/api/auth/profile", held, nil); status != 200 {
		t.Fatalf("the tab's access token before signing out: status %d, want 200", status)
	}
	if heldCookie == "" {
		t.Fatal("the browser holds no refresh cookie before signing out")
	}
	tb.click("#signout")
	tb.do("signed out", chromedp.WaitVisible(chromedp.ID("signin-form")))
	if status, _ := outsider.api("GET", "/api/auth/profile", held, nil); status != 401 {
		t.Errorf("the signed-out tab's access token: status %d, want 401", status)
	}
	if status := outsider.refreshWith(heldCookie); status != 401 {
		t.Errorf("the signed-out tab's refresh cookie: status %d, want 401", status)
	}
	if c := tb.refreshCookie(); c != "" {
		t.Error("the refresh cookie stayed in the browser after signing out")
	}
	tb.shoot("signin")
	tb.fill("email", email)
	tb.fill("password", password)
	tb.click("#signin-form button[type=submit]")
	tb.do("code step", chromedp.WaitVisible(chromedp.ID("mfa-step")))
	srv.Clock.Advance(30 * time.Second)
	tb.fill("code", "000000")
	tb.click("#mfa-code-form button[type=submit]")
	tb.waitFor("the wrong code is refused next to its field",
		`document.getElementById("code-error").textContent.length > 0`)
	tb.shoot("signin-2fa")
	tb.fill("code", code(t, srv, secret))
	tb.click("#mfa-code-form button[type=submit]")
	tb.do("account after 2FA", chromedp.WaitVisible(chromedp.CSS("#account")))

	// Revoke another device's session from the account page.
	other := newVisitor(t, srv)
	otherTok := signInWithTOTP(t, other, email, password, secret)
	keeper := newVisitor(t, srv)
	keeperTok := signInWithTOTP(t, keeper, email, password, secret)
	tb.click("#reload-sessions")
	tb.waitFor("three sessions are listed", rows+` === 3`)
	if n := eval[int](tb, `document.querySelectorAll("#sessions .badge").length`); n != 1 {
		t.Errorf("%d sessions are marked as this device, want 1", n)
	}
	tb.shoot("account")
	otherID := sessionID(t, other, otherTok)
	tb.click(`#sessions tr[data-session="` + otherID + `"] button.revoke`)
	tb.waitFor("two sessions are left", rows+` === 2`)
	if status, _ := other.api("GET", "/api/auth/profile", otherTok, nil); status != 401 {
		t.Errorf("the revoked session still works: status %d", status)
	}
	if status, _ := keeper.api("GET", "/api/auth/profile", keeperTok, nil); status != 200 {
		t.Errorf("a session that was not revoked stopped working: status %d", status)
	}

	// Forget the password and reset it from the mailed link.
	tb.open("/forgot-password", "#forgot-form")
	tb.shoot("forgot-password")
	tb.fill("email", email)
	tb.click("#forgot-form button[type=submit]")
	tb.do("forgot sent", chromedp.WaitVisible(chromedp.ID("forgot-done")))
	tb.shoot("forgot-password-done")
	_, resetTok := linkOf(t, srv, "reset_password", email)
	tb.open("/reset-password#token="+resetTok, "#reset-form")
	tb.shoot("reset-password")
	const newPassword = "Brand-New-Horse-7!"
	tb.fill("password", newPassword)
	tb.click("#reset-form button[type=submit]")
	tb.do("reset done", chromedp.WaitVisible(chromedp.ID("reset-done")))
	tb.shoot("reset-password-done")

	// Every session from before the reset is gone, this browser's too.
	if status, _ := keeper.api("GET", "/api/auth/profile", keeperTok, nil); status != 401 {
		t.Errorf("a session from before the reset still works: status %d", status)
	}
	if status, _ := keeper.api("POST", "/api/auth/refresh", "", nil); status != 401 {
		t.Errorf("a refresh token from before the reset still works: status %d", status)
	}
	tb.open("/account", "#signin-form")
	tb.fill("email", email)
	tb.fill("password", newPassword)
	tb.click("#signin-form button[type=submit]")
	tb.do("code step with the new password", chromedp.WaitVisible(chromedp.ID("mfa-step")))
	srv.Clock.Advance(30 * time.Second)
	tb.fill("code", code(t, srv, secret))
	tb.click("#mfa-code-form button[type=submit]")
	tb.do("account with the new password", chromedp.WaitVisible(chromedp.CSS("#account")))
	tb.waitFor("one session is listed", rows+` === 1`)

	tb.open("/no-such-page", "h1")
	tb.shoot("not-found")
}

// signInWithTOTP signs in through the API, as another device, and returns
// the access token.
func signInWithTOTP(t *testing.T, v *visitor, email, pw, secret string) string {
	t.Helper()
	mfaToken := mfaChallenge(t, v, email, pw)
	v.srv.Clock.Advance(30 * time.Second)
	status, body := v.api("POST", "/api/auth/login/mfa", "", map[string]string{
		"mfaToken": mfaToken, "code": code(t, v.srv, secret)})
	tok, _ := body["accessToken"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("login/mfa: status %d: %v", status, body)
	}
	return tok
}

// mfaChallenge sends the password step through the API and returns the
// step-up token the second factor needs.
func mfaChallenge(t *testing.T, v *visitor, email, pw string) string {
	t.Helper()
	status, body := v.api("POST", "/api/auth/login", "", map[string]string{
		"email": email, "password": pw})
	mfaToken, _ := body["mfaToken"].(string)
	if status != http.StatusOK || mfaToken == "" {
		t.Fatalf("login: status %d, want 200 with an mfaToken: %v", status, body)
	}
	return mfaToken
}

// sessionID returns the ID of the session of tok.
func sessionID(t *testing.T, v *visitor, tok string) string {
	t.Helper()
	_, body := v.api("GET", "/api/auth/sessions", tok, nil)
	list, _ := body["sessions"].([]any)
	for _, s := range list {
		m, _ := s.(map[string]any)
		if m["current"] == true {
			id, _ := m["id"].(string)
			return id
		}
	}
	t.Fatalf("no current session in %v", body)
	return ""
}

// refreshCounter counts the refresh requests that reach the API.
type refreshCounter struct {
	mu sync.Mutex
	n  int
}

func (c *refreshCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/auth/refresh" {
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (c *refreshCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestTwoTabsPastTheTokenLifetimeRefreshOnce(t *testing.T) {
	counter := &refreshCounter{}
	srv := start(t, testserver.Options{Wrap: counter.wrap})
	srv.CreateUser(t, "hedy@example.com", password, "USER")
	first := newBrowser(t, srv)
	first.open("/signin", "#signin-form")
	first.fill("email", "hedy@example.com")
	first.fill("password", password)
	first.click("#signin-form button[type=submit]")
	first.do("first tab", chromedp.WaitVisible(chromedp.CSS("#account")))
	second := openTab(t, srv, first.ctx)
	second.open("/account", "#account")

	// Both tabs hold a token. The server's clock passes its lifetime, and
	// both tabs call the API at once: each gets a 401 and needs a new one.
	before := counter.count()
	srv.Clock.Advance(16 * time.Minute)
	for _, tb := range []*tab{first, second} {
		eval[bool](tb, `document.getElementById("sessions").replaceChildren() === undefined`)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, tb := range []*tab{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
			defer cancel()
			err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("reload-sessions")))
			if err == nil {
				_, err = chromedp.Run(ctx, chromedp.Poll[bool](rows+` === 1`))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("reloading the sessions: %v", err)
	}

	if got := counter.count() - before; got != 1 {
		t.Errorf("the two tabs sent %d refresh requests, want 1", got)
	}
	for i, tb := range []*tab{first, second} {
		if !eval[bool](tb, `document.getElementById("form-error").hidden`) {
			t.Errorf("tab %d shows an error: %s", i+1, tb.text("#form-error"))
		}
	}
}

func TestFormsWorkInABrowserWithJavaScriptOff(t *testing.T) {
	srv := start(t, testserver.Options{})
	srv.CreateUser(t, "alan@example.com", password, "USER")
	api := newVisitor(t, srv)
	secret := enableTOTP(t, api, api.signInAPI("alan@example.com", password))
	tb := newBrowser(t, srv)
	tb.scriptOff()

	// The browser's own form posts pass the origin checks and the token.
	tb.open("/signin", "#signin-form")
	tb.fill("email", "alan@example.com")
	tb.fill("password", password)
	tb.click("#signin-form button[type=submit]")
	tb.do("code page", chromedp.WaitVisible(chromedp.ID("mfa-code-form")))
	tb.shoot("nojs-signin-2fa")
	tb.fill("code", code(t, srv, secret))
	tb.click("#mfa-code-form button[type=submit]")
	tb.do("account page", chromedp.WaitReady(chromedp.ID("loading")))
	if got, err := chromedp.Run(tb.ctx, chromedp.Location()); err != nil ||
		!strings.HasSuffix(got, "/account") {
		t.Fatalf("after the code: at %q (%v), want the account page", got, err)
	}
	tb.shoot("nojs-account")
	if n := len(sessions(t, srv, "alan@example.com")); n != 2 {
		t.Errorf("%d sessions after the form sign-in, want 2", n)
	}

	// Without JavaScript the fragment stays unread: the link is pasted.
	api.post("/forgot-password", url.Values{"email": {"alan@example.com"}})
	link, _ := linkOf(t, srv, "reset_password", "alan@example.com")
	tb.open("/reset-password#token=whatever", "#reset-form")
	if !eval[bool](tb, `!document.getElementById("token-group").hidden`) {
		t.Error("without JavaScript the field for the link is hidden")
	}
	tb.shoot("nojs-reset-password")
	tb.fill("token", link)
	tb.fill("password", "Other-Horse-5!")
	tb.click("#reset-form button[type=submit]")
	tb.do("reset done", chromedp.WaitVisible(chromedp.ID("reset-done")))
	if n := len(sessions(t, srv, "alan@example.com")); n != 0 {
		t.Errorf("%d sessions after the reset, want 0", n)
	}
}

// sessions lists the live sessions of the account email, as the store
// holds them.
func sessions(t *testing.T, srv *testserver.Server, email string) []string {
	t.Helper()
	ctx := context.Background()
	u, err := srv.Store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	list, err := srv.Store.ListSessions(ctx, u.ID, srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}
