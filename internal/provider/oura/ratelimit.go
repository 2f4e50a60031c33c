package oura

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Limit is a request budget: Requests per Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

// DefaultLimit is Oura's published budget: 5000 requests per 5 minutes.
func DefaultLimit() Limit { return Limit{Requests: 5000, Window: 5 * time.Minute} }

func (l Limit) off() bool { return l.Requests <= 0 || l.Window <= 0 }

// span is how far back a request still counts against l. Oura counts a
// request when it arrives, which is later than when it left here, so the
// window is held a little longer than the server's (1/50: 6 s of 5 minutes)
// rather than meeting its 429s at the edge.
func (l Limit) span() time.Duration { return l.Window + l.Window/50 }

// RateLimiter keeps requests inside Oura's two layers of limits: one budget
// for the whole application and one per access token, each a number of
// requests in any rolling window, which is how Oura counts them. A request
// goes at once while the last window holds fewer than the budget, so a
// burst as large as the budget is never held back; only the request that
// would exceed it waits, until the oldest one leaves the window. What the
// API says in its answers (see Observe) narrows this further. One
// RateLimiter is shared by every goroutine (and every Client) that talks to
// Oura with the same application credentials.
type RateLimiter struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu       sync.Mutex
	app      *window
	perToken Limit
	tokens   map[string]*window
}

// window is one layer's account of one key.
type window struct {
	limit Limit
	// sent holds when each request within limit.span() left, oldest first.
	sent []time.Time
	// notBefore holds every request back: a 429's Retry-After, or the
	// reset of a window the API said was used up.
	notBefore time.Time
	// left is what X-RateLimit-Remaining last said remains until
	// leftUntil, less the requests sent since; unknown when leftUntil has
	// passed.
	left      int
	leftUntil time.Time
	lastUsed  time.Time
}

// LimiterOption configures a RateLimiter.
type LimiterOption func(*RateLimiter)

// WithLimiterClock replaces the clock and the wait (default: time.Now and
// a timer that honours the context).
func WithLimiterClock(now func() time.Time, sleep func(context.Context, time.Duration) error) LimiterOption {
	return func(r *RateLimiter) {
		if now != nil {
			r.now = now
		}
		if sleep != nil {
			r.sleep = sleep
		}
	}
}

