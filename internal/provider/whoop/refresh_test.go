package whoop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
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
