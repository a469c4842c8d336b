package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/store"
)

// Error codes the API reports. Each maps to one HTTP status in the transport
// layer; the domain only says what went wrong.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeWeakPassword       = "weak_password"
	CodeEmailTaken         = "email_taken"
	CodeUsernameTaken      = "username_taken"
	CodeInvalidCredentials = "invalid_credentials"
	CodeInvalidToken       = "invalid_token"
	CodeAccountLocked      = "account_locked"
	CodeAccountDisabled    = "account_disabled"
	CodeInsufficientRole   = "insufficient_role"
	CodeRateLimited        = "rate_limited"
	CodeNotFound           = "not_found"
	CodeUnavailable        = "service_unavailable"
	CodeLimiterUnavailable = "rate_limiter_unavailable"
	CodeInternal           = "internal_error"
)

// Error is a failure with a public code and message, safe to show a client,
// and a private cause that only reaches the logs.
type Error struct {
	Code       string
	Message    string
	Fields     map[string]string // per-field messages for validation errors
	RetryAfter time.Duration     // for account_locked and rate_limited
	Err        error             // private cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Public converts any error into the *Error a client may see. Errors that are
// not already public become an opaque internal error (or unavailable when
// a backing store is down) that keeps the cause for the log.
func Public(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, store.ErrUnavailable) {
		return &Error{Code: CodeUnavailable, Message: "A backing store is unavailable; try again shortly.",
			RetryAfter: 5 * time.Second, Err: err}
	}
	if errors.Is(err, ratelimit.ErrUnavailable) {
		// Lockout and request limits cannot be checked: the action they
		// guard is refused rather than allowed unguarded.
		return &Error{Code: CodeLimiterUnavailable,
			Message:    "Rate limiting is unavailable; try again shortly.",
			RetryAfter: 5 * time.Second, Err: err}
	}
	return &Error{Code: CodeInternal, Message: "Internal error.", Err: err}
}

// Invalid returns a validation error about one field.
func Invalid(field, message string) *Error {
	return &Error{
		Code:    CodeInvalidRequest,
		Message: message,
		Fields:  map[string]string{field: message},
	}
}

var (
	errBadCredentials = Errorf(CodeInvalidCredentials, "Invalid email or password.")
	errBadToken       = Errorf(CodeInvalidToken, "The token is invalid, expired or revoked.")
	errDisabled       = Errorf(CodeAccountDisabled, "This account is deactivated.")
)
