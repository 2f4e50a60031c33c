package oura

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
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
