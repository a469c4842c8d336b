package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Error codes of the middleware's answers, the same as Latchkey's.
const (
	CodeInvalidToken     = "invalid_token"
	CodeInsufficientRole = "insufficient_role"
	CodeUnavailable      = "service_unavailable"
)

type claimsKey struct{}

// WithClaims returns a copy of ctx carrying c, as Middleware does. It lets
// tests of handlers behind the middleware run them without a token.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims Middleware verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware lets through only requests with a valid bearer access token,
// with its claims in the request context (see ClaimsFrom). Others get 401
// with a WWW-Authenticate challenge, or 503 when the key set cannot be
// fetched, in Latchkey's error format.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			writeError(w, http.StatusUnauthorized, CodeInvalidToken,
				"A bearer access token is required.")
			return
		}
		c, err := v.Verify(r.Context(), tok)
		switch {
		case errors.Is(err, ErrKeysUnavailable):
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, CodeUnavailable,
				"Token signing keys are unavailable; try again shortly.")
			return
		case errors.Is(err, ErrExpired):
			w.Header().Set("WWW-Authenticate",
				`Bearer error="invalid_token", error_description="The access token expired."`)
			writeError(w, http.StatusUnauthorized, CodeInvalidToken, "The access token expired.")
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, CodeInvalidToken,
				"The access token is invalid.")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

// RequireRole returns middleware that lets through only callers whose
// token carries one of roles; it goes inside Middleware. Others get 403
// insufficient_role, and a request without verified claims gets 401. The
// role is the one the user had when the token was issued: a change reaches
// resource servers with the next token.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer`)
				writeError(w, http.StatusUnauthorized, CodeInvalidToken,
					"A bearer access token is required.")
				return
			}
			if !slices.Contains(roles, c.Role) {
				writeError(w, http.StatusForbidden, CodeInsufficientRole,
					"This requires the "+strings.Join(roles, " or ")+" role.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{message, code})
}
