package client

import (
	"fmt"
	"time"
)

// User is an account as the API shows it: never a hash, a secret or a
// token.
type User struct {
	ID               string    `json:"id"`
	Email            string    `json:"email"`
	Username         string    `json:"username"` // empty when none was chosen
	EmailVerified    bool      `json:"emailVerified"`
	Active           bool      `json:"active"`
	Role             string    `json:"role"` // USER or ADMIN
	TwoFactorEnabled bool      `json:"twoFactorEnabled"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Session is one signed-in session of the user.
type Session struct {
	ID           string    `json:"id"`
	IPAddress    string    `json:"ipAddress"`
	UserAgent    string    `json:"userAgent"`
	CreatedAt    time.Time `json:"createdAt"`
	LastActivity time.Time `json:"lastActivity"`
	ExpiresAt    time.Time `json:"expiresAt"`
	// Current marks the session this client is signed in with.
	Current bool `json:"current"`
}

// LoginEntry is one attempt to sign in to the account.
type LoginEntry struct {
	IPAddress string    `json:"ipAddress"`
	UserAgent string    `json:"userAgent"`
	Success   bool      `json:"success"`
	Reason    string    `json:"reason"` // why a failed attempt failed
	CreatedAt time.Time `json:"createdAt"`
}

// RegisterInput is a new account.
type RegisterInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Username string `json:"username,omitempty"`
}

// LoginResult is the outcome of a password login: either the user is
// signed in (User is set and the client holds the tokens), or the account
// has two-factor authentication and MFA says how to finish with LoginMFA or
// LoginBackupCode.
type LoginResult struct {
	User *User
	MFA  *MFAChallenge
	// BackupCodesRemaining is set after LoginBackupCode: how many unused
	// backup codes the account has left.
	BackupCodesRemaining *int
}

// MFAChallenge is the second step of a login to an account with two-factor
// authentication.
type MFAChallenge struct {
	// Token identifies the half-finished login; it is a secret, short-lived
	// and single-use.
	Token string
	// Methods are the accepted second factors, such as totp and
	// backup_code.
	Methods []string
	// ExpiresIn is how long Token stays valid.
	ExpiresIn time.Duration
}

// String describes the challenge without its token.
func (m MFAChallenge) String() string {
	return fmt.Sprintf("MFA challenge (methods %v, expires in %s)", m.Methods, m.ExpiresIn)
}

// GoString is String, so that %#v hides the token too.
func (m MFAChallenge) GoString() string { return m.String() }

// TOTPSetup is a new authenticator secret, not yet in force: EnableTOTP with
// a code from the authenticator turns two-factor authentication on.
type TOTPSetup struct {
	Secret     string `json:"secret"`     // base32, for manual entry
	OTPAuthURL string `json:"otpauthUrl"` // otpauth:// URL for authenticator apps
	QRCode     string `json:"qrCode"`     // the URL as a PNG data URL
}

// UserQuery selects a page of users in the admin API.
type UserQuery struct {
	Query  string // matches email or username
	Limit  int    // the server's default when zero
	Cursor string // NextCursor of the previous page
}

// UserPage is one page of users; NextCursor is empty on the last page.
type UserPage struct {
	Users      []User `json:"users"`
	NextCursor string `json:"nextCursor"`
}

// UserChange changes an account's access in the admin API; nil fields stay
// as they are.
type UserChange struct {
	Role   *string `json:"role,omitempty"`
	Active *bool   `json:"active,omitempty"`
}

// AuditQuery selects a page of the audit trail.
type AuditQuery struct {
	UserID string // events about this user
	Type   string // events of this type, such as login.failed
	Limit  int    // the server's default when zero
	Cursor string // NextCursor of the previous page
}

// AuditEvent is one security event.
type AuditEvent struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	UserID    string            `json:"userId"`  // empty when no user is concerned
	ActorID   string            `json:"actorId"` // empty when the user acted themselves
	IPAddress string            `json:"ipAddress"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail"`
	CreatedAt time.Time         `json:"createdAt"`
}

// AuditPage is one page of the audit trail; NextCursor is empty on the
// last page.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"nextCursor"`
}
