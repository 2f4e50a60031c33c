package withings

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Statuses of the answers' "status" field that callers branch on.
const (
	StatusOK          = 0
	StatusAuthFailed  = 401
	StatusRateLimited = 601
)

// Error is a failed Withings call. Withings answers HTTP 200 with a status
// code in the body, so Status is that code (0 when no answer decoded) and
// HTTPStatus is set only when the HTTP exchange itself failed. Kind is the
// seam's classification of either.
type Error struct {
	Kind       provider.Kind
	Status     int
	HTTPStatus int
	// Service is the path called ("/measure"), Action its action=.
	Service, Action string
	// Detail is what Withings said ("error" of the answer), trimmed.
	Detail string
	// RetryAfter is how long to wait before trying again, for a rate limit.
	RetryAfter time.Duration
	Err        error
	// budget is set when the client's own budget, not Withings, refused
	// the request: retrying at once cannot help.
	budget bool
	// token is the access token an authentication failure refused; never
	// printed.
	token string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "withings %s %s: ", e.Service, e.Action)
	if e.Status != 0 {
		fmt.Fprintf(&b, "status %d ", e.Status)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.HTTPStatus)
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

// StatusOf returns the Withings status of the first *Error in err's chain,
// -1 when there is none.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return -1
}

// statusRange is a span of the status table, both ends inclusive.
type statusRange struct{ lo, hi int }

// The groups of the response-status table of the API reference
// (spec, tag response_status). Codes outside every group, and the
// table's "An error occurred", are Withings failing: retried, bounded.
var (
	authFailed = []statusRange{{100, 102}, {200, 200}, {401, 401}}
	// "Unauthorized" with a token that authenticates: the grant does not
	// cover the call (a scope the user did not give), so only a new
	// consent helps.
	unauthorized  = []statusRange{{214, 214}, {277, 277}, {2553, 2553}, {2555, 2555}}
	invalidParams = []statusRange{{201, 213}, {216, 218}, {220, 221}, {223, 223}, {225, 225}, {227, 230}, {234, 236},
		{238, 238}, {240, 252}, {254, 254}, {260, 267}, {271, 272}, {275, 276}, {283, 288}, {290, 290}, {293, 295},
		{297, 297}, {300, 304}, {321, 321}, {323, 353}, {380, 382}, {400, 400}, {501, 511}, {523, 523}, {532, 532},
		{3017, 3019},
		// Bad state and Not implemented: the same request will not
		// succeed later either.
		{524, 524}, {2554, 2554}}
)

func inRanges(code int, rs []statusRange) bool {
	for _, r := range rs {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// KindOfStatus classifies a non-zero status of an answer's body.
func KindOfStatus(status int) provider.Kind {
	switch {
	case status == StatusOK:
		return provider.KindUnknown
	case inRanges(status, authFailed):
		return provider.KindInvalidToken
	case status == StatusRateLimited:
		return provider.KindRateLimited
	case inRanges(status, unauthorized):
		return provider.KindMissingScope
	case inRanges(status, invalidParams):
		return provider.KindInvalidRequest
	}
	return provider.KindServer
}

// kindOfHTTP classifies an answer that is not HTTP 2xx, which Withings
// sends only when something in front of the API fails.
func kindOfHTTP(code int) provider.Kind {
	switch {
	case code == 401:
		return provider.KindInvalidToken
	case code == 403:
		return provider.KindForbidden
	case code == 404:
		return provider.KindNotFound
	case code == 429:
		return provider.KindRateLimited
	case code >= 500:
		return provider.KindServer
	}
	return provider.KindInvalidRequest
}

func detail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
