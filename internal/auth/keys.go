package auth

// JWKS returns the public keys that verify access tokens, as a JSON Web Key
// Set for /.well-known/jwks.json, and false when tokens are signed with the
// HS256 secret: that secret is never published.
func (s *Service) JWKS() ([]byte, bool) { return s.access.JWKS() }
