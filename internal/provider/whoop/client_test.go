package whoop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// TestNewNeedsBaseURL: no default host, so an unset base URL can never
// send a request to the live API.
func TestNewNeedsBaseURL(t *testing.T) {
	for _, base := range []string{"", "api.prod.whoop.com", "://x"} {
		if _, err := New(ClientConfig{BaseURL: base}); err == nil {
			t.Errorf("New(%q): no error", base)
		}
	}
	c, err := New(ClientConfig{BaseURL: "http://127.0.0.1:1/developer/"})
	if err != nil || c.BaseURL() != "http://127.0.0.1:1/developer" {
		t.Errorf("New: %v, %v", c, err)
	}
	if _, err := NewProvider(Config{Client: c}); err == nil {
		t.Error("NewProvider without an OAuth base URL: no error")
	}
	if _, err := NewProvider(Config{OAuthBaseURL: "http://127.0.0.1:1"}); err == nil {
		t.Error("NewProvider without a client: no error")
	}
}

// TestPagination: pages of at most 25 are followed by nextToken (the
// response's next_token), with the window sent again on every page.
func TestPagination(t *testing.T) {
	f := newFakeWhoop(t)
	base := mustTime(t, "2024-03-01T00:00:00Z")
	for i := range 60 {
		s := base.Add(time.Duration(i) * time.Hour)
		f.add(pathWorkout, workoutRec(t, fmt.Sprintf("w-%02d", i), s.Format(time.RFC3339), s.Add(30*time.Minute).Format(time.RFC3339), "Z"))
	}
	clk := newClock()
	u := f.client(t, clk, nil).User(provider.StaticToken("tok"))
	recs, err := u.Workouts(context.Background(), Range{Start: base, End: base.Add(100 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 60 {
		t.Fatalf("got %d records, want 60", len(recs))
	}
	if recs[0].Value.ID != "w-59" || recs[59].Value.ID != "w-00" {
		t.Errorf("order: first %s, last %s; want start descending", recs[0].Value.ID, recs[59].Value.ID)
	}
	reqs := f.log()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	wantTokens := []string{"", "c25", "c50"}
	for i, r := range reqs {
		q := r.URL.Query()
		if got := q.Get("nextToken"); got != wantTokens[i] {
			t.Errorf("request %d: nextToken %q, want %q", i, got, wantTokens[i])
		}
		if q.Has("next_token") {
			t.Errorf("request %d sends next_token, WHOOP's request parameter is nextToken", i)
		}
		if q.Get("limit") != "25" || q.Get("start") != "2024-03-01T00:00:00.000Z" || q.Get("end") != "2024-03-05T04:00:00.000Z" {
			t.Errorf("request %d: query %s", i, r.URL.RawQuery)
		}
	}
}

// TestPaginationLoop: a cursor that repeats is an error, not a hang.
func TestPaginationLoop(t *testing.T) {
	f := newFakeWhoop(t)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		writeJSON(w, map[string]any{"records": []any{}, "next_token": "same"})
		return true
	}
	_, err := f.client(t, newClock(), nil).User(provider.StaticToken("tok")).Sleeps(context.Background(), Range{})
	if err == nil || len(f.log()) != 2 {
		t.Errorf("err %v after %d requests; want an error after 2", err, len(f.log()))
	}
}

// TestRateLimited: a 429 is waited out by its X-RateLimit-Reset on the
// injected clock; a reset longer than MaxRetryAfter is returned to the
// caller as KindRateLimited with RetryAfter.
func TestRateLimited(t *testing.T) {
	tests := []struct {
		name      string
		reset     string
		failures  int
		wantErr   bool
		wantSleep []time.Duration
		wantReqs  int
	}{
		{"short reset is waited out", "3", 1, false, []time.Duration{3 * time.Second}, 2},
		{"two in a row", "7", 2, false, []time.Duration{7 * time.Second, 7 * time.Second}, 3},
		{"long reset goes to the caller", "3600", 1, true, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWhoop(t)
			n := 0
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				n++
				if n > tt.failures {
					return false
				}
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", tt.reset)
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			clk := newClock()
			var tiers []string
			_, err := f.client(t, clk, func(c *ClientConfig) { c.OnRateLimited = func(tier string) { tiers = append(tiers, tier) } }).
				User(provider.StaticToken("tok")).Profile(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if provider.KindOf(err) != provider.KindRateLimited || provider.RetryAfter(err) != time.Hour {
					t.Errorf("kind %v, retry after %v; want rate_limited, 1h", provider.KindOf(err), provider.RetryAfter(err))
				}
			}
			if got := clk.Slept(); !slices.Equal(got, tt.wantSleep) {
				t.Errorf("slept %v, want %v", got, tt.wantSleep)
			}
			if len(f.log()) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(f.log()), tt.wantReqs)
			}
			// Every 429 is reported, as the application's: WHOOP has no
			// other layer.
			if want := slices.Repeat([]string{TierApplication}, min(tt.failures, tt.wantReqs)); !slices.Equal(tiers, want) {
				t.Errorf("reported %v, want %v", tiers, want)
			}
		})
	}
}

