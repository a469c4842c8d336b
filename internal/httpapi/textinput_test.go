package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// PostgreSQL refuses NUL bytes and invalid UTF-8 in text parameters with an
// error of its own. Such input must be answered as the bad input it is, the
// same on every engine, and never reach the database to come back as a 500.
func TestNULAndInvalidUTF8AreAnsweredAsBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		user := e.browser()
		user.register("text@example.com")
		admin, _ := e.newAdmin("text-admin@example.com")

		// Each kind of bad text, as it goes in a path or query (escaped)
		// and in a JSON string.
		kinds := []struct {
			name, escaped, json string
			// badJSON is set when the body is not valid JSON at all.
			badJSON bool
		}{
			{name: "a NUL byte", escaped: "%00", json: `a\u0000b`},
			{name: "invalid UTF-8", escaped: "%ff%fe", json: "a\xff\xfeb", badJSON: true},
		}
		for _, k := range kinds {
			cases := []struct {
				name   string
				as     *browser
				method string
				path   string
				body   any
				status int
				code   string
			}{
				{"a session id", user, "DELETE", "/api/auth/sessions/" + k.escaped, nil,
					404, "not_found"},
				{"a session id with text around it", user, "DELETE",
					"/api/auth/sessions/x" + k.escaped + "y", nil, 404, "not_found"},
				{"a user id", admin, "GET", "/api/admin/users/" + k.escaped, nil, 404, "not_found"},
				{"a user id to change", admin, "PATCH", "/api/admin/users/" + k.escaped,
					map[string]bool{"active": false}, 404, "not_found"},
				{"a user id whose sessions to end", admin, "DELETE",
					"/api/admin/users/" + k.escaped + "/sessions", nil, 404, "not_found"},
				{"a user search", admin, "GET", "/api/admin/users?q=" + k.escaped, nil,
					400, "invalid_request"},
				{"an audit user filter", admin, "GET", "/api/admin/audit?userId=" + k.escaped,
					nil, 400, "invalid_request"},
				{"an audit type filter", admin, "GET", "/api/admin/audit?type=" + k.escaped, nil,
					400, "invalid_request"},
				{"an email to register", e.browser(), "POST", "/api/auth/register",
					`{"email":"` + k.json + `@example.com","password":"` + strongPassword + `"}`,
					400, "invalid_request"},
				{"a username to register", e.browser(), "POST", "/api/auth/register",
					`{"email":"name@example.com","username":"` + k.json + `","password":"` +
						strongPassword + `"}`, 400, "invalid_request"},
				{"an email to log in", e.browser(), "POST", "/api/auth/login",
					`{"email":"` + k.json + `@example.com","password":"` + strongPassword + `"}`,
					401, "invalid_credentials"},
				{"a refresh token", e.browser(), "POST", "/api/auth/refresh",
					`{"refreshToken":"` + k.json + `"}`, 401, "invalid_token"},
				{"an MFA token", e.browser(), "POST", "/api/auth/login/mfa",
					`{"mfaToken":"` + k.json + `","code":"123456"}`, 401, "invalid_token"},
				{"an email verification token", e.browser(), "POST", "/api/auth/email/verify",
					`{"token":"` + k.json + `"}`, 401, "invalid_token"},
				{"an email to send a reset to", e.browser(), "POST", "/api/auth/password/forgot",
					`{"email":"` + k.json + `@example.com"}`, 400, "invalid_request"},
				{"a password reset token", e.browser(), "POST", "/api/auth/password/reset",
					`{"token":"` + k.json + `","password":"Another-horse7!"}`, 401, "invalid_token"},
				{"a current password", user, "POST", "/api/auth/password/change",
					`{"currentPassword":"` + k.json + `","newPassword":"Another-horse7!"}`,
					400, "invalid_password"},
			}
			for _, tc := range cases {
				t.Run(tc.name+" with "+k.name, func(t *testing.T) {
					status, code := tc.status, tc.code
					if _, raw := tc.body.(string); raw && k.badJSON {
						status, code = http.StatusBadRequest, "invalid_request"
					}
					wantError(t, tc.as.do(tc.method, tc.path, tc.body), status, code)
				})
			}
		}
	})
}
