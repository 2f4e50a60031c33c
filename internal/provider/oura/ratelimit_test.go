package oura

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeTime is the limiter's clock in these tests: a wait moves it forward
// instead of sleeping, and is recorded.
type fakeTime struct {
	t     time.Time
	waits []time.Duration
}

func newFakeTime() *fakeTime { return &fakeTime{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (f *fakeTime) now() time.Time { return f.t }

func (f *fakeTime) sleep(_ context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	f.t = f.t.Add(d)
	return nil
}

func (f *fakeTime) limiter(app, perToken Limit) *RateLimiter {
	return NewRateLimiter(app, perToken, WithLimiterClock(f.now, f.sleep))
}

// send makes n requests with token, each dt after the last, and returns
// how long the limiter held them back in all.
func (f *fakeTime) send(t *testing.T, r *RateLimiter, token string, n int, dt time.Duration) time.Duration {
	t.Helper()
	var held time.Duration
	for range n {
		before := len(f.waits)
		if err := r.Wait(context.Background(), token); err != nil {
			t.Fatal(err)
		}
		for _, w := range f.waits[before:] {
			held += w
		}
		f.t = f.t.Add(dt)
	}
	return held
}

func TestRateLimiterSpendsTheWholeWindowAtOnce(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	// Oura counts 5,000 requests in any 5 minutes: a year's pull (a few
	// hundred requests) and even the whole budget go without a wait.
	if held := f.send(t, lim, "a", 5000, time.Millisecond); held != 0 {
		t.Fatalf("5000 requests in 5 s were held back %v; the window allows them", held)
	}
	// The next waits until the first has left the window (held a fiftieth
	// longer than Oura's, for requests still on their way).
	start := f.t.Add(-5000 * time.Millisecond)
	f.send(t, lim, "a", 1, 0)
	if want := start.Add(5*time.Minute + 6*time.Second); !f.t.Equal(want) {
		t.Fatalf("request 5001 went at %v, want %v", f.t.Sub(start), want.Sub(start))
	}
}

func TestRateLimiterLayers(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(Limit{Requests: 5, Window: time.Minute}, Limit{Requests: 3, Window: time.Minute})
	if held := f.send(t, lim, "a", 3, 0); held != 0 {
		t.Fatalf("token a's budget of 3 was held %v", held)
	}
	// Another token has its own budget, but both share the application's.
	if held := f.send(t, lim, "b", 2, 0); held != 0 {
		t.Fatalf("token b was held %v with budget left in both layers", held)
	}
	if held := f.send(t, lim, "c", 1, 0); held == 0 {
		t.Fatal("a sixth request within the minute was not held by the application budget of 5")
	}
}

func TestRateLimiterRetryAfter(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	h := http.Header{}
	h.Set("Retry-After", "7")
	h.Set("X-RateLimit-Tier", "token")
	lim.Observe("a", http.StatusTooManyRequests, h)
	if held := f.send(t, lim, "b", 1, 0); held != 0 {
		t.Fatalf("a 429 to token a held token b %v", held)
	}
	if held := f.send(t, lim, "a", 1, 0); held != 7*time.Second {
		t.Fatalf("token a was held %v after Retry-After: 7, want 7s", held)
	}

	h.Set("X-RateLimit-Tier", "application")
	lim.Observe("a", http.StatusTooManyRequests, h)
	if held := f.send(t, lim, "b", 1, 0); held != 7*time.Second {
		t.Fatalf("after the application's 429, token b was held %v, want 7s", held)
	}
}

func TestRateLimiterLearnsTheEnforcedBudget(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "2")
	h.Set("X-RateLimit-Window", "10")
	lim.Observe("a", http.StatusOK, h)
	if held := f.send(t, lim, "a", 2, 0); held != 0 {
		t.Fatalf("held %v within the announced 2 per 10 s", held)
	}
	if held := f.send(t, lim, "a", 1, 0); held != 10*time.Second+200*time.Millisecond {
		t.Fatalf("the third request was held %v, want the announced window (10.2 s with the margin)", held)
	}
	// Every token has the budget the API announced for tokens.
	if held := f.send(t, lim, "b", 3, 0); held == 0 {
		t.Fatal("token b was not held to the announced budget")
	}
}

func TestRateLimiterRemainingUntilReset(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	reset := f.t.Add(40 * time.Second)
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "2")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	lim.Observe("a", http.StatusOK, h)
	// An answer that was overtaken says more remains: the lower count holds.
	h.Set("X-RateLimit-Remaining", "9")
	lim.Observe("a", http.StatusOK, h)
	if held := f.send(t, lim, "a", 2, 0); held != 0 {
		t.Fatalf("held %v with 2 remaining", held)
	}
	f.send(t, lim, "a", 1, 0)
	if !f.t.Equal(reset) {
		t.Fatalf("the request after the remaining ones went %v before the reset", reset.Sub(f.t))
	}
}

func TestRateLimiterOffIgnoresHeaders(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(Limit{}, Limit{})
	h := http.Header{}
	h.Set("Retry-After", "30")
	h.Set("X-RateLimit-Limit", "1")
	h.Set("X-RateLimit-Window", "300")
	lim.Observe("a", http.StatusTooManyRequests, h)
	if held := f.send(t, lim, "a", 100, 0); held != 0 {
		t.Fatalf("an unlimited limiter held requests %v", held)
	}
}