// TestBudget: the client stays inside the per-minute budget and stops at
// X-RateLimit-Remaining 0 until the reset it came with.
func TestBudget(t *testing.T) {
	t.Run("per minute", func(t *testing.T) {
		f := newFakeWhoop(t)
		clk := newClock()
		u := f.client(t, clk, func(c *ClientConfig) { c.PerMinute = 2 }).User(provider.StaticToken("tok"))
		for range 3 {
			if _, err := u.Profile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := clk.Slept(); !slices.Equal(got, []time.Duration{time.Minute}) {
			t.Errorf("slept %v, want [1m]", got)
		}
	})
	t.Run("remaining zero", func(t *testing.T) {
		f := newFakeWhoop(t)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "10")
			writeJSON(w, f.profile)
			return true
		}
		clk := newClock()
		u := f.client(t, clk, nil).User(provider.StaticToken("tok"))
		for range 2 {
			if _, err := u.Profile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := clk.Slept(); !slices.Equal(got, []time.Duration{10 * time.Second}) {
			t.Errorf("slept %v, want [10s]", got)
		}
	})
	t.Run("day spent", func(t *testing.T) {
		f := newFakeWhoop(t)
		clk := newClock()
		u := f.client(t, clk, func(c *ClientConfig) { c.PerDay = 1 }).User(provider.StaticToken("tok"))
		if _, err := u.Profile(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err := u.Profile(context.Background())
		if provider.KindOf(err) != provider.KindRateLimited || provider.RetryAfter(err) != 24*time.Hour {
			t.Errorf("err %v (retry after %v), want rate_limited after 24h", err, provider.RetryAfter(err))
		}
	})
}

// refreshingAuth counts refreshes and swaps the token.
type refreshingAuth struct {
	tok       string
	refreshes int
}

func (a *refreshingAuth) AccessToken(context.Context) (string, error) { return a.tok, nil }
func (a *refreshingAuth) RefreshRejected(context.Context, string) error {
	a.refreshes++
	a.tok = "tok"
	return nil
}

// TestErrorKinds: statuses map to the seam's kinds; 5xx are retried, a
// 401 refreshes once.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		status   int
		want     provider.Kind
		wantReqs int
	}{
		{http.StatusBadRequest, provider.KindInvalidRequest, 1},
		{http.StatusUnauthorized, provider.KindInvalidToken, 1},
		{http.StatusForbidden, provider.KindForbidden, 1},
		{http.StatusNotFound, provider.KindNotFound, 1},
		{http.StatusInternalServerError, provider.KindServer, 5},
		{http.StatusBadGateway, provider.KindServer, 5},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			f := newFakeWhoop(t)
			f.hook = func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(tt.status); return true }
			_, err := f.client(t, newClock(), nil).User(provider.StaticToken("tok")).Sleep(context.Background(), "x")
			if got := provider.KindOf(err); got != tt.want {
				t.Errorf("kind %v, want %v (%v)", got, tt.want, err)
			}
			if len(f.log()) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(f.log()), tt.wantReqs)
			}
		})
	}
	t.Run("refresh after 401", func(t *testing.T) {
		f := newFakeWhoop(t)
		a := &refreshingAuth{tok: "expired"}
		if _, err := f.client(t, newClock(), nil).User(a).Profile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if a.refreshes != 1 {
			t.Errorf("%d refreshes, want 1", a.refreshes)
		}
	})
	t.Run("network", func(t *testing.T) {
		f := newFakeWhoop(t)
		c := f.client(t, newClock(), func(c *ClientConfig) { c.MaxAttempts = 2 })
		f.srv.Close()
		_, err := c.User(provider.StaticToken("tok")).Profile(context.Background())
		var we *Error
		if provider.KindOf(err) != provider.KindNetwork || !errors.As(err, &we) {
			t.Errorf("err %v, want network", err)
		}
	})
	t.Run("bad cycle id", func(t *testing.T) {
		f := newFakeWhoop(t)
		_, err := f.client(t, newClock(), nil).User(provider.StaticToken("tok")).Cycle(context.Background(), "ecfc6a15-4661")
		if provider.KindOf(err) != provider.KindInvalidRequest || len(f.log()) != 0 {
			t.Errorf("err %v after %d requests", err, len(f.log()))
		}
	})
}
