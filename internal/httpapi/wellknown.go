package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/docs"
)

// jwksMaxAge is how long verifiers may cache the key set. A rotation does
// not wait for it: a verifier that meets an unknown kid fetches the set
// again.
const jwksMaxAge = "max-age=300"

// wellKnownRoutes serves what other programs read about this server: the
// signing keys, when they are asymmetric, and the OpenAPI description. In
// HS256 mode there is no key set to publish, so the JWKS route is not
// registered and answers 404 like any unknown route: a resource server
// pointed at it fails loudly instead of finding an empty set.
func (s *Server) wellKnownRoutes() {
	if jwks, ok := s.auth.JWKS(); ok {
		s.handle("GET /.well-known/jwks.json", staticJSON(jwks, "public, "+jwksMaxAge))
	}
	if doc, err := docs.OpenAPIJSON(); err != nil {
		s.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) error {
			return err
		})
	} else {
		s.handle("GET /openapi.json", staticJSON(doc, "public, max-age=3600"))
	}
}

// staticJSON serves a fixed document with an ETag, so caches revalidate
// with a 304 instead of downloading it again.
func staticJSON(doc []byte, cacheControl string) handlerFunc {
	sum := sha256.Sum256(doc)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", etag)
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		// A failed write means the client went away; nothing to answer.
		_, _ = w.Write(doc)
		return nil
	}
}

// matchesETag reports whether an If-None-Match header names etag.
func matchesETag(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	return slices.ContainsFunc(strings.Split(header, ","), func(t string) bool {
		return strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag
	})
}

// Routes returns the pattern of every route the server answers, such as
// "GET /api/auth/profile", in registration order.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }
