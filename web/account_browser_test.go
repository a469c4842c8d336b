package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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

// signInWithBackupCode signs in through the API with a backup code and
// returns the status of the second step and its answer.
func signInWithBackupCode(t *testing.T, v *visitor, email, pw, backup string) (
	int, map[string]any) {
	t.Helper()
	return v.api("POST", "/api/auth/login/mfa", "", map[string]string{
		"mfaToken": mfaChallenge(t, v, email, pw), "backupCode": backup})
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
			srv.CreateUser(t, email, password, "USER")
			api := newVisitor(t, srv)
			_, codes := enableTOTPWithCodes(t, api, api.signInAPI(email, password))
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
			tb.click("#continue")
			if tc.script {
				tb.do("account page", chromedp.WaitVisible(chromedp.ID("account")))
				return
			}
			tb.do("account page", chromedp.WaitReady(chromedp.ID("loading")))
			if got, err := chromedp.Run(tb.ctx, chromedp.Location()); err != nil ||
				!strings.HasSuffix(got, "/account") {
				t.Errorf("after continuing: at %q (%v), want the account page", got, err)
			}
		})
	}
}
