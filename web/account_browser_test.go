package web_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/internal/testserver"
)

// The account page's settings and the backup code sign-in, driven in
// Chromium and checked over HTTP from outside the browser.

// errorOf is the message the page shows next to input id.
func errorOf(tb *tab, id string) string {
	tb.t.Helper()
	return eval[string](tb, `document.getElementById("`+id+`-error").textContent.trim()`)
}

// invalid reports whether input id is marked invalid.
func invalid(tb *tab, id string) bool {
	tb.t.Helper()
	return eval[bool](tb, `document.getElementById("`+id+`").getAttribute("aria-invalid") === "true"`)
}

// waitForError waits until the page shows a message next to input id.
func (tb *tab) waitForError(id string) string {
	tb.t.Helper()
	tb.waitFor("a message next to #"+id,
		`document.getElementById("`+id+`-error").textContent.length > 0`)
	return errorOf(tb, id)
}

// wrongCode returns six digits that are no TOTP code of secret near the
// server's time, so that a test of a refusal cannot pass by chance.
func wrongCode(t *testing.T, srv *testserver.Server, secret string) string {
	t.Helper()
	now := srv.Clock.Now()
	var near []string
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := totp.GenerateCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		near = append(near, c)
	}
	for d := range 10 {
		c := strings.Repeat(strconv.Itoa(d), 6)
		if !slices.Contains(near, c) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// signInWithBackupCode signs in through the API with a backup code and
// returns the status of the second step and its answer.
func signInWithBackupCode(t *testing.T, v *visitor, email, pw, backup string) (
	int, map[string]any) {
	t.Helper()
	return v.api("POST", "/api/auth/login/mfa", "", map[string]string{
		"mfaToken": mfaChallenge(t, v, email, pw), "backupCode": backup})
}

func TestChangePasswordFromTheAccountPage(t *testing.T) {
	srv := start(t, testserver.Options{})
	const email = "barbara@example.com"
	const newPassword = "Brand-New-Horse-7!"
	srv.CreateUser(t, email, password, "USER")
	other := newVisitor(t, srv)
	otherTok := other.signInAPI(email, password)
	tb := newBrowser(t, srv)
	tb.signIn(email, password)
	tb.do("account page", chromedp.WaitVisible(chromedp.ID("account")))
	tb.waitFor("two sessions are listed", rows+` === 2`)

	// A wrong current password is refused next to its field and changes
	// nothing.
	tb.fill("current-password", "Not-My-Password-1!")
	tb.fill("new-password", newPassword)
	tb.click("#password-form button[type=submit]")
	if got, want := tb.waitForError("current-password"),
		"The current password is incorrect."; got != want {
		t.Errorf("wrong current password: message %q, want %q", got, want)
	}
	if !invalid(tb, "current-password") {
		t.Error("wrong current password: the field is not marked invalid")
	}
	if !eval[bool](tb, `document.getElementById("password-status").hidden`) {
		t.Errorf("wrong current password: the page says %q", tb.text("#password-status"))
	}
	if status, _ := other.api("GET", "/api/auth/profile", otherTok, nil); status != 200 {
		t.Errorf("a refused change ended another session: status %d, want 200", status)
	}
	tb.shoot("account-password-error")

	// The right one changes the password.
	tb.fill("current-password", password)
	tb.fill("new-password", newPassword)
	tb.click("#password-form button[type=submit]")
	tb.waitFor("the change is confirmed", `!document.getElementById("password-status").hidden`)
	want := "Your password is changed. Your other sessions were signed out."
	if got := tb.text("#password-status"); got != want {
		t.Errorf("after the change the page says %q, want %q", got, want)
	}
	if got := errorOf(tb, "current-password"); got != "" || invalid(tb, "current-password") {
		t.Errorf("after the change the old refusal %q is still shown", got)
	}
	if got := eval[string](tb, `document.getElementById("current-password").value +
		document.getElementById("new-password").value`); got != "" {
		t.Error("the passwords stayed in the form after the change")
	}
	if got := eval[string](tb, `document.getElementById("password-username").value`); got != email {
		t.Errorf("the form's account name for password managers = %q, want %q", got, email)
	}
	tb.waitFor("one session is listed", rows+` === 1`)
	tb.shoot("account-password-changed")

	// The other session ended; this one goes on, token and cookie.
	if status, _ := other.api("GET", "/api/auth/profile", otherTok, nil); status != 401 {
		t.Errorf("the other session's access token: status %d, want 401", status)
	}
	if status, _ := other.api("POST", "/api/auth/refresh", "", nil); status != 401 {
		t.Errorf("the other session's refresh cookie: status %d, want 401", status)
	}
	outsider := newVisitor(t, srv)
	if status, _ := outsider.api("GET", "/api/auth/profile", tb.bearer(), nil); status != 200 {
		t.Errorf("this tab's access token: status %d, want 200", status)
	}
	tb.open("/account", "#account")
	tb.waitFor("one session is listed after a reload", rows+` === 1`)

	// Only the new password signs in.
	status, _ := outsider.api("POST", "/api/auth/login", "", map[string]string{
		"email": email, "password": password})
	if status != 401 {
		t.Errorf("sign-in with the old password: status %d, want 401", status)
	}
	tb.click("#signout")
	tb.do("signed out", chromedp.WaitVisible(chromedp.ID("signin-form")))
	tb.signIn(email, newPassword)
	tb.do("account with the new password", chromedp.WaitVisible(chromedp.ID("account")))
	if got := tb.text("#profile-email"); got != email {
		t.Errorf("signed in with the new password as %q, want %q", got, email)
	}
}

func TestTwoFactorSettingsFromTheAccountPage(t *testing.T) {
	srv := start(t, testserver.Options{})
	const email = "katherine@example.com"
	secret, oldCodes := userWithTOTP(t, srv, email)
	tb := newBrowser(t, srv)
	tb.signIn(email, password)
	tb.do("code step", chromedp.WaitVisible(chromedp.ID("mfa-step")))
	tb.fill("code", code(t, srv, secret))
	tb.click("#mfa-code-form button[type=submit]")
	tb.do("2FA shown on", chromedp.WaitVisible(chromedp.ID("mfa-on")))

	// New backup codes take a current code from the app.
	tb.click("#mfa-regenerate > summary")
	tb.fill("regen-code", wrongCode(t, srv, secret))
	tb.click("#mfa-regenerate-form button[type=submit]")
	if got, want := tb.waitForError("regen-code"),
		"The code is invalid, expired or already used."; got != want {
		t.Errorf("wrong code for new backup codes: message %q, want %q", got, want)
	}
	srv.Clock.Advance(30 * time.Second)
	tb.fill("regen-code", code(t, srv, secret))
	tb.click("#mfa-regenerate-form button[type=submit]")
	newCodes := tb.newCodes()
	for _, c := range newCodes {
		if slices.Contains(oldCodes, c) {
			t.Errorf("new backup code %s is one of the old ones", c)
		}
	}
	tb.wantCodesDownload(newCodes)
	tb.shoot("account-new-backup-codes")
	tb.click("#codes-done")
	tb.do("2FA on again", chromedp.WaitVisible(chromedp.ID("mfa-on")))
	if n := len(tb.shownCodes()); n != 0 {
		t.Errorf("the new backup codes are still in the page (%d)", n)
	}

	// The old codes stopped working; the new ones work.
	v := newVisitor(t, srv)
	if status, _ := signInWithBackupCode(t, v, email, password, oldCodes[0]); status != 401 {
		t.Errorf("sign-in with an old backup code: status %d, want 401", status)
	}
	status, body := signInWithBackupCode(t, v, email, password, newCodes[0])
	if status != 200 || body["backupCodesRemaining"] != 9.0 {
		t.Errorf("sign-in with a new backup code: status %d, %v; want 200 with 9 left",
			status, body["backupCodesRemaining"])
	}

	// Turning 2FA off takes the password and a code.
	tb.click("#mfa-disable > summary")
	srv.Clock.Advance(30 * time.Second)
	tb.fill("disable-code", code(t, srv, secret))
	tb.click("#mfa-disable-form button[type=submit]")
	if got, want := tb.waitForError("disable-password"), "Password is required."; got != want {
		t.Errorf("no password: message %q, want %q", got, want)
	}
	tb.fill("disable-password", "Not-My-Password-1!")
	tb.click("#mfa-disable-form button[type=submit]")
	tb.waitFor("the wrong password is named", `document.getElementById("disable-password-error")
		.textContent === "The password is incorrect."`)
	if !invalid(tb, "disable-password") || invalid(tb, "disable-code") {
		t.Error("wrong password: the wrong field is marked invalid")
	}
	tb.shoot("account-2fa-disable-error")
	tb.fill("disable-password", password)
	tb.fill("disable-code", code(t, srv, secret))
	tb.click("#mfa-disable-form button[type=submit]")
	tb.do("2FA shown off", chromedp.WaitVisible(chromedp.ID("mfa-off")))
	tb.shoot("account-2fa-off")
	tb.open("/account", "#mfa-off")
	if !eval[bool](tb, `document.getElementById("mfa-on").hidden`) {
		t.Error("after a reload the page says 2FA is on")
	}
	status, body = newVisitor(t, srv).api("POST", "/api/auth/login", "", map[string]string{
		"email": email, "password": password})
	if tok, _ := body["accessToken"].(string); status != 200 || tok == "" {
		t.Errorf("sign-in after turning 2FA off: status %d, %v; want 200 with tokens",
			status, body)
	}
}

func TestSignInWithABackupCodeInABrowser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script bool
		shot   string
	}{
		{"with JavaScript", true, "signin-backup-code"},
		{"without JavaScript", false, "nojs-signin-backup-code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := start(t, testserver.Options{})
			const email = "frances@example.com"
			_, codes := userWithTOTP(t, srv, email)
			tb := newBrowser(t, srv)
			if !tc.script {
				tb.scriptOff()
			}

			tb.signIn(email, password)
			tb.do("code step", chromedp.WaitVisible(chromedp.ID("mfa-code-form")))
			tb.click("#backup-step > summary")
			tb.fill("backupCode", "aaaaa-bbbbb")
			tb.click("#mfa-backup-form button[type=submit]")
			tb.do("refusal in view", chromedp.WaitVisible(chromedp.ID("backupCode-error")))
			if !eval[bool](tb, `document.getElementById("backup-step").open`) {
				t.Error("wrong backup code: its message is folded away with the form")
			}
			if got, want := errorOf(tb, "backupCode"),
				"That code is not right. Try again."; got != want {
				t.Errorf("wrong backup code: message %q, want %q", got, want)
			}
			if !invalid(tb, "backupCode") {
				t.Error("wrong backup code: the field is not marked invalid")
			}
			tb.shoot(tc.shot + "-error")

			tb.fill("backupCode", codes[0])
			tb.click("#mfa-backup-form button[type=submit]")
			tb.do("codes left", chromedp.WaitVisible(chromedp.ID("codes-left")))
			if got := tb.text("main h1"); got != "You are signed in" {
				t.Errorf("heading %q, want You are signed in", got)
			}
			if got := tb.text("#codes-left") + " " + tb.text("#codes-noun"); got != "9 codes" {
				t.Errorf("the page says %q backup codes are left, want 9 codes", got)
			}
			tb.shoot(tc.shot)

			if n := len(sessions(t, srv, email)); n != 2 {
				t.Errorf("%d sessions after the backup code, want 2", n)
			}
			status, _ := signInWithBackupCode(t, newVisitor(t, srv), email, password, codes[0])
			if status != 401 {
				t.Errorf("the used backup code again: status %d, want 401", status)
			}
			if tc.script {
				tb.click("#continue")
				tb.do("account page", chromedp.WaitVisible(chromedp.ID("account")))
				return
			}

			// The notice is the answer to a GET: reloading it posts nothing
			// and, said once, goes on to the account page.
			if got := tb.location(); !strings.HasSuffix(got, "/signed-in") {
				t.Errorf("the notice is at %q, want /signed-in", got)
			}
			next := eval[string](tb, `document.getElementById("continue").pathname`)
			if next != "/account" {
				t.Errorf("the notice continues to %q, want /account", next)
			}
			tb.do("reload", chromedp.Reload())
			tb.do("account page", chromedp.WaitReady(chromedp.ID("loading")))
			if got := tb.location(); !strings.HasSuffix(got, "/account") {
				t.Errorf("after reloading the notice: at %q, want the account page", got)
			}
			if n := len(sessions(t, srv, email)); n != 2 {
				t.Errorf("%d sessions after reloading the notice, want 2", n)
			}
		})
	}
}

