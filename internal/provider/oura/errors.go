package oura

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failed call so callers can branch without parsing
// status codes or messages.
type Kind int

const (
	KindUnknown Kind = iota
	// KindInvalidToken: 401, the token is expired, malformed or revoked.
	// Refreshing (or re-authorizing) may help.
	KindInvalidToken
	// KindMissingScope: 401 naming a scope the user did not grant. Only a
	// new consent helps; refreshing does not add scopes.
	KindMissingScope
	// KindForbidden: 403, usually a lapsed Oura membership.
	KindForbidden
	// KindNotFound: 404 on a single-document route.
	KindNotFound
	// KindValidation: 400 or 422, the request was malformed.
	KindValidation
	// KindUpgradeRequired: 426, the user's Oura app is too old to share
	// this data type.
	KindUpgradeRequired
	// KindRateLimited: 429; RetryAfter says when to come back.
	KindRateLimited
	// KindServer: 5xx.
	KindServer
	// KindNetwork: the request did not complete (connection, timeout,
	// truncated or unparsable body).
	KindNetwork
)

var kindNames = [...]string{"unknown", "invalid_token", "missing_scope", "forbidden", "not_found", "validation", "upgrade_required", "rate_limited", "server", "network"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ValidationError is one item of a FastAPI 422 detail array.
type ValidationError struct {
	Loc   []any           `json:"loc"`
	Msg   string          `json:"msg"`
	Type  string          `json:"type"`
	Input json.RawMessage `json:"input,omitempty"`
	Ctx   json.RawMessage `json:"ctx,omitempty"`
}

// RateLimit holds the X-RateLimit-* values of a 429 answer.
type RateLimit struct {
	Limit  int           // X-RateLimit-Limit
	Window time.Duration // X-RateLimit-Window
	Reset  time.Time     // X-RateLimit-Reset (unix seconds)
	Tier   string        // X-RateLimit-Tier: which layer fired
}

// Error is a failed Oura call.
type Error struct {
	Kind       Kind
	StatusCode int // 0 for network errors
	Method     string
	Path       string
	// Detail is the human-readable message Oura sent (or ours).
	Detail     string
	Validation []ValidationError
	RetryAfter time.Duration // from Retry-After on 429/503
	RateLimit  *RateLimit
	TraceID    string // x-trace-id, for support requests to Oura
	Err        error  // underlying network or decode error
	// held: the limiter refused to wait this long (RateLimiter.WaitAtMost);
	// nothing was sent.
	held bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oura %s %s: ", e.Method, e.Path)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, e.Kind)
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed later.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindServer, KindNetwork:
		return true
	}
	return false
}

// RateLimitTier names the rate-limit layer of a 429 (X-RateLimit-Tier,
// "" when it named none) or of the limiter's refusal to wait; "" for
// other errors.
func (e *Error) RateLimitTier() string {
	if e.RateLimit == nil {
		return ""
	}
	return e.RateLimit.Tier
}

// KindOf returns the Kind of err, or KindUnknown when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// IsNotFound reports a 404 on a single-document route.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// parseError builds the Error for a non-2xx answer.
func parseError(resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		Method:     resp.Request.Method,
		Path:       resp.Request.URL.Path,
		TraceID:    resp.Header.Get("x-trace-id"),
	}
	e.Detail, e.Validation = parseDetail(body)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		e.Kind = KindInvalidToken
		if strings.Contains(strings.ToLower(e.Detail), "scope") {
			e.Kind = KindMissingScope
		}
	case code == http.StatusForbidden:
		e.Kind = KindForbidden
	case code == http.StatusNotFound:
		e.Kind = KindNotFound
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		e.Kind = KindValidation
	case code == http.StatusUpgradeRequired:
		e.Kind = KindUpgradeRequired
	case code == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RateLimit = parseRateLimit(resp.Header)
	case code >= 500:
		e.Kind = KindServer
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	if e.Kind == KindRateLimited {
		e.RetryAfter = retryAfter429(resp.Header, now)
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseDetail reads {"detail": "..."} or {"detail": [ValidationError...]},
// falling back to RFC 7807 "title" or a "message" field.
func parseDetail(body []byte) (string, []ValidationError) {
	var env struct {
		Detail  json.RawMessage `json:"detail"`
		Title   string          `json:"title"`
		Message string          `json:"message"`
		Error   string          `json:"error"`
		Desc    string          `json:"error_description"`
	}
	if json.Unmarshal(body, &env) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200]
		}
		return s, nil
	}
	if len(env.Detail) > 0 && string(env.Detail) != "null" {
		var s string
		if json.Unmarshal(env.Detail, &s) == nil {
			return s, nil
		}
		var list []ValidationError
		if json.Unmarshal(env.Detail, &list) == nil {
			msgs := make([]string, 0, len(list))
			for _, v := range list {
				loc := make([]string, 0, len(v.Loc))
				for _, l := range v.Loc {
					loc = append(loc, fmt.Sprint(l))
				}
				msgs = append(msgs, strings.Join(loc, ".")+": "+v.Msg)
			}
			return strings.Join(msgs, "; "), list
		}
	}
	switch {
	case env.Title != "":
		return env.Title, nil
	case env.Message != "":
		return env.Message, nil
	case env.Desc != "":
		return env.Error + ": " + env.Desc, nil
	}
	return env.Error, nil
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func parseRateLimit(h http.Header) *RateLimit {
	rl := &RateLimit{Tier: h.Get("X-RateLimit-Tier")}
	rl.Limit, _ = strconv.Atoi(h.Get("X-RateLimit-Limit"))
	if w, err := strconv.Atoi(h.Get("X-RateLimit-Window")); err == nil {
		rl.Window = time.Duration(w) * time.Second
	}
	if r, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		rl.Reset = time.Unix(r, 0)
	}
	return rl
}
