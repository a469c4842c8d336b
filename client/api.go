package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const prefix = "/api/auth"

// Register creates an account and signs the client in to it.
func (c *Client) Register(ctx context.Context, in RegisterInput) (*User, error) {
	var g grant
	if err := c.call(ctx, http.MethodPost, prefix+"/register", nil, in, &g, false); err != nil {
		return nil, err
	}
	if err := c.keep(g, c.now()); err != nil {
		return nil, err
	}
	return g.User, nil
}

// loginAnswer is a grant or, for an account with two-factor
// authentication, a challenge.
type loginAnswer struct {
	grant
	MFARequired          bool     `json:"mfaRequired"`
	MFAToken             string   `json:"mfaToken"`
	Methods              []string `json:"methods"`
	BackupCodesRemaining *int     `json:"backupCodesRemaining"`
}

// Login signs in with an email and a password. For an account with
// two-factor authentication the result holds an MFA challenge instead of a
// user, and the client holds no tokens until LoginMFA or LoginBackupCode.
func (c *Client) Login(ctx context.Context, email, password string) (*LoginResult, error) {
	return c.login(ctx, prefix+"/login", map[string]string{"email": email, "password": password})
}

// LoginMFA finishes a login with a code from the authenticator.
func (c *Client) LoginMFA(ctx context.Context, mfaToken, code string) (*LoginResult, error) {
	return c.login(ctx, prefix+"/login/mfa",
		map[string]string{"mfaToken": mfaToken, "code": code})
}

// LoginBackupCode finishes a login with one of the account's backup codes,
// which is then spent.
func (c *Client) LoginBackupCode(ctx context.Context, mfaToken, backupCode string) (
	*LoginResult, error) {
	return c.login(ctx, prefix+"/login/mfa",
		map[string]string{"mfaToken": mfaToken, "backupCode": backupCode})
}

func (c *Client) login(ctx context.Context, path string, in any) (*LoginResult, error) {
	var a loginAnswer
	if err := c.call(ctx, http.MethodPost, path, nil, in, &a, false); err != nil {
		return nil, err
	}
	if a.MFARequired {
		return &LoginResult{MFA: &MFAChallenge{Token: a.MFAToken, Methods: a.Methods,
			ExpiresIn: time.Duration(a.ExpiresIn) * time.Second}}, nil
	}
	if err := c.keep(a.grant, c.now()); err != nil {
		return nil, err
	}
	return &LoginResult{User: a.User, BackupCodesRemaining: a.BackupCodesRemaining}, nil
}

// Logout ends this session and drops the tokens.
func (c *Client) Logout(ctx context.Context) error {
	return c.logout(ctx, false)
}

// LogoutAll ends every session of the user, on every device, and drops the
// tokens.
func (c *Client) LogoutAll(ctx context.Context) error {
	return c.logout(ctx, true)
}

func (c *Client) logout(ctx context.Context, all bool) error {
	err := c.call(ctx, http.MethodPost, prefix+"/logout", nil, map[string]bool{"all": all},
		nil, true)
	// The tokens go whatever the answer: a session the server no longer
	// knows is as ended as one it just closed.
	c.forget()
	if errors.Is(err, ErrNotSignedIn) {
		return nil
	}
	return err
}

// Profile returns the signed-in user.
func (c *Client) Profile(ctx context.Context) (*User, error) {
	var out struct {
		User User `json:"user"`
	}
	if err := c.call(ctx, http.MethodGet, prefix+"/profile", nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// AdminMessage calls GET /api/auth/admin, which answers only users with the
// ADMIN role: a cheap check of the role.
func (c *Client) AdminMessage(ctx context.Context) (string, error) {
	var out struct {
		Message string `json:"message"`
	}
	if err := c.call(ctx, http.MethodGet, prefix+"/admin", nil, nil, &out, true); err != nil {
		return "", err
	}
	return out.Message, nil
}

// Sessions lists the user's live sessions.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var out struct {
		Sessions []Session `json:"sessions"`
	}
	if err := c.call(ctx, http.MethodGet, prefix+"/sessions", nil, nil, &out, true); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

// RevokeSession ends one of the user's sessions; its tokens stop working.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, prefix+"/sessions/"+url.PathEscape(id), nil, nil,
		nil, true)
}

