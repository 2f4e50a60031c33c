package oura_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// rotatingRefresher rotates a0 -> a1 -> a2 ... and r0 -> r1 ..., and
// refuses a spent refresh token, as Oura does.
type rotatingRefresher struct {
	mu    sync.Mutex
	valid string
	n     int
}

func (r *rotatingRefresher) Refresh(_ context.Context, rt string) (provider.Tokens, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt != r.valid {
		return provider.Tokens{}, &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New("refresh token already used")}
	}
	r.n++
	r.valid = "r" + string(rune('0'+r.n))
	return provider.Tokens{AccessToken: "a" + string(rune('0'+r.n)), RefreshToken: r.valid, Expiry: time.Unix(1000, 0).Add(24 * time.Hour)}, nil
}

// TestConcurrent401sShareOneRefresh: two requests refused together with
// the same token refresh once. Oura's refresh tokens are single-use, so a
// second refresh with the spent one would fail and send the connection to
// re-authorization.
func TestConcurrent401sShareOneRefresh(t *testing.T) {
	var (
		mu      sync.Mutex
		arrived int
		both    = make(chan struct{})
		served  atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
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
		if tok != "a1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "u-1", "age": 30})
	}))
	defer srv.Close()
	c, err := oura.New(oura.Config{BaseURL: srv.URL, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := &rotatingRefresher{valid: "r0"}
	now := time.Unix(1000, 0)
	ts := provider.NewTokenSource(r, provider.Tokens{AccessToken: "a0", RefreshToken: "r0", Expiry: now.Add(time.Hour)}, nil, func() time.Time { return now })
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.User(ts).PersonalInfo(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if r.n != 1 || served.Load() != 2 {
		t.Fatalf("%d refreshes and %d answers after two refusals of one token, want 1 and 2", r.n, served.Load())
	}
}
