package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
)

// maxForm is the largest form body the pages read, as the API's JSON limit.
const maxForm = 64 << 10

// readForm parses a form post and checks that it comes from our own page.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkOrigin(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return &auth.Error{Code: auth.CodeInvalidRequest,
			Message: "The form could not be read; please send it again.", Err: err}
	}
	return h.checkToken(r)
}

// signedIn hands the browser its refresh cookie and sends it on to page,
// with a GET so that reloading what it shows posts nothing again. The
// account page takes its access token from /api/auth/refresh with the
// cookie; the access token of g is not passed on: it would have to sit in
// the page.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, g auth.Grant,
	page string) {
	httpapi.NoteUser(r, g.User.ID)
	http.SetCookie(w, httpapi.RefreshCookie(g.RefreshToken, h.svc.RefreshTTL(),
		h.opts.Production))
	http.Redirect(w, r, h.path(page), http.StatusSeeOther)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "signin", &view{}, err)
		return
	}
	email := r.PostForm.Get("email")
	v := &view{Values: map[string]string{"email": email}}
	g, err := h.svc.Login(r.Context(), email, r.PostForm.Get("password"), h.client(r))
	if err != nil {
		h.fail(w, r, "signin", v, err)
		return
	}
	if g.MFA != nil {
		httpapi.NoteUser(r, g.User.ID)
		h.render(w, r, http.StatusOK, "mfa", &view{MFAToken: g.MFA.Token})
		return
	}
	h.signedIn(w, r, g, "/account")
}

func (h *Handler) signInMFA(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "signin", &view{}, err)
		return
	}
	in := auth.MFALoginInput{
		Token:      r.PostForm.Get("mfaToken"),
		Code:       strings.TrimSpace(r.PostForm.Get("code")),
		BackupCode: strings.TrimSpace(r.PostForm.Get("backupCode")),
	}
	g, err := h.svc.LoginMFA(r.Context(), in, h.client(r))
	switch {
	case err != nil && auth.Public(err).Code == auth.CodeInvalidToken:
		// The step-up token is used up, expired or voided by wrong codes:
		// the password has to be given again.
		h.fail(w, r, "signin", &view{}, auth.Errorf(auth.CodeInvalidToken,
			"Your sign-in expired. Please enter your password again."))
		return
	case err != nil:
		field := "code"
		if in.Code == "" {
			field = "backupCode"
		}
		pe := auth.Public(err)
		msg := pe.Message
		if pe.Code == auth.CodeInvalidCredentials {
			msg = "That code is not right. Try again."
		}
		v := &view{MFAToken: in.Token}
		h.fail(w, r, "mfa", v, &auth.Error{Code: pe.Code, Message: msg,
			Fields: map[string]string{field: msg}, RetryAfter: pe.RetryAfter, Err: err})
		return
	}
	if !g.UsedBackupCode {
		h.signedIn(w, r, g.Grant, "/account")
		return
	}
	// A used backup code is worth a word before the account page: few left
	// means it is time to make new ones.
	http.SetCookie(w, h.codesLeftCookie(strconv.Itoa(g.BackupCodesLeft),
		int(codesLeftAge.Seconds())))
	h.signedIn(w, r, g.Grant, "/signed-in")
}

// codesLeftAge is how long the count of backup codes waits for the page
// that shows it, which the browser asks for at once.
const codesLeftAge = time.Minute

// codesLeftCookie carries the number of unused backup codes from the
// sign-in post to the page that says it. The number is no secret, and a
// forged one would mislead only the browser that sends it, so it is not
// signed. A negative maxAge deletes the cookie.
func (h *Handler) codesLeftCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     h.cookieName("latchkey-codes-left"),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.opts.Production,
		SameSite: http.SameSiteStrictMode,
	}
}

// codesLeft says once, after a backup code signed in without JavaScript,
// how many remain. Reloaded, or opened without that sign-in before it, it
// goes on to the account page.
func (h *Handler) codesLeft(w http.ResponseWriter, r *http.Request) {
	gone := h.codesLeftCookie("", -1)
	c, err := r.Cookie(gone.Name)
	if err != nil {
		http.Redirect(w, r, h.path("/account"), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, gone)
	n, err := strconv.Atoi(c.Value)
	if err != nil || n < 0 {
		http.Redirect(w, r, h.path("/account"), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "mfa", &view{Done: true, CodesLeft: n})
}

func (h *Handler) signUp(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "signup", &view{}, err)
		return
	}
	in := auth.RegisterInput{
		Email:    r.PostForm.Get("email"),
		Username: r.PostForm.Get("username"),
		Password: r.PostForm.Get("password"),
	}
	v := &view{Values: map[string]string{"email": in.Email, "username": in.Username}}
	g, err := h.svc.Register(r.Context(), in, h.client(r))
	if err != nil {
		h.fail(w, r, "signup", v, err)
		return
	}
	h.signedIn(w, r, g, "/account")
}

func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "forgot", &view{}, err)
		return
	}
	email := r.PostForm.Get("email")
	v := &view{Values: map[string]string{"email": email}}
	if err := h.svc.ForgotPassword(r.Context(), email, h.client(r)); err != nil {
		h.fail(w, r, "forgot", v, err)
		return
	}
	v.Done = true
	h.render(w, r, http.StatusOK, "forgot", v)
}

// linkToken returns the token typed or pasted into a form. Someone who
// pastes the whole link from the mail gets what they meant.
func linkToken(r *http.Request) string {
	t := strings.TrimSpace(r.PostForm.Get("token"))
	if _, after, ok := strings.Cut(t, "token="); ok {
		t = after
	}
	return t
}

// errNoToken asks for the code of the link when the form came without it.
var errNoToken = auth.Invalid("token",
	"Paste the code from your link: everything after #token= in it.")

func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "reset", &view{}, err)
		return
	}
	tok := linkToken(r)
	if tok == "" {
		h.fail(w, r, "reset", &view{}, errNoToken)
		return
	}
	err := h.svc.ResetPassword(r.Context(), tok, r.PostForm.Get("password"), h.client(r))
	if err != nil {
		h.fail(w, r, "reset", &view{Values: map[string]string{"token": tok}},
			linkError(err))
		return
	}
	// Every session ended, this browser's too.
	http.SetCookie(w, httpapi.ExpiredRefreshCookie(h.opts.Production))
	h.render(w, r, http.StatusOK, "reset", &view{Done: true})
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	if err := h.readForm(w, r); err != nil {
		h.fail(w, r, "verify", &view{}, err)
		return
	}
	tok := linkToken(r)
	if tok == "" {
		h.fail(w, r, "verify", &view{}, errNoToken)
		return
	}
	u, err := h.svc.VerifyEmail(r.Context(), tok, h.client(r))
	if err != nil {
		h.fail(w, r, "verify", &view{}, linkError(err))
		return
	}
	httpapi.NoteUser(r, u.ID)
	h.render(w, r, http.StatusOK, "verify", &view{Done: true})
}

// linkError words a refused link token for a person holding the mail;
// other errors, such as a password the policy refuses, keep their message.
func linkError(err error) error {
	pe := auth.Public(err)
	if pe.Code != auth.CodeInvalidToken && pe.Fields["token"] == "" {
		return err
	}
	return &auth.Error{Code: auth.CodeInvalidToken,
		Message: "This link is invalid, expired or already used. Ask for a new one.",
		Err:     err}
}