func TestSignInHistoryOnTheAccountPage(t *testing.T) {
	srv := start(t, testserver.Options{})
	const email = "mary@example.com"
	srv.CreateUser(t, email, password, "USER")
	tb := newBrowser(t, srv)
	failedAt := srv.Clock.Now()
	tb.signIn(email, "Not-My-Password-1!")
	tb.waitFor("the password is refused", `!document.getElementById("form-error").hidden`)
	srv.Clock.Advance(time.Minute)
	signedInAt := srv.Clock.Now()
	tb.signIn(email, password)
	tb.do("account page", chromedp.WaitVisible(chromedp.ID("account")))
	tb.waitFor("two attempts are listed", `document.querySelectorAll("#history tr").length === 2`)
	tb.shoot("account-history")

	got := eval[[][]string](tb, `[...document.querySelectorAll("#history tr")].map(tr =>
		[...tr.cells].map(td => td.textContent).concat(tr.cells[1].title, tr.cells[3].className))`)
	ua := eval[string](tb, `navigator.userAgent`)
	// The page writes times in the browser's locale; so does the want.
	when := func(at time.Time) string {
		return eval[string](tb, `new Date(`+strconv.FormatInt(at.UnixMilli(), 10)+
			`).toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"})`)
	}
	// The tests drive Chromium on Linux.
	const device = "Chrome on Linux"
	want := [][]string{
		{when(signedInAt), device, "127.0.0.1", "Signed in", ua, "ok"},
		{when(failedAt), device, "127.0.0.1", "Refused (invalid credentials)", ua, "refused"},
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("history row %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

// phoneFit is where an element sits at phone width, in CSS pixels.
type phoneFit struct {
	Left, Right float64
	// Seen is whether the element is what the browser finds at both of
	// its ends, so that nothing covers or clips it.
	Seen bool
	// Viewport and Page are the widths of the window and of the document.
	Viewport, Page float64
}

// fitOf scrolls the window down to sel and measures it.
func fitOf(tb *tab, sel string) phoneFit {
	tb.t.Helper()
	return eval[phoneFit](tb, `(() => {
		const el = document.querySelector(`+"`"+sel+"`"+`);
		// Only the window scrolls, and only down: a table that scrolls
		// sideways must not be scrolled to the element for it.
		scrollTo(0, el.getBoundingClientRect().top + scrollY - innerHeight / 2);
		const r = el.getBoundingClientRect();
		const y = r.top + r.height / 2;
		const at = (x) => el.contains(document.elementFromPoint(x, y));
		return {Left: r.left, Right: r.right, Seen: at(r.left + 1) && at(r.right - 1),
			Viewport: innerWidth, Page: document.documentElement.scrollWidth};
	})()`)
}

func TestAccountTablesFitAPhone(t *testing.T) {
	srv := start(t, testserver.Options{})
	const email = "annie@example.com"
	srv.CreateUser(t, email, password, "USER")
	other := newVisitor(t, srv)
	otherID := sessionID(t, other, other.signInAPI(email, password))
	tb := newBrowser(t, srv)
	tb.signIn(email, password)
	tb.do("account page", chromedp.WaitVisible(chromedp.ID("account")))
	tb.waitFor("two sessions are listed", rows+` === 2`)
	tb.waitFor("two sign-ins are listed", `document.querySelectorAll("#history tr").length === 2`)

	phone := viewports[1]
	tb.do("phone width", chromedp.EmulateViewport(phone.width, phone.height,
		chromedp.EmulateMobile))
	revoke := `#sessions tr[data-session="` + otherID + `"] button.revoke`
	fit := fitOf(tb, revoke)
	if fit.Viewport != float64(phone.width) {
		t.Fatalf("window.innerWidth = %v at phone width, want %d", fit.Viewport, phone.width)
	}
	if fit.Left < 0 || fit.Right > fit.Viewport || !fit.Seen {
		t.Errorf("the Revoke button spans %v to %v of %v pixels (fully seen: %v)",
			fit.Left, fit.Right, fit.Viewport, fit.Seen)
	}
	if fit.Page > fit.Viewport {
		t.Errorf("the page is %v pixels wide in a %v pixel window", fit.Page, fit.Viewport)
	}

	// Every cell is inside its card and, stacked, under the name of its
	// column; the column of the Revoke buttons has no visible name.
	misfits := eval[[]string](tb, `[...document.querySelectorAll("#sessions td, #history td")]
		.filter((td) => td.getClientRects().length > 0)
		.flatMap((td) => {
			const th = td.closest("table").tHead.rows[0].cells[td.cellIndex];
			const want = th.querySelector(".visually-hidden") ? "none" :
				JSON.stringify(th.textContent.trim());
			const label = getComputedStyle(td, "::before").content;
			const r = td.getBoundingClientRect();
			const card = td.closest(".card").getBoundingClientRect();
			const where = td.closest("tbody").id + " row " + (td.parentElement.rowIndex) +
				" cell " + (td.cellIndex + 1);
			const out = [];
			if (r.left < card.left || r.right > card.right) out.push(where + " spans " +
				r.left + " to " + r.right + " in a card from " + card.left + " to " + card.right);
			if (label !== want) out.push(where + " is labelled " + label + ", want " + want);
			return out;
		})`)
	for _, m := range misfits {
		t.Error(m)
	}
	tb.shoot("account-two-sessions")

	// The button works where it now sits; shoot left the desktop width.
	tb.do("revoke at phone width", chromedp.EmulateViewport(phone.width, phone.height,
		chromedp.EmulateMobile))
	tb.click(revoke)
	tb.waitFor("one session is left", rows+` === 1`)
}
