package httpapi

import (
	"net/http"
)

// mailRoutes registers the flows that mail a link (email verification,
// password reset) and the password change. Tokens arrive in JSON bodies
// only: a token in a query string would land in access and proxy logs.
func (s *Server) mailRoutes() {
	const p = "/api/auth"
	s.handle("POST "+p+"/email/verify/send", s.authed(s.sendVerification))
	s.handle("POST "+p+"/email/verify", s.verifyEmail)
	s.handle("POST "+p+"/password/forgot", s.forgotPassword)
	s.handle("POST "+p+"/password/reset", s.resetPassword)
	s.handle("POST "+p+"/password/change", s.authed(s.changePassword))
}

type messageView struct {
	Message string `json:"message"`
}

func (s *Server) sendVerification(w http.ResponseWriter, r *http.Request) error {
	sent, err := s.auth.SendVerification(r.Context(), principal(r))
	if err != nil {
		return err
	}
	if !sent {
		writeJSON(w, http.StatusOK, messageView{"Your email address is already verified."})
		return nil
	}
	writeJSON(w, http.StatusAccepted, messageView{"A verification link is on its way."})
	return nil
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	u, err := s.auth.VerifyEmail(r.Context(), in.Token, s.client(r))
	if err != nil {
		return err
	}
	s.noteUser(r, u.ID)
	writeJSON(w, http.StatusOK, struct {
		Message string   `json:"message"`
		User    userView `json:"user"`
	}{"Your email address is verified.", viewUser(u)})
	return nil
}

// forgotMessage is the one answer to every accepted reset request, whether
// or not the address has an account.
const forgotMessage = "If an account uses this address, a link to reset its password " +
	"is on its way."

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.auth.ForgotPassword(r.Context(), in.Email, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, messageView{forgotMessage})
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.auth.ResetPassword(r.Context(), in.Token, in.Password, s.client(r)); err != nil {
		return err
	}
	// Every session ended, this browser's too: its refresh cookie is dead.
	s.clearRefreshCookie(w)
	writeJSON(w, http.StatusOK, messageView{"Your password is reset. Sign in with the new one."})
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	err := s.auth.ChangePassword(r.Context(), principal(r), in.CurrentPassword, in.NewPassword,
		s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageView{
		"Your password is changed. Your other sessions were signed out."})
	return nil
}
