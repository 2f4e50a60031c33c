package sim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateWindow is one of WHOOP's limits: at most Requests per Window, per
// application.
type RateWindow struct {
	Requests int
	Window   time.Duration
}

// DefaultRateWindows are WHOOP's documented defaults: 100 requests a minute
// and 10,000 a day.
func DefaultRateWindows() []RateWindow {
	return []RateWindow{{100, time.Minute}, {10000, 24 * time.Hour}}
}

// rateLimiter keeps fixed windows per application on the clock's real-time
// source: a window starts with the first request after the last one ended.
type rateLimiter struct {
	mu      sync.Mutex
	windows []RateWindow
	state   map[string][]rlState
}

type rlState struct {
	start time.Time
	count int
}

// rateStatus is what the X-RateLimit-* headers report.
type rateStatus struct {
	limit, remaining int
	reset            time.Duration
}

func newRateLimiter(ws []RateWindow) *rateLimiter {
	return &rateLimiter{windows: ws, state: map[string][]rlState{}}
}

// take counts one request of app at now. A rejected request is not counted.
// The reported window is the one closest to its limit (the rejecting one on
// a 429), as WHOOP's X-RateLimit-Limit describes.
func (l *rateLimiter) take(app string, now time.Time) (rateStatus, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state[app]
	if st == nil {
		st = make([]rlState, len(l.windows))
		l.state[app] = st
	}
	for i, w := range l.windows {
		if st[i].start.IsZero() || now.Sub(st[i].start) >= w.Window {
			st[i] = rlState{start: now}
		}
	}
	for i, w := range l.windows {
		if st[i].count >= w.Requests {
			return rateStatus{limit: w.Requests, remaining: 0, reset: st[i].start.Add(w.Window).Sub(now)}, false
		}
	}
	best := rateStatus{remaining: -1}
	for i, w := range l.windows {
		st[i].count++
		rem := w.Requests - st[i].count
		if best.remaining < 0 || rem < best.remaining {
			best = rateStatus{limit: w.Requests, remaining: rem, reset: st[i].start.Add(w.Window).Sub(now)}
		}
	}
	return best, true
}

// policy is the X-RateLimit-Limit tail: "100;window=60, 10000;window=86400".
func (l *rateLimiter) policy() string {
	parts := make([]string, len(l.windows))
	for i, w := range l.windows {
		parts[i] = fmt.Sprintf("%d;window=%d", w.Requests, int64(w.Window/time.Second))
	}
	return strings.Join(parts, ", ")
}

func (l *rateLimiter) setHeaders(h http.Header, st rateStatus) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(st.limit)+", "+l.policy())
	h.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	secs := int64((st.reset + time.Second - 1) / time.Second)
	h.Set("X-RateLimit-Reset", strconv.FormatInt(max(secs, 0), 10))
}
