package oura

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a request budget: Requests per Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

// DefaultLimit is Oura's published budget: 5000 requests per 5 minutes.
func DefaultLimit() Limit { return Limit{Requests: 5000, Window: 5 * time.Minute} }

// limiter converts a budget into a token bucket that can never exceed the
// budget in any window: the burst is part of the budget, so the refill rate
// is (Requests - burst) per Window.
func (l Limit) limiter() *rate.Limiter {
	if l.Requests <= 0 || l.Window <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	burst := l.Requests / 20
	if burst < 1 {
		burst = 1
	}
	refill := l.Requests - burst
	if refill < 1 {
		refill = 1
	}
	return rate.NewLimiter(rate.Limit(float64(refill)/l.Window.Seconds()), burst)
}

// RateLimiter spaces requests to stay inside Oura's two layers of limits:
// one budget for the whole application and one per access token. One
// RateLimiter is shared by every goroutine (and every Client) that talks to
// Oura with the same application credentials.
type RateLimiter struct {
	app      *rate.Limiter
	perToken Limit

	mu     sync.Mutex
	tokens map[string]*tokenLimiter
}

type tokenLimiter struct {
	lim      *rate.Limiter
	lastUsed time.Time
}

// NewRateLimiter builds a limiter. A zero Limit means no limit on that layer.
func NewRateLimiter(app, perToken Limit) *RateLimiter {
	return &RateLimiter{app: app.limiter(), perToken: perToken, tokens: map[string]*tokenLimiter{}}
}

// Wait blocks until one request with the given token fits both budgets.
func (r *RateLimiter) Wait(ctx context.Context, token string) error {
	if r == nil {
		return nil
	}
	if r.perToken.Requests > 0 && token != "" {
		if err := r.token(token).Wait(ctx); err != nil {
			return err
		}
	}
	return r.app.Wait(ctx)
}

func (r *RateLimiter) token(tok string) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	t, ok := r.tokens[tok]
	if !ok {
		// Forget idle tokens so the map does not grow with every rotation.
		if len(r.tokens) > 1024 {
			for k, v := range r.tokens {
				if now.Sub(v.lastUsed) > 2*r.perToken.Window {
					delete(r.tokens, k)
				}
			}
		}
		t = &tokenLimiter{lim: r.perToken.limiter()}
		r.tokens[tok] = t
	}
	t.lastUsed = now
	return t.lim
}
