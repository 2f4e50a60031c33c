package sim

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitTiers(t *testing.T) {
	tests := []struct {
		name       string
		token, app RateLimit
		fixed      bool
		// requests per token, round robin over two tokens
		requests  int
		firstDeny int // index of the first 429
		tier      string
	}{
		{"token tier", RateLimit{3, time.Minute}, RateLimit{100, time.Minute}, false, 8, 6, TierToken},
		{"application tier", RateLimit{100, time.Minute}, RateLimit{5, 2 * time.Minute}, false, 8, 5, TierApplication},
		{"fixed window", RateLimit{2, time.Minute}, RateLimit{-1, 0}, true, 8, 4, TierToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFakeReal(testStart)
			srv, ts := newTestServer(t, Config{TokenRateLimit: tc.token, AppRateLimit: tc.app, FixedRateWindow: tc.fixed, Clock: NewClock(testStart, 0, fr.Now)})
			toks := []string{srv.Tokens()[0].AccessToken, srv.Tokens()[1].AccessToken}
			for i := 0; i < tc.requests; i++ {
				fr.Add(time.Second)
				r := get(t, ts.URL+"/v2/usercollection/daily_sleep", toks[i%2])
				if i < tc.firstDeny {
					if r.status != 200 {
						t.Fatalf("request %d: %d %s", i, r.status, r.body)
					}
					continue
				}
				if r.status != 429 {
					t.Fatalf("request %d: %d, want 429", i, r.status)
				}
				if i > tc.firstDeny {
					continue
				}
				lim := tc.token
				if tc.tier == TierApplication {
					lim = tc.app
				}
				h := r.header
				ra, err := strconv.Atoi(h.Get("Retry-After"))
				if err != nil || ra < 1 || ra > int(lim.Window/time.Second) {
					t.Errorf("Retry-After %q", h.Get("Retry-After"))
				}
				reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
				if want := fr.Now().Unix() + int64(ra); reset != want {
					t.Errorf("X-RateLimit-Reset %d, want now+Retry-After = %d", reset, want)
				}
				if h.Get("X-RateLimit-Limit") != strconv.Itoa(lim.Requests) || h.Get("X-RateLimit-Window") != strconv.Itoa(int(lim.Window/time.Second)) || h.Get("X-RateLimit-Tier") != tc.tier {
					t.Errorf("headers limit=%q window=%q tier=%q", h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Window"), h.Get("X-RateLimit-Tier"))
				}
				if detailString(t, r) == "" {
					t.Error("429 without detail")
				}
			}
			// Once the window has passed the budget is back.
			fr.Add(tc.token.Window + tc.app.Window)
			if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", toks[0]); r.status != 200 {
				t.Errorf("after the window: %d", r.status)
			}
		})
	}
}

func TestRollingWindowRetryAfter(t *testing.T) {
	l := newRateLimiter(RateLimit{2, 10 * time.Second}, RateLimit{-1, 0}, false)
	t0 := testStart
	for _, at := range []time.Duration{0, 4 * time.Second} {
		if _, ok := l.allow("k", "app", t0.Add(at)); !ok {
			t.Fatal("rejected within budget")
		}
	}
	d, ok := l.allow("k", "app", t0.Add(5*time.Second))
	if ok || d.RetryAfter != 5*time.Second {
		t.Fatalf("third request: ok=%v retry=%v, want rejected with 5s (when the first hit leaves the window)", ok, d.RetryAfter)
	}
	if _, ok := l.allow("k", "app", t0.Add(10*time.Second+time.Millisecond)); !ok {
		t.Error("rolling window did not free the oldest hit")
	}
}

func TestSandboxSharesApplicationLimit(t *testing.T) {
	srv, ts := newTestServer(t, Config{AppRateLimit: RateLimit{3, time.Minute}})
	tok := srv.Tokens()[0].AccessToken
	for i := 0; i < 3; i++ {
		if r := get(t, ts.URL+"/v2/sandbox/usercollection/daily_sleep", "any"); r.status != 200 {
			t.Fatalf("sandbox %d: %d", i, r.status)
		}
	}
	r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok)
	if r.status != 429 || r.header.Get("X-RateLimit-Tier") != TierApplication {
		t.Errorf("live request after the sandbox used the budget: %d tier %q", r.status, r.header.Get("X-RateLimit-Tier"))
	}
}

// LimitUser holds one user's tokens at the token layer, with Oura's
// headers, and no other user's, until it is lifted.
func TestLimitUser(t *testing.T) {
	srv, ts := newTestServer(t, Config{Users: 2})
	a, b := srv.Tokens()[0].AccessToken, srv.Tokens()[1].AccessToken
	srv.LimitUser(0, 30*time.Second)
	r := get(t, ts.URL+"/v2/usercollection/daily_sleep", a)
	h := r.header
	if r.status != 429 || h.Get("X-RateLimit-Tier") != TierToken || h.Get("Retry-After") != "30" ||
		h.Get("X-RateLimit-Limit") != strconv.Itoa(DefaultRateLimitRequests) || h.Get("X-RateLimit-Window") != "300" || h.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("user 0 while limited: %d %v", r.status, h)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", b); r.status != 200 {
		t.Fatalf("user 1 while user 0 is limited: %d", r.status)
	}
	// The control route lifts it.
	if r := do(t, http.MethodPost, ts.URL+"/_sim/limit?user=0&retry_after=0s", "", nil, nil); r.status != 200 {
		t.Fatalf("POST /_sim/limit: %d %s", r.status, r.body)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", a); r.status != 200 {
		t.Fatalf("user 0 after the limit was lifted: %d", r.status)
	}
}

func TestForcedApplicationTier429(t *testing.T) {
	srv, ts := newTestServer(t, Config{AppRateLimit: RateLimit{1000, time.Minute}})
	srv.ForceRateLimitTier(1, 5*time.Second, TierApplication)
	r := get(t, ts.URL+"/v2/usercollection/daily_sleep", srv.Tokens()[0].AccessToken)
	if h := r.header; r.status != 429 || h.Get("X-RateLimit-Tier") != TierApplication || h.Get("Retry-After") != "5" ||
		h.Get("X-RateLimit-Limit") != "1000" || h.Get("X-RateLimit-Window") != "60" {
		t.Fatalf("forced application 429: %d %v", r.status, h)
	}
	if err := srv.SetFaults(Faults{Force429: 1, Force429Tier: "app"}); err == nil {
		t.Error("an unknown tier was accepted")
	}
}
