package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/auth"
)

// Transport-level error codes, next to the domain's.
const (
	codeTooLarge         = "payload_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMethodNotAllowed = "method_not_allowed"
	codeCrossSite        = "cross_site_request"
)

// statusOf maps every public error code to its HTTP status. A code missing
// here is a bug and answers 500.
var statusOf = map[string]int{
	auth.CodeInvalidRequest:     http.StatusBadRequest,
	auth.CodeWeakPassword:       http.StatusBadRequest,
	auth.CodeInvalidCode:        http.StatusBadRequest,
	auth.CodeInvalidPassword:    http.StatusBadRequest,
	auth.CodeInvalidCredentials: http.StatusUnauthorized,
	auth.CodeInvalidToken:       http.StatusUnauthorized,
	auth.CodeAccountDisabled:    http.StatusForbidden,
	auth.CodeInsufficientRole:   http.StatusForbidden,
	codeCrossSite:               http.StatusForbidden,
	auth.CodeNotFound:           http.StatusNotFound,
	codeMethodNotAllowed:        http.StatusMethodNotAllowed,
	auth.CodeEmailTaken:         http.StatusConflict,
	auth.CodeUsernameTaken:      http.StatusConflict,
	auth.CodeMFAAlreadyEnabled:  http.StatusConflict,
	auth.CodeMFANotEnabled:      http.StatusConflict,
	auth.CodeMFASetupRequired:   http.StatusConflict,
	auth.CodeLastAdmin:          http.StatusConflict,
	auth.CodePasswordChanged:    http.StatusConflict,
	codeTooLarge:                http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia:        http.StatusUnsupportedMediaType,
	auth.CodeAccountLocked:      http.StatusTooManyRequests,
	auth.CodeRateLimited:        http.StatusTooManyRequests,
	auth.CodeInternal:           http.StatusInternalServerError,
	auth.CodeUnavailable:        http.StatusServiceUnavailable,
	auth.CodeLimiterUnavailable: http.StatusServiceUnavailable,
}

type errorBody struct {
	Error  string            `json:"error"`
	Code   string            `json:"code"`
	Fields map[string]string `json:"fields,omitempty"`
}

// writeError renders err in the one error format of the API. Only the public
// part of the error reaches the client; the cause is kept for the access log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	pe := auth.Public(err)
	status, ok := statusOf[pe.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if info := infoFrom(r.Context()); info != nil {
		info.err = err
	}

	if pe.RetryAfter > 0 {
		secs := int64(math.Ceil(pe.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	writeJSON(w, status, errorBody{Error: pe.Message, Code: pe.Code, Fields: pe.Fields})
}

// writeJSON writes v with status. Our own response types always encode, so
// an error here means the client went away: there is no one to answer, and
// the access record already holds the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody is the largest request body the API reads.
const maxBody = 64 << 10

// decode reads a JSON request body into v. An empty body is allowed when
// optional is set and leaves v as it was.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength == 0 && optional {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || !optional {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return auth.Errorf(codeUnsupportedMedia, "Request body must be application/json.")
		}
	}

	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil && !utf8.Valid(raw) {
		// JSON is UTF-8. The decoder would quietly turn stray bytes into
		// U+FFFD; a body that is not UTF-8 is malformed instead.
		err = errors.New("body is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err == nil {
		err = dec.Decode(v)
	}
	if err == nil {
		// Anything after the first value is a malformed body, not extra input
		// to ignore.
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return auth.Errorf(codeTooLarge, "Request body is larger than %d KiB.", maxBody>>10)
	case errors.Is(err, io.EOF) && optional:
		return nil
	case err != nil:
		// The parser's message is not echoed: it can quote the input back.
		return &auth.Error{Code: auth.CodeInvalidRequest,
			Message: "Request body is not valid JSON of the expected shape.", Err: err}
	}
	return nil
}

// seconds renders a duration as whole seconds for expiresIn.
func seconds(d time.Duration) int64 {
	return int64(d / time.Second)
}
