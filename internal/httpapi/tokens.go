package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

// refreshCookie is the cookie that carries the refresh token to browsers.
const refreshCookie = "refreshToken"

// cookiePath scopes the refresh cookie to the auth routes, so it is not sent
// with every request to the application beside us.
const cookiePath = "/api/auth"

// bodyTransport reports whether the client asked for the refresh token in
// the JSON body instead of a cookie (clients that are not browsers).
func bodyTransport(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Auth-Token-Transport"), "body")
}

type grantView struct {
	User         *userView `json:"user,omitempty"`
	AccessToken  string    `json:"accessToken"`
	TokenType    string    `json:"tokenType"`
	ExpiresIn    int64     `json:"expiresIn"`
	RefreshToken string    `json:"refreshToken,omitempty"`
}

// writeGrant sends a grant: the access token in the body, the refresh token
// in an HttpOnly cookie or, when inBody is set, in the body.
func (s *Server) writeGrant(w http.ResponseWriter, status int, g auth.Grant, withUser,
	inBody bool) {
	writeJSON(w, status, s.grantBody(w, g, withUser, inBody))
}

// grantBody sets the refresh cookie of g, unless inBody is set, and returns
// the JSON body that goes with it.
func (s *Server) grantBody(w http.ResponseWriter, g auth.Grant, withUser, inBody bool) grantView {
	v := grantView{
		AccessToken: g.AccessToken,
		TokenType:   "Bearer",
		ExpiresIn:   seconds(s.auth.AccessTTL()),
	}
	if withUser {
		u := viewUser(g.User)
		v.User = &u
	}
	if inBody {
		v.RefreshToken = g.RefreshToken
	} else {
		http.SetCookie(w, RefreshCookie(g.RefreshToken, s.auth.RefreshTTL(), s.opts.Production))
	}
	return v
}

func (s *Server) clearRefreshCookie(w http.ResponseWriter) {
	http.SetCookie(w, ExpiredRefreshCookie(s.opts.Production))
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Username string `json:"username"`
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	g, err := s.auth.Register(r.Context(), auth.RegisterInput{
		Email:    in.Email,
		Password: in.Password,
		Username: in.Username,
	}, s.client(r))
	if err != nil {
		return err
	}
	s.noteUser(r, g.User.ID)
	s.writeGrant(w, http.StatusCreated, g, true, bodyTransport(r))
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	g, err := s.auth.Login(r.Context(), in.Email, in.Password, s.client(r))
	if err != nil {
		return err
	}
	s.noteUser(r, g.User.ID)
	if g.MFA != nil {
		s.writeMFAChallenge(w, g.MFA)
		return nil
	}
	s.writeGrant(w, http.StatusOK, g, true, bodyTransport(r))
	return nil
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	tok := in.RefreshToken
	if tok == "" {
		c, err := r.Cookie(refreshCookie)
		if err != nil || c.Value == "" {
			return auth.Errorf(auth.CodeInvalidToken, "A refresh token is required.")
		}
		// The cookie travels with any request the browser makes, so a
		// cookie-authenticated refresh must come from our own origin.
		if err := s.sameOrigin(r); err != nil {
			return err
		}
		tok = c.Value
	}

	g, err := s.auth.Refresh(r.Context(), tok, s.client(r))
	if err != nil {
		if in.RefreshToken == "" && auth.Public(err).Code == auth.CodeInvalidToken {
			s.clearRefreshCookie(w)
		}
		return err
	}
	s.noteUser(r, g.User.ID)
	// The successor goes back the way its parent came. A token read from the
	// HttpOnly cookie is never put in the body, whatever the
	// Auth-Token-Transport header says: otherwise any script on the origin
	// could turn the cookie into a token it can read.
	s.writeGrant(w, http.StatusOK, g, false, in.RefreshToken != "")
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		All bool `json:"all"`
	}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := s.auth.Logout(r.Context(), principal(r), in.All, s.client(r)); err != nil {
		return err
	}
	s.clearRefreshCookie(w)
	writeJSON(w, http.StatusOK, map[string]string{"message": "Signed out."})
	return nil
}

// noteUser records the user a request acted for, for the access log.
func (s *Server) noteUser(r *http.Request, userID string) {
	if info := infoFrom(r.Context()); info != nil {
		info.userID = userID
	}
}
