package whoop

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Error is a failed WHOOP call. Its Kind is the seam's, so generic code
// branches on it without knowing WHOOP's status codes.
type Error struct {
	Kind       provider.Kind
	StatusCode int // 0 when no answer came
	Method     string
	Path       string
	// Detail is what WHOOP said, trimmed; the spec defines no error body.
	Detail string
	// RetryAfter is when to try again (X-RateLimit-Reset or Retry-After of
	// a 429 or 503).
	RetryAfter time.Duration
	Err        error
	// token is the access token a 401 refused; never printed.
	token string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "whoop %s %s: ", e.Method, e.Path)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d ", e.StatusCode)
	}
	b.WriteString(e.Kind.String())
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ProviderKind implements provider.Classified.
func (e *Error) ProviderKind() provider.Kind { return e.Kind }

// ProviderRetryAfter implements provider.Delayed.
func (e *Error) ProviderRetryAfter() time.Duration { return e.RetryAfter }

// retryable reports whether the same request may succeed later.
func (e *Error) retryable() bool {
	switch e.Kind {
	case provider.KindRateLimited, provider.KindServer, provider.KindNetwork:
		return true
	}
	return false
}

// IsNotFound reports a 404 of a by-id route.
func IsNotFound(err error) bool { return provider.KindOf(err) == provider.KindNotFound }

// parseError classifies a non-2xx answer.
func parseError(method, path string, status int, h http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, Method: method, Path: path, Detail: detail(body)}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = provider.KindInvalidToken
		if strings.Contains(strings.ToLower(e.Detail), "scope") {
			e.Kind = provider.KindMissingScope
		}
	case status == http.StatusForbidden:
		e.Kind = provider.KindForbidden
	case status == http.StatusNotFound:
		e.Kind = provider.KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = provider.KindRateLimited
	case status >= 500:
		e.Kind = provider.KindServer
	case status >= 400:
		e.Kind = provider.KindInvalidRequest
	}
	if e.Kind == provider.KindRateLimited || status == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(h)
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(status)
	}
	return e
}

// retryAfter reads X-RateLimit-Reset (seconds until the window resets,
// what WHOOP documents), else a Retry-After in seconds.
func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"X-RateLimit-Reset", "Retry-After"} {
		if s, err := strconv.Atoi(strings.TrimSpace(h.Get(k))); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}

func detail(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// errEmptyID is returned for a by-id call without an id.
func errEmptyID() error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("whoop: empty id")}
}
