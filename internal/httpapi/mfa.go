package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/auth"
)

// mfaRoutes registers the step-up login and the two-factor settings.
func (s *Server) mfaRoutes() {
	const p = "/api/auth"
	s.handle("POST "+p+"/login/mfa", s.loginMFA)
	s.handle("POST "+p+"/mfa/totp/setup", s.authed(s.setupTOTP))
	s.handle("POST "+p+"/mfa/totp/enable", s.authed(s.enableTOTP))
	s.handle("POST "+p+"/mfa/totp/disable", s.authed(s.disableTOTP))
	s.handle("POST "+p+"/mfa/backup-codes", s.authed(s.regenerateBackupCodes))
}

// mfaChallengeView is the answer to a correct password when a second factor
// is still needed: no tokens, no cookie.
type mfaChallengeView struct {
	MFARequired bool     `json:"mfaRequired"`
	MFAToken    string   `json:"mfaToken"`
	Methods     []string `json:"methods"`
	ExpiresIn   int64    `json:"expiresIn"`
}

func (s *Server) writeMFAChallenge(w http.ResponseWriter, c *auth.MFAChallenge) {
	writeJSON(w, http.StatusOK, mfaChallengeView{
		MFARequired: true,
		MFAToken:    c.Token,
		Methods:     c.Methods,
		ExpiresIn:   seconds(auth.MFATokenTTL),
	})
}

func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken   string `json:"mfaToken"`
		Code       string `json:"code"`
		BackupCode string `json:"backupCode"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	g, err := s.auth.LoginMFA(r.Context(), auth.MFALoginInput{
		Token:      in.MFAToken,
		Code:       in.Code,
		BackupCode: in.BackupCode,
	}, s.client(r))
	if err != nil {
		return err
	}
	s.noteUser(r, g.User.ID)
	body := s.grantBody(w, g.Grant, true, bodyTransport(r))
	if !g.UsedBackupCode {
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	writeJSON(w, http.StatusOK, struct {
		grantView
		BackupCodesRemaining int `json:"backupCodesRemaining"`
	}{body, g.BackupCodesLeft})
	return nil
}

func (s *Server) setupTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct{}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	e, err := s.auth.SetupTOTP(r.Context(), principal(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"secret":     e.Secret,
		"otpauthUrl": e.URL,
		"qrCode":     e.QRCode,
	})
	return nil
}

type codeInput struct {
	Code string `json:"code"`
}

func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request) error {
	var in codeInput
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	codes, err := s.auth.EnableTOTP(r.Context(), principal(r), in.Code, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"backupCodes": codes})
	return nil
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password   string `json:"password"`
		Code       string `json:"code"`
		BackupCode string `json:"backupCode"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	err := s.auth.DisableTOTP(r.Context(), principal(r), auth.DisableMFAInput{
		Password:   in.Password,
		Code:       in.Code,
		BackupCode: in.BackupCode,
	}, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Two-factor authentication is off."})
	return nil
}

func (s *Server) regenerateBackupCodes(w http.ResponseWriter, r *http.Request) error {
	var in codeInput
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	codes, err := s.auth.RegenerateBackupCodes(r.Context(), principal(r), in.Code, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"backupCodes": codes})
	return nil
}
