package simkit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// The control routes under /_sim are the simulators' own, not their
// providers': what they share is parsed here, and each simulator answers
// errors in its own format.

// maxControlBody bounds a control route's request body.
const maxControlBody = 1 << 16

// ReadJSON decodes a control route's JSON body into v.
func ReadJSON(r *http.Request, v any) error {
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
	return json.Unmarshal(b, v)
}

// TokenRequest is the body of POST /_sim/tokens:
// {"user":0,"scopes":[...],"expires_in":"1h"}.
type TokenRequest struct {
	User int
	// Scopes is nil when the body names none (every scope), empty when it
	// names an empty list.
	Scopes []string
	// ExpiresIn is 0 when the body names none (the configured lifetime).
	ExpiresIn time.Duration
}

// ReadTokenRequest reads a TokenRequest; an empty body asks for user 0's.
func ReadTokenRequest(r *http.Request) (TokenRequest, error) {
	var req struct {
		User      int       `json:"user"`
		Scopes    *[]string `json:"scopes"`
		ExpiresIn string    `json:"expires_in"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
	if len(b) > 0 {
		if err := json.Unmarshal(b, &req); err != nil {
			return TokenRequest{}, err
		}
	}
	out := TokenRequest{User: req.User}
	if req.ExpiresIn != "" {
		var err error
		if out.ExpiresIn, err = time.ParseDuration(req.ExpiresIn); err != nil {
			return TokenRequest{}, err
		}
	}
	if req.Scopes != nil {
		out.Scopes = append([]string{}, *req.Scopes...)
	}
	return out, nil
}

// ClockState is what GET /_sim/clock answers.
func ClockState(c *Clock) map[string]any {
	return map[string]any{"now": c.Now(), "real": c.Real(), "factor": c.Factor()}
}

// AdvanceBy reads the by= parameter of POST /_sim/clock/advance.
func AdvanceBy(r *http.Request) (time.Duration, error) {
	d, err := time.ParseDuration(r.URL.Query().Get("by"))
	if err != nil || d <= 0 {
		return 0, errors.New("by must be a positive Go duration, e.g. 24h")
	}
	return d, nil
}
