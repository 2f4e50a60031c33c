package sim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is one layer of Oura's two-layer limit: at most Requests in any
// Window. Requests < 0 disables the layer.
type RateLimit struct {
	Requests int
	Window   time.Duration
}

// Rate-limit tiers, as sent in X-RateLimit-Tier.
const (
	TierToken       = "token"
	TierApplication = "application"
)

// rateLimiter keeps one window per key for each tier. Rolling windows keep the
// time of every accepted request; fixed windows only a count.
type rateLimiter struct {
	mu      sync.Mutex
	fixed   bool
	tiers   map[string]RateLimit
	windows map[string]map[string]*rlWindow // tier -> key -> window
	// users are held at the token layer by LimitUser: user index -> the
	// Retry-After of their 429s.
	users map[int]time.Duration
}

type rlWindow struct {
	hits  []time.Time // rolling: accepted requests, oldest first
	start time.Time   // fixed: start of the current window
	count int         // fixed: requests in the current window
}

// rateDecision describes a rejection.
type rateDecision struct {
	Tier       string
	Limit      RateLimit
	RetryAfter time.Duration
	Reset      time.Time
}

func newRateLimiter(token, app RateLimit, fixed bool) *rateLimiter {
	return &rateLimiter{
		fixed:   fixed,
		tiers:   map[string]RateLimit{TierToken: token, TierApplication: app},
		windows: map[string]map[string]*rlWindow{TierToken: {}, TierApplication: {}},
	}
}

// allow accounts one request for the token key and the application key. It
// records the request in both tiers only when both accept it, so a rejected
// request does not eat into the budget.
func (l *rateLimiter) allow(tokenKey, appKey string, now time.Time) (rateDecision, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := [2][2]string{{TierToken, tokenKey}, {TierApplication, appKey}}
	var ws [2]*rlWindow
	for i, k := range keys {
		lim := l.tiers[k[0]]
		if lim.Requests < 0 || lim.Window <= 0 {
			continue
		}
		w := l.windows[k[0]][k[1]]
		if w == nil {
			w = &rlWindow{start: now}
			l.windows[k[0]][k[1]] = w
		}
		if wait, full := l.full(w, lim, now); full {
			return rateDecision{Tier: k[0], Limit: lim, RetryAfter: wait, Reset: now.Add(wait)}, false
		}
		ws[i] = w
	}
	for _, w := range ws {
		if w == nil {
			continue
		}
		if l.fixed {
			w.count++
		} else {
			w.hits = append(w.hits, now)
		}
	}
	return rateDecision{}, true
}

// full prunes w and reports whether it has no room left, and if so how long
// until it has.
func (l *rateLimiter) full(w *rlWindow, lim RateLimit, now time.Time) (time.Duration, bool) {
	if l.fixed {
		if now.Sub(w.start) >= lim.Window {
			w.start, w.count = now, 0
		}
		if w.count >= lim.Requests {
			return w.start.Add(lim.Window).Sub(now), true
		}
		return 0, false
	}
	cut := now.Add(-lim.Window)
	i := 0
	for i < len(w.hits) && !w.hits[i].After(cut) {
		i++
	}
	if i > 0 {
		w.hits = append(w.hits[:0], w.hits[i:]...)
	}
	if len(w.hits) >= lim.Requests {
		if lim.Requests == 0 {
			return lim.Window, true
		}
		return w.hits[len(w.hits)-lim.Requests].Add(lim.Window).Sub(now), true
	}
	return 0, false
}

// LimitUser answers every data request made with a token of user i (the
// index in Users; every token the user was issued, refreshed ones too)
// with a token-tier 429 carrying retryAfter (at least 1 s) until it is
// called again with 0. Other users' requests are not touched: this is one
// user's spent per-token budget, which a test lifts when it chooses
// instead of waiting out a window.
func (s *Server) LimitUser(i int, retryAfter time.Duration) {
	l := s.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if retryAfter <= 0 {
		delete(l.users, i)
		return
	}
	if l.users == nil {
		l.users = map[int]time.Duration{}
	}
	l.users[i] = max(retryAfter, time.Second)
}

// userLimited reports the 429 of a user held by LimitUser.
func (l *rateLimiter) userLimited(i int, lim RateLimit, now time.Time) (rateDecision, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.users[i]
	if !ok {
		return rateDecision{}, false
	}
	return rateDecision{Tier: TierToken, Limit: lim, RetryAfter: d, Reset: now.Add(d)}, true
}

// writeTooManyRequests sends Oura's 429 with its rate-limit headers.
func writeTooManyRequests(w http.ResponseWriter, d rateDecision) {
	secs := int64(math.Ceil(d.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	h := w.Header()
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit.Requests))
	h.Set("X-RateLimit-Window", strconv.FormatInt(int64(d.Limit.Window/time.Second), 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Add(time.Duration(secs)*time.Second-d.RetryAfter).Unix(), 10))
	h.Set("X-RateLimit-Tier", d.Tier)
	writeDetail(w, http.StatusTooManyRequests, "Request Rate Limit Exceeded.")
}
