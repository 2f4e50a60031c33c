package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Error codes of the HTTP layer beyond health's; like health's they only
// become statuses in statusOf.
const (
	eTooLarge      = "too_large"
	eMethod        = "method_not_allowed"
	eUnprocessable = "unprocessable"
	eUnavailable   = "unavailable"
)

// statusOf is the one place that maps an error code to an HTTP status.
func statusOf(code string) int {
	switch code {
	case health.EINVALID:
		return http.StatusBadRequest
	case health.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case health.EFORBIDDEN:
		return http.StatusForbidden
	case health.ENOTFOUND:
		return http.StatusNotFound
	case health.ECONFLICT:
		return http.StatusConflict
	case health.ERATELIMITED:
		return http.StatusTooManyRequests
	case eTooLarge:
		return http.StatusRequestEntityTooLarge
	case eMethod:
		return http.StatusMethodNotAllowed
	case eUnprocessable:
		return http.StatusUnprocessableEntity
	case eUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is every error response. error, exception, path and method
// are ROOK's error shape (its Unauth, MissingBody, UrlNoExists and
// WrongData schemas), so clients written for ROOK read them; message is
// the same sentence under a plain name, and request_id ties the response
// to the server's log line.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Exception string `json:"exception"`
	Path      string `json:"path"`
	Method    string `json:"method"`
	RequestID string `json:"request_id,omitempty"`
}

// writeError answers with err's status and message. Internal errors are
// logged with their detail and answered with a generic message.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := health.ErrorCode(err)
	status := statusOf(code)
	msg := health.ErrorMessage(err)
	id := ""
	if info := infoFrom(r.Context()); info != nil {
		id = info.id
	}
	if status >= 500 && code != eUnavailable {
		a.log.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on the server. Try again; if it keeps failing, report request id " + id + "."
	}
	var rl *rateLimited
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int((rl.wait+time.Second-1)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="wearlink", charset="UTF-8"`)
	}
	if isFHIR(r) {
		writeOutcome(w, status, msg)
		return
	}
	writeJSON(w, status, errorBody{Error: http.StatusText(status), Message: msg, Exception: msg, Path: r.URL.Path, Method: r.Method, RequestID: id})
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"Internal Server Error","message":"The response could not be encoded."}`)
	}
	writeBody(w, status, b)
}

// writeBody writes an encoded JSON body as is: a stored document goes out
// byte for byte as webhooks deliver it.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func invalid(format string, args ...any) error {
	return health.Errorf(health.EINVALID, format, args...)
}

func unavailable(msg string) error { return health.Errorf(eUnavailable, "%s", msg) }

func tooLarge(limit int64) error {
	return health.Errorf(eTooLarge, "The request body is larger than this server accepts (%d bytes).", limit)
}

// rateLimited is a 429 that knows when to come back.
type rateLimited struct {
	wait time.Duration
}

func (e *rateLimited) Error() string { return fmt.Sprintf("rate limited for %v", e.wait) }

// Unwrap gives the error its code and message.
func (e *rateLimited) Unwrap() error {
	secs := int((e.wait + time.Second - 1) / time.Second)
	return health.Errorf(health.ERATELIMITED, "Too many requests for this client_uuid. Try again in %d s (see the Retry-After header).", secs)
}