// NewRateLimiter builds a limiter. A zero Limit means no limit on that
// layer, and the API's rate-limit headers are then ignored for it too.
func NewRateLimiter(app, perToken Limit, opts ...LimiterOption) *RateLimiter {
	r := &RateLimiter{now: time.Now, sleep: provider.Sleep, app: &window{limit: app}, perToken: perToken, tokens: map[string]*window{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Rate-limit layers, as Oura names them in X-RateLimit-Tier.
const (
	TierToken       = "token"
	TierApplication = "application"
)

// TierLabel names the layer a 429's X-RateLimit-Tier value stands for:
// TierToken, TierApplication, or "unknown" for anything else, so that
// whatever the API sends never becomes an unbounded metric label.
func TierLabel(tier string) string {
	switch tier {
	case TierToken, TierApplication:
		return tier
	}
	return "unknown"
}

// Wait blocks until one request with the given token fits both budgets,
// and counts it.
func (r *RateLimiter) Wait(ctx context.Context, token string) error {
	return r.WaitAtMost(ctx, token, 0)
}

// WaitAtMost is Wait for a caller that must not be held long: when a
// layer would hold the request longer than limit (0: no bound), it
// returns at once a KindRateLimited *Error whose RetryAfter is that wait
// and whose RateLimit.Tier names the layer, and counts nothing. A job can
// then be rescheduled instead of sitting on a worker that other users'
// jobs need, which matters most for the token layer: one user's spent
// budget must not stall everyone else's syncs.
func (r *RateLimiter) WaitAtMost(ctx context.Context, token string, limit time.Duration) error {
	if r == nil {
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.mu.Lock()
		now := r.now()
		tw := r.token(token, now)
		d, tier := r.app.wait(now), TierApplication
		if tw != nil {
			if td := tw.wait(now); td > d {
				d, tier = td, TierToken
			}
		}
		if d <= 0 {
			r.app.take(now)
			if tw != nil {
				tw.take(now)
			}
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
		if limit > 0 && d > limit {
			return &Error{Kind: KindRateLimited, Detail: "the " + tier + " request budget is spent", RetryAfter: d,
				RateLimit: &RateLimit{Tier: tier}, held: true}
		}
		if err := r.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Observe reads the rate-limit headers of an answer to a request sent with
// token: Retry-After on a 429 holds back every request of the layer that
// refused (X-RateLimit-Tier; the token's when it is not named);
// X-RateLimit-Limit with X-RateLimit-Window replaces that layer's budget
// with the one the API enforces; X-RateLimit-Remaining with
// X-RateLimit-Reset caps what may still be sent before the reset.
func (r *RateLimiter) Observe(token string, status int, h http.Header) {
	if r == nil || h == nil {
		return
	}
	tier := h.Get("X-RateLimit-Tier")
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	w := r.app
	if tier != "application" {
		w = r.token(token, now)
	}
	if w == nil || w.limit.off() {
		return
	}
	if n, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil && n > 0 {
		if s, err := strconv.Atoi(h.Get("X-RateLimit-Window")); err == nil && s > 0 {
			l := Limit{Requests: n, Window: time.Duration(s) * time.Second}
			w.limit = l
			if w != r.app {
				r.perToken = l // every token has the same budget
			}
		}
	}
	if rem, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil && rem >= 0 {
		if sec, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			reset := time.Unix(sec, 0)
			switch {
			case !reset.After(now):
			case !reset.Equal(w.leftUntil) || now.After(w.leftUntil):
				w.left, w.leftUntil = rem, reset
			default:
				// Answers come back out of order: the smaller count is
				// the newer one.
				w.left = min(w.left, rem)
			}
		}
	}
	if status == http.StatusTooManyRequests {
		d := retryAfter429(h, now)
		if d <= 0 {
			d = time.Second // a 429 without a delay still means slow down
		}
		w.notBefore = maxTime(w.notBefore, now.Add(d))
	}
}

// token returns the window of tok, or nil when tokens are not limited.
// Called with mu held.
func (r *RateLimiter) token(tok string, now time.Time) *window {
	if r.perToken.off() || tok == "" {
		return nil
	}
	w, ok := r.tokens[tok]
	if !ok {
		// Forget idle tokens so the map does not grow with every rotation.
		if len(r.tokens) > 1024 {
			for k, v := range r.tokens {
				if now.Sub(v.lastUsed) > 2*r.perToken.span() {
					delete(r.tokens, k)
				}
			}
		}
		w = &window{}
		r.tokens[tok] = w
	}
	w.limit = r.perToken
	w.lastUsed = now
	return w
}

// wait is how long the next request must wait, 0 if it may go now.
func (w *window) wait(now time.Time) time.Duration {
	if w.limit.off() {
		return 0
	}
	cut := now.Add(-w.limit.span())
	i := 0
	for i < len(w.sent) && !w.sent[i].After(cut) {
		i++
	}
	if i > 0 {
		w.sent = append(w.sent[:0], w.sent[i:]...)
	}
	var d time.Duration
	if now.Before(w.notBefore) {
		d = w.notBefore.Sub(now)
	}
	if now.Before(w.leftUntil) && w.left <= 0 {
		d = max(d, w.leftUntil.Sub(now))
	}
	if n := len(w.sent); n >= w.limit.Requests {
		d = max(d, w.sent[n-w.limit.Requests].Add(w.limit.span()).Sub(now))
	}
	return d
}

// take counts a request sent at now.
func (w *window) take(now time.Time) {
	if w.limit.off() {
		return
	}
	w.sent = append(w.sent, now)
	if now.Before(w.leftUntil) {
		w.left--
	}
}

// retryAfter429 is how long a 429 asks to wait: its Retry-After, or, when
// it has none, until its X-RateLimit-Reset. Retry-After wins when both are
// sent: it is the API's answer to this request, and the reset of a
// rolling window can lie further out than the next free slot.
func retryAfter429(h http.Header, now time.Time) time.Duration {
	if d := parseRetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	if sec, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		if reset := time.Unix(sec, 0); reset.After(now) {
			return reset.Sub(now)
		}
	}
	return 0
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
