package sqlstore

// Column lists, in the order the scan helpers in scan.go expect them. Each
// table is always aliased the same way: users u, sessions s,
// refresh_tokens t, login_history l.
const (
	userColumns = `u.id, u.email, COALESCE(u.username, ''), u.password_hash, u.role,
		u.active, u.email_verified, u.two_factor_enabled, u.created_at, u.updated_at`
	sessionColumns = `s.id, s.user_id, s.ip_address, s.user_agent, s.created_at,
		s.last_activity, s.expires_at, s.revoked_at`
	tokenColumns = `t.id, t.session_id, t.user_id, t.token_hash, t.created_at, t.expires_at,
		t.rotated_at, t.revoked_at`
	loginColumns = `l.id, l.user_id, l.ip_address, l.user_agent, l.success, l.reason,
		l.created_at`
)

// Constraint names the migrations of every engine give, so that an engine
// reporting constraint names can map them to the store's sentinels.
const (
	constraintUsersEmail    = "users_email_key"
	constraintUsersUsername = "users_username_key"
)

// queries holds every statement of the store, already in the engine's
// placeholder style.
type queries struct {
	insertUser       string
	userByID         string
	userByEmail      string
	emailExists      string
	usernameExists   string
	updatePassword   string
	updateAccess     string
	insertSession    string
	insertToken      string
	sessionUser      string
	sessionExists    string
	touchSession     string
	listSessions     string
	revokeSession    string
	revokeTokens     string
	revokeUser       string
	revokeUserTokens string
	refreshState     string
	tokenByHash      string
	sessionTokens    string
	tokenExists      string
	touchForRotation string
	markRotated      string
	insertLogin      string
	loginHistory     string
}

func newQueries(bind func(string) string) queries {
	return queries{
		insertUser: bind(`INSERT INTO users (id, email, username, password_hash, role,
			active, email_verified, two_factor_enabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		userByID:       bind(`SELECT ` + userColumns + ` FROM users u WHERE u.id = ?`),
		userByEmail:    bind(`SELECT ` + userColumns + ` FROM users u WHERE u.email = ?`),
		emailExists:    bind(`SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)`),
		usernameExists: bind(`SELECT EXISTS (SELECT 1 FROM users WHERE username = ?)`),
		updatePassword: bind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`),
		updateAccess:   bind(`UPDATE users SET role = ?, active = ?, updated_at = ? WHERE id = ?`),

		insertSession: bind(`INSERT INTO sessions (id, user_id, ip_address, user_agent,
			created_at, last_activity, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		insertToken: bind(`INSERT INTO refresh_tokens (id, session_id, user_id, token_hash,
			created_at, expires_at, rotated_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		sessionUser: bind(`SELECT ` + sessionColumns + `, ` + userColumns + `
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = ?`),
		sessionExists: bind(`SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`),
		touchSession: bind(`UPDATE sessions SET last_activity = ?
			WHERE id = ? AND revoked_at IS NULL`),
		listSessions: bind(`SELECT ` + sessionColumns + ` FROM sessions s
			WHERE s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?
			ORDER BY s.created_at DESC, s.id DESC`),
		// An empty user id (the third and fourth arguments) matches any owner.
		// COALESCE keeps the first revocation time when revoking again.
		revokeSession: bind(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?)
			WHERE id = ? AND (? = '' OR user_id = ?)`),
		revokeTokens: bind(`UPDATE refresh_tokens SET revoked_at = ?
			WHERE session_id = ? AND revoked_at IS NULL`),
		// An empty except (the third argument) matches no session id.
		revokeUser: bind(`UPDATE sessions SET revoked_at = ?
			WHERE user_id = ? AND id <> ? AND revoked_at IS NULL
			RETURNING id`),
		revokeUserTokens: bind(`UPDATE refresh_tokens SET revoked_at = ?
			WHERE user_id = ? AND session_id <> ? AND revoked_at IS NULL`),

		refreshState: bind(`SELECT ` + tokenColumns + `, ` + sessionColumns + `, ` +
			userColumns + `
			FROM refresh_tokens t
			JOIN sessions s ON s.id = t.session_id
			JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = ?`),
		tokenByHash: bind(`SELECT ` + tokenColumns + ` FROM refresh_tokens t
			WHERE t.token_hash = ?`),
		sessionTokens: bind(`SELECT ` + tokenColumns + ` FROM refresh_tokens t
			WHERE t.session_id = ?
			ORDER BY t.created_at, t.id`),
		tokenExists: bind(`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?)`),
		touchForRotation: bind(`UPDATE sessions SET last_activity = ?
			WHERE id = (SELECT session_id FROM refresh_tokens WHERE id = ?)
			AND revoked_at IS NULL
			RETURNING id, user_id`),
		markRotated: bind(`UPDATE refresh_tokens SET rotated_at = ?
			WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL`),

		insertLogin: bind(`INSERT INTO login_history (id, user_id, ip_address, user_agent,
			success, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
		loginHistory: bind(`SELECT ` + loginColumns + ` FROM login_history l
			WHERE l.user_id = ?
			ORDER BY l.created_at DESC, l.id DESC
			LIMIT ?`),
	}
}
