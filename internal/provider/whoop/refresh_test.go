package whoop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/store"
)

// countingRefresher rotates a0 -> a1 -> a2 ..., as WHOOP does.
type countingRefresher struct{ n atomic.Int32 }

func (r *countingRefresher) Refresh(context.Context, string) (provider.Tokens, error) {
	n := r.n.Add(1)
	return provider.Tokens{AccessToken: "a" + string(rune('0'+n)), RefreshToken: "r" + string(rune('0'+n))}, nil
}

// TestConcurrent401sShareOneRefresh: two requests refused together with
// the same token refresh once. WHOOP revokes the tokens a refresh
// replaces, so a second refresh would revoke the token the first one
// obtained and the connection would need a new consent.
func TestConcurrent401sShareOneRefresh(t *testing.T) {
	var (
		mu      sync.Mutex
		arrived int
		both    = make(chan struct{})
		valid   atomic.Value
	)
	valid.Store("a1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Authorization")[len("Bearer "):]
		if tok == "a0" {
			// Hold the first refusal until the second request has sent
			// the same token: the two are refused together.
			mu.Lock()
			arrived++
			if arrived == 2 {
				close(both)
			}
			mu.Unlock()
			<-both
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if tok != valid.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"user_id": 7, "email": "x@example.com", "first_name": "A", "last_name": "B"})
	}))
	defer srv.Close()
	c, err := whoop.New(whoop.ClientConfig{BaseURL: srv.URL, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := &countingRefresher{}
	now := time.Unix(1000, 0)
	ts := provider.NewTokenSource(r, provider.Tokens{AccessToken: "a0", RefreshToken: "r0", Expiry: now.Add(time.Hour)}, nil, func() time.Time { return now })
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.User(ts).Profile(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if n := r.n.Load(); n != 1 {
		t.Fatalf("%d refreshes after two refusals of one token, want 1", n)
	}
}

// TestWhoopRefusedTokenRefreshedOnce: WHOOP stops accepting an access
// token before its expiry (the simulator ends it early; wearlink's clock,
// the simulator's, says it is still good). The reads of a resync are
// refused, one refresh replaces the token, the reads succeed and the
// connection stays active. Before that, on a clock that has not moved,
// nothing refreshes: the token's expiry is the simulator's.
func TestWhoopRefusedTokenRefreshedOnce(t *testing.T) {
	var refreshes, refused atomic.Int32
	h := newHarness(t, harnessConfig{Seed: 3, Users: 1, BackfillDays: 10, Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oauth/oauth2/token" {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if form, _ := url.ParseQuery(string(body)); form.Get("grant_type") == "refresh_token" {
					refreshes.Add(1)
				}
			}
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusUnauthorized {
				refused.Add(1)
			}
		})
	}})
	conn := h.mustLink("refused-1", 0)
	h.waitBackfilled("refused-1")
	if n, m := refreshes.Load(), refused.Load(); n != 0 || m != 0 {
		t.Fatalf("%d refreshes and %d refusals before the simulated clock moved, want none", n, m)
	}
	if n := h.sim.ExpireTokens(0); n == 0 {
		t.Fatal("the simulator ended no token")
	}
	conn, err := h.st.GetConnection(h.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !conn.Tokens.Expiry.After(h.sim.Clock().Now()) {
		t.Fatalf("stored expiry %v is not after the simulator's now %v", conn.Tokens.Expiry, h.sim.Clock().Now())
	}
	day := func(n int) string { return simStart.AddDate(0, 0, n).Format(time.DateOnly) }
	if _, err := h.eng.Resync(h.ctx, conn, day(-9), day(0)); err != nil {
		t.Fatal(err)
	}
	h.waitIdle("the resync")
	if refused.Load() == 0 {
		t.Fatal("no read was refused: the test did not reach the refresh after a 401")
	}
	if n := refreshes.Load(); n != 1 {
		t.Fatalf("%d refreshes after the token was refused, want 1", n)
	}
	after, err := h.st.GetConnection(h.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != store.StatusActive || after.Tokens.AccessToken == conn.Tokens.AccessToken {
		t.Fatalf("after the refresh: status %q, access token replaced %v", after.Status, after.Tokens.AccessToken != conn.Tokens.AccessToken)
	}
	if f := h.failedIngestJobs(); len(f) > 0 {
		t.Fatalf("jobs failed: %v", f)
	}
}
