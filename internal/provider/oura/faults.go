package oura

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Fault is an upstream failure the client met on a call it may retry: a
// 429, a 5xx, a dropped connection or a truncated body.
type Fault struct {
	// Collection names the API called (CollectionOf the path).
	Collection string
	Kind       Kind
	// StatusCode is 0 when no response came.
	StatusCode int
	// Attempt is the failed attempt's number, from 1.
	Attempt int
	// Retried is false when the client gave up and returned the error.
	Retried bool
}

// CollectionOf names the API a request went to from its path:
// /v2/usercollection/sleep/ID is "sleep", the webhook subscription API
// "webhook_subscription". Anything else is "other", so that no path
// becomes a metric label or a log field of unbounded values.
func CollectionOf(path string) string {
	p := strings.TrimPrefix(path, "/")
	p = strings.TrimPrefix(p, "v2/")
	p = strings.TrimPrefix(p, "sandbox/")
	if rest, ok := strings.CutPrefix(p, "usercollection/"); ok {
		name, _, _ := strings.Cut(rest, "/")
		if validLabel(name) {
			return name
		}
		return "other"
	}
	if strings.HasPrefix(p, "webhook/subscription") {
		return "webhook_subscription"
	}
	return "other"
}

// validLabel accepts Oura's collection names (lower case and
// underscores), keeping values bounded to names of that shape.
func validLabel(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// logLimiter lets through at most burst lines per interval for each key
// and counts the ones it holds back, so a storm of upstream faults shows
// in the log without flooding it. The first line let through after a
// held-back stretch carries how many were held back.
type logLimiter struct {
	burst    int
	interval time.Duration
	now      func() time.Time

	mu sync.Mutex
	w  map[string]*logWindow
}

type logWindow struct {
	start      time.Time
	n          int
	suppressed int
}

func newLogLimiter(burst int, interval time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{burst: burst, interval: interval, now: now, w: map[string]*logWindow{}}
}

// allow reports whether a line for key may be written now and, when it
// may, how many lines for key were held back before it.
func (l *logLimiter) allow(key string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.w[key]
	if w == nil {
		w = &logWindow{start: now}
		l.w[key] = w
	}
	if d := now.Sub(w.start); d >= l.interval || d < 0 {
		w.start, w.n = now, 0
	}
	if w.n >= l.burst {
		w.suppressed++
		return false, 0
	}
	w.n++
	held := w.suppressed
	w.suppressed = 0
	return true, held
}

// fault reports a retryable upstream failure: to Config.OnFault, and at
// WARN through the rate limit (per kind and collection). Only what names
// the failure is logged, never a token or a response body.
func (c *Client) fault(ctx context.Context, req request, oe *Error, attempt int, retried bool, wait time.Duration) {
	f := Fault{Collection: CollectionOf(req.path), Kind: oe.Kind, StatusCode: oe.StatusCode, Attempt: attempt, Retried: retried}
	if c.cfg.OnFault != nil {
		c.cfg.OnFault(f)
	}
	ok, held := c.faultLog.allow(f.Kind.String() + " " + f.Collection)
	if !ok {
		return
	}
	args := []any{"provider", "oura", "collection", f.Collection, "kind", f.Kind.String(), "status", f.StatusCode,
		"method", req.method, "attempt", attempt}
	msg := "oura: upstream fault, giving up"
	if retried {
		msg = "oura: upstream fault, retrying"
		args = append(args, "wait", wait)
	}
	if oe.RateLimit != nil {
		// Which layer refused: the token's holds back one user, the
		// application's everyone.
		args = append(args, "tier", TierLabel(oe.RateLimit.Tier))
	}
	if oe.TraceID != "" {
		args = append(args, "trace_id", oe.TraceID)
	}
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	c.cfg.Logger.WarnContext(ctx, msg, args...)
}
