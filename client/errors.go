package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error codes the API answers with (see docs/openapi.yaml).
const (
	CodeInvalidRequest     = "invalid_request"
	CodeWeakPassword       = "weak_password"
	CodeInvalidCode        = "invalid_code"
	CodeInvalidPassword    = "invalid_password"
	CodeInvalidCredentials = "invalid_credentials"
	CodeInvalidToken       = "invalid_token"
	CodeAccountDisabled    = "account_disabled"
	CodeInsufficientRole   = "insufficient_role"
	CodeCrossSite          = "cross_site_request"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeEmailTaken         = "email_taken"
	CodeUsernameTaken      = "username_taken"
	CodeMFAAlreadyEnabled  = "mfa_already_enabled"
	CodeMFANotEnabled      = "mfa_not_enabled"
	CodeMFASetupRequired   = "mfa_setup_required"
	CodeLastAdmin          = "last_admin"
	CodePasswordChanged    = "password_changed"
	CodePayloadTooLarge    = "payload_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeAccountLocked      = "account_locked"
	CodeRateLimited        = "rate_limited"
	CodeInternal           = "internal_error"
	CodeUnavailable        = "service_unavailable"
	CodeLimiterUnavailable = "rate_limiter_unavailable"
)

// Error is a failure the server reported: its HTTP status and the API's
// error body.
type Error struct {
	// Status is the HTTP status code, such as 401.
	Status int
	// Code is the API's error code, such as invalid_credentials; empty
	// when the answer was not an API error (a proxy's error page).
	Code string
	// Message is the server's human-readable message.
	Message string
	// Fields holds per-field messages of a validation error.
	Fields map[string]string
	// RetryAfter is the server's Retry-After, for 429 and 503 answers.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("latchkey: %d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("latchkey: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode returns the API error code of err, or "" when err is not an
// *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// newError decodes an error answer. A body that is not the API's error
// format, such as a proxy's HTML page, leaves Code empty.
func newError(res *http.Response, raw []byte) *Error {
	e := &Error{Status: res.StatusCode}
	var body struct {
		Error  string            `json:"error"`
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Code != "" {
		e.Code, e.Message, e.Fields = body.Code, body.Error, body.Fields
	} else {
		e.Message = http.StatusText(res.StatusCode)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}
