package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/token"
)

// Form posts are guarded three ways, each enough against a browser of
// today on its own:
//
//   - every cookie the pages set is SameSite=Strict;
//   - a post whose Sec-Fetch-Site is not same-origin, or whose Origin is
//     neither the public origin nor the one the request was sent to, is
//     refused;
//   - each form carries a token that must match the form cookie: an HMAC of
//     the cookie's random value under a server key (signed double submit),
//     so a page elsewhere can neither read nor make a matching pair. In
//     production the cookie is named __Host-…, which a sibling subdomain
//     cannot set.
//
// Signing in and up are guarded too: a forged login would sign the victim
// into the attacker's account.

// csrfField is the name of the form token's hidden field.
const csrfField = "csrf"

// errForeignPost refuses a form post a browser marked as coming from
// elsewhere.
var errForeignPost = auth.Errorf("cross_site_request",
	"This form was sent from another site, so it was refused.")

// errStaleForm refuses a form post without a valid token.
var errStaleForm = auth.Errorf("cross_site_request",
	"This form expired. It has been renewed: please send it again.")

func (h *Handler) csrfCookie() string { return h.cookieName("latchkey-form") }

// cookieName names a cookie of the pages. In production the __Host- prefix
// keeps a sibling subdomain from setting it; browsers accept it only over
// HTTPS with Path=/.
func (h *Handler) cookieName(base string) string {
	if h.opts.Production {
		return "__Host-" + base
	}
	return base
}

// formToken returns the token for the forms of the page answering r,
// setting a new form cookie when r carries none.
func (h *Handler) formToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.csrfCookie()); err == nil && token.WellFormed(c.Value) {
		return h.sign(c.Value)
	}
	v, err := token.NewOpaque()
	if err != nil {
		h.log.ErrorContext(r.Context(), "form token", "err", err)
		return ""
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.csrfCookie(),
		Value:    v,
		Path:     "/",
		HttpOnly: true,
		Secure:   h.opts.Production,
		SameSite: http.SameSiteStrictMode,
	})
	return h.sign(v)
}

func (h *Handler) sign(v string) string {
	mac := hmac.New(sha256.New, h.csrfKey)
	mac.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// checkOrigin refuses a post that a browser says comes from another site.
func (h *Handler) checkOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errForeignPost
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Not a browser, or one too old to send Origin; the token decides.
		return nil
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == h.pubOrigin || origin == scheme+"://"+r.Host {
		return nil
	}
	return errForeignPost
}

// checkToken refuses a post whose form token does not match its cookie.
func (h *Handler) checkToken(r *http.Request) error {
	c, err := r.Cookie(h.csrfCookie())
	if err != nil || !token.WellFormed(c.Value) {
		return errStaleForm
	}
	got := r.PostForm.Get(csrfField)
	if !hmac.Equal([]byte(got), []byte(h.sign(c.Value))) {
		return errStaleForm
	}
	return nil
}