// LoginHistory lists the latest attempts to sign in to the account.
func (c *Client) LoginHistory(ctx context.Context) ([]LoginEntry, error) {
	var out struct {
		Entries []LoginEntry `json:"entries"`
	}
	err := c.call(ctx, http.MethodGet, prefix+"/login-history", nil, nil, &out, true)
	if err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// SendVerificationEmail mails the user a link that verifies the address.
// It reports false, without mailing, when the address is already verified.
func (c *Client) SendVerificationEmail(ctx context.Context) (sent bool, err error) {
	status, err := c.callStatus(ctx, http.MethodPost, prefix+"/email/verify/send", nil, nil,
		nil, true)
	return status == http.StatusAccepted, err
}

// VerifyEmail spends the token of a verification link. It needs no
// signed-in user: the link may be opened anywhere.
func (c *Client) VerifyEmail(ctx context.Context, token string) (*User, error) {
	var out struct {
		User *User `json:"user"`
	}
	err := c.call(ctx, http.MethodPost, prefix+"/email/verify", nil,
		map[string]string{"token": token}, &out, false)
	if err != nil {
		return nil, err
	}
	return out.User, nil
}

// ForgotPassword asks for a password reset link for email. The server
// answers the same whether or not the address has an account.
func (c *Client) ForgotPassword(ctx context.Context, email string) error {
	return c.call(ctx, http.MethodPost, prefix+"/password/forgot", nil,
		map[string]string{"email": email}, nil, false)
}

// ResetPassword sets a new password with the token of a reset link. Every
// session of the account ends, so sign in again afterwards.
func (c *Client) ResetPassword(ctx context.Context, token, newPassword string) error {
	return c.call(ctx, http.MethodPost, prefix+"/password/reset", nil,
		map[string]string{"token": token, "password": newPassword}, nil, false)
}

// ChangePassword changes the signed-in user's password. The user's other
// sessions end; this one goes on.
func (c *Client) ChangePassword(ctx context.Context, current, newPassword string) error {
	return c.call(ctx, http.MethodPost, prefix+"/password/change", nil,
		map[string]string{"currentPassword": current, "newPassword": newPassword}, nil, true)
}

// SetupTOTP starts enrolling an authenticator. Two-factor authentication is
// on only after EnableTOTP.
func (c *Client) SetupTOTP(ctx context.Context) (*TOTPSetup, error) {
	var out TOTPSetup
	if err := c.call(ctx, http.MethodPost, prefix+"/mfa/totp/setup", nil, nil, &out,
		true); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnableTOTP turns two-factor authentication on with a code from the
// authenticator, and returns the account's ten backup codes, shown once.
func (c *Client) EnableTOTP(ctx context.Context, code string) ([]string, error) {
	return c.backupCodes(ctx, prefix+"/mfa/totp/enable", code)
}

// RegenerateBackupCodes replaces the backup codes, given a code from the
// authenticator; the old ones stop working.
func (c *Client) RegenerateBackupCodes(ctx context.Context, code string) ([]string, error) {
	return c.backupCodes(ctx, prefix+"/mfa/backup-codes", code)
}

func (c *Client) backupCodes(ctx context.Context, path, code string) ([]string, error) {
	var out struct {
		BackupCodes []string `json:"backupCodes"`
	}
	err := c.call(ctx, http.MethodPost, path, nil, map[string]string{"code": code}, &out, true)
	if err != nil {
		return nil, err
	}
	return out.BackupCodes, nil
}

// DisableTOTP turns two-factor authentication off, given the password and a
// code from the authenticator.
func (c *Client) DisableTOTP(ctx context.Context, password, code string) error {
	return c.call(ctx, http.MethodPost, prefix+"/mfa/totp/disable", nil,
		map[string]string{"password": password, "code": code}, nil, true)
}

// DisableTOTPWithBackupCode turns two-factor authentication off, given the
// password and a backup code, for a user who lost the authenticator.
func (c *Client) DisableTOTPWithBackupCode(ctx context.Context, password,
	backupCode string) error {
	return c.call(ctx, http.MethodPost, prefix+"/mfa/totp/disable", nil,
		map[string]string{"password": password, "backupCode": backupCode}, nil, true)
}

const adminPrefix = "/api/admin"

// ListUsers returns a page of accounts; it needs the ADMIN role.
func (c *Client) ListUsers(ctx context.Context, q UserQuery) (*UserPage, error) {
	v := url.Values{}
	setQuery(v, "q", q.Query)
	setQuery(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out UserPage
	if err := c.call(ctx, http.MethodGet, adminPrefix+"/users", v, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser returns one account; it needs the ADMIN role.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	return c.adminUser(ctx, http.MethodGet, id, nil)
}

// UpdateUser changes an account's role or deactivates it (a deactivated
// account's sessions end); it needs the ADMIN role.
func (c *Client) UpdateUser(ctx context.Context, id string, change UserChange) (*User, error) {
	return c.adminUser(ctx, http.MethodPatch, id, change)
}

func (c *Client) adminUser(ctx context.Context, method, id string, in any) (*User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.call(ctx, method, adminPrefix+"/users/"+url.PathEscape(id), nil, in, &out, true)
	if err != nil {
		return nil, err
	}
	return &out.User, nil
}

// RevokeUserSessions ends every session of an account; it needs the ADMIN
// role.
func (c *Client) RevokeUserSessions(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete,
		adminPrefix+"/users/"+url.PathEscape(id)+"/sessions", nil, nil, nil, true)
}

// AuditEvents returns a page of the audit trail, newest first; it needs
// the ADMIN role.
func (c *Client) AuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	v := url.Values{}
	setQuery(v, "userId", q.UserID)
	setQuery(v, "type", q.Type)
	setQuery(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out AuditPage
	if err := c.call(ctx, http.MethodGet, adminPrefix+"/audit", v, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

func setQuery(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Ready reports whether the server and its database answer (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/readyz", nil, nil, nil, false)
}