// The client hands every answer's headers to the limiter.
func TestClientFeedsTheLimiter(t *testing.T) {
	f := newFakeTime()
	reset := f.t.Add(time.Minute)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"u1"}`))
	}))
	defer srv.Close()
	cl, err := New(Config{BaseURL: srv.URL, Limiter: f.limiter(DefaultLimit(), DefaultLimit())})
	if err != nil {
		t.Fatal(err)
	}
	u := cl.User(StaticToken("t"))
	for range 2 {
		if _, err := u.PersonalInfo(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.waits) != 1 || f.waits[0] != time.Minute {
		t.Fatalf("waits %v, want one of 1m: the first answer said nothing remains until the reset", f.waits)
	}
}

// A wait longer than the caller's bound is returned, naming the layer,
// instead of taken; shorter ones are sat out, and other tokens go at once.
func TestRateLimiterWaitAtMost(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	h := http.Header{}
	h.Set("Retry-After", "90")
	h.Set("X-RateLimit-Tier", TierToken)
	lim.Observe("a", http.StatusTooManyRequests, h)

	err := lim.WaitAtMost(context.Background(), "a", 5*time.Second)
	var oe *Error
	if !errors.As(err, &oe) || oe.Kind != KindRateLimited || oe.RetryAfter != 90*time.Second || oe.RateLimitTier() != TierToken {
		t.Fatalf("token a after a 90 s token-tier 429: %v (%+v), want rate_limited, 90s, tier token", err, oe)
	}
	if len(f.waits) != 0 {
		t.Fatalf("the limiter waited %v before refusing", f.waits)
	}
	if err := lim.WaitAtMost(context.Background(), "b", 5*time.Second); err != nil || len(f.waits) != 0 {
		t.Fatalf("token b: %v, waits %v; a's 429 must not hold it", err, f.waits)
	}

	h.Set("Retry-After", "3")
	lim.Observe("c", http.StatusTooManyRequests, h)
	if err := lim.WaitAtMost(context.Background(), "c", 5*time.Second); err != nil || len(f.waits) != 1 || f.waits[0] != 3*time.Second {
		t.Fatalf("token c: %v, waits %v; a 3 s wait within the bound is sat out", err, f.waits)
	}

	h.Set("Retry-After", "60")
	h.Set("X-RateLimit-Tier", TierApplication)
	lim.Observe("c", http.StatusTooManyRequests, h)
	err = lim.WaitAtMost(context.Background(), "b", 5*time.Second)
	if !errors.As(err, &oe) || oe.RateLimitTier() != TierApplication || oe.RetryAfter != 60*time.Second {
		t.Fatalf("token b after the application's 429: %v, want tier application, 60s", err)
	}
}

// A 429 without Retry-After holds its layer until X-RateLimit-Reset.
func TestRateLimiter429Reset(t *testing.T) {
	f := newFakeTime()
	lim := f.limiter(DefaultLimit(), DefaultLimit())
	h := http.Header{}
	h.Set("X-RateLimit-Tier", TierToken)
	h.Set("X-RateLimit-Reset", strconv.FormatInt(f.t.Add(20*time.Second).Unix(), 10))
	lim.Observe("a", http.StatusTooManyRequests, h)
	if held := f.send(t, lim, "a", 1, 0); held != 20*time.Second {
		t.Fatalf("held %v, want until the reset 20 s away", held)
	}
}

func TestTierLabel(t *testing.T) {
	for in, want := range map[string]string{"token": "token", "application": "application", "": "unknown", "app": "unknown"} {
		if got := TierLabel(in); got != want {
			t.Errorf("TierLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// The client reports each 429's tier, returns a token-tier wait longer
// than MaxRetryAfter to the caller, and then refuses that token's calls
// without sending them, while another token's calls go through.
func TestClientTokenTier429(t *testing.T) {
	f := newFakeTime()
	var mu sync.Mutex
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Authorization")
		mu.Lock()
		sent = append(sent, tok)
		mu.Unlock()
		if tok == "Bearer a" {
			w.Header().Set("Retry-After", "120")
			w.Header().Set("X-RateLimit-Tier", TierToken)
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.t.Add(2*time.Minute).Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"detail":"Request Rate Limit Exceeded."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"u1"}`))
	}))
	defer srv.Close()
	var tiers []string
	cl, err := New(Config{BaseURL: srv.URL, Limiter: f.limiter(DefaultLimit(), DefaultLimit()), MaxRetryAfter: 5 * time.Second, MaxLimiterWait: 5 * time.Second,
		Now: f.now, Sleep: f.sleep, OnRateLimited: func(tier string) { tiers = append(tiers, tier) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		_, err := cl.User(StaticToken("a")).PersonalInfo(ctx)
		var oe *Error
		if !errors.As(err, &oe) || oe.Kind != KindRateLimited || oe.RateLimitTier() != TierToken || oe.RetryAfter != 2*time.Minute {
			t.Fatalf("call %d with token a: %v, want rate_limited, tier token, 2m", i, err)
		}
	}
	mu.Lock()
	n := len(sent)
	mu.Unlock()
	if n != 1 || len(tiers) != 1 || tiers[0] != TierToken {
		t.Fatalf("%d requests sent, tiers %v: want one request with a and one token-tier 429; the second call waits in the limiter's account", n, tiers)
	}
	if _, err := cl.User(StaticToken("b")).PersonalInfo(ctx); err != nil {
		t.Fatalf("token b: %v", err)
	}
	if len(f.waits) != 0 {
		t.Fatalf("the client sat out %v", f.waits)
	}
}
