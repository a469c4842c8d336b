package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/httpapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/* sdk/latchkey.js
var assetFS embed.FS

// pageCSP is the policy of every page: nothing but our own files, no inline
// script or style, forms posting only here, no <base>, no plugins.
const pageCSP = "default-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'"

// accountCSP adds data: images for the QR code of the 2FA setup, which the
// API hands over as a PNG data URL. An image cannot run script.
const accountCSP = "default-src 'self'; img-src 'self' data:; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// view is what a page template renders.
type view struct {
	Title  string
	Prefix string
	Page   string
	CSRF   string
	// Error is the message about the form as a whole.
	Error string
	// Fields are messages about single inputs, by input name.
	Fields map[string]string
	// Values are what the user typed, sent back on an error; never a
	// password or code.
	Values map[string]string
	// Done is set once the form's work is done; the page says so.
	Done bool
	// MFAToken is the step-up token between the password and the code.
	MFAToken string
	// CodesLeft is the number of unused backup codes after signing in
	// with one.
	CodesLeft int
}

// fieldView is one labelled input with its hint and error.
type fieldView struct {
	ID, Name, Label, Type, Auto, InputMode, Hint, Value, Error string
	Optional                                                   bool
}

// field describes input name of a form on v's page. hint "optional" marks
// an input that may stay empty. Passwords and codes are never sent back.
func field(v *view, name, label, typ, auto, inputMode, hint string) fieldView {
	f := fieldView{ID: name, Name: name, Label: label, Type: typ, Auto: auto,
		InputMode: inputMode, Hint: hint, Error: v.Fields[name]}
	if hint == "optional" {
		f.Hint, f.Optional = "", true
	}
	if typ != "password" && name != "code" && name != "backupCode" {
		f.Value = v.Values[name]
	}
	return f
}

// titles are the pages' titles, by template name.
var titles = map[string]string{
	"signin":   "Sign in",
	"mfa":      "Two-factor authentication",
	"signup":   "Create an account",
	"forgot":   "Forgot your password?",
	"reset":    "Choose a new password",
	"verify":   "Verify your email address",
	"account":  "Your account",
	"notfound": "Page not found",
}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for name := range titles {
		t, err := template.New("layout.html").Funcs(template.FuncMap{"field": field}).
			ParseFS(templateFS,
				"templates/layout.html", "templates/fields.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// render writes page name. Pages are never cached: they carry form tokens
// and, between password and code, the step-up token.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string,
	v *view) {
	v.Title = titles[name]
	v.Prefix = h.opts.Prefix
	v.Page = name
	if v.Fields == nil {
		v.Fields = map[string]string{}
	}
	if v.Values == nil {
		v.Values = map[string]string{}
	}
	if name != "account" && name != "notfound" {
		v.CSRF = h.formToken(w, r)
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, v); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	csp := pageCSP
	if name == "account" {
		csp = accountCSP
	}
	hd.Set("Content-Security-Policy", csp)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders page name again with err's public message next to the
// fields it names, or above the form.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, name string, v *view,
	err error) {
	httpapi.NoteError(r, err)
	pe := auth.Public(err)
	if len(pe.Fields) > 0 {
		v.Fields = pe.Fields
	} else {
		v.Error = pe.Message
	}
	if pe.RetryAfter > 0 {
		secs := int64(math.Ceil(pe.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	h.render(w, r, httpapi.Status(err), name, v)
}

// asset is an embedded file with its validator.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// loadAssets reads the embedded files, keyed by their URL path below the
// prefix.
func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(assetFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".js") {
			ctype = "text/javascript; charset=utf-8"
		}
		key := "/" + strings.Replace(p, "static/", "assets/", 1)
		out[key] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out, err
}

// asset serves an embedded file. Browsers revalidate it on each use, which
// costs a 304 and never serves a stale script after an upgrade.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[strings.TrimPrefix(r.URL.Path, h.opts.Prefix)]
	if !ok {
		h.notFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
