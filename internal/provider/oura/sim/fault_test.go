package sim

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rawGet does a request and reports the transport or body-read error
// instead of failing, for faults that are supposed to cause one.
func rawGet(client *http.Client, u, token string) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestFaultTruncatedBody(t *testing.T) {
	for _, gzip := range []bool{false, true} {
		srv, ts := newTestServer(t, Config{Faults: Faults{TruncateRate: 1}, DisableGzip: !gzip})
		tok := srv.Tokens()[0].AccessToken
		// The transport asks for gzip itself and inflates transparently.
		status, body, err := rawGet(&http.Client{}, ts.URL+"/v2/usercollection/heartrate", tok)
		if status != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("gzip=%v: status %d, err %v, %d bytes: want 200 and an unexpected EOF", gzip, status, err, len(body))
		}
	}
}

func TestFaultErrorRate(t *testing.T) {
	srv, ts := newTestServer(t, Config{Seed: 3, Faults: Faults{ErrorRate: 0.3}})
	tok := srv.Tokens()[0].AccessToken
	const n = 300
	var failed int
	codes := map[int]bool{}
	for i := 0; i < n; i++ {
		r := get(t, ts.URL+"/v2/usercollection/personal_info", tok)
		if r.status >= 500 {
			failed++
			codes[r.status] = true
			if detailString(t, r) == "" {
				t.Fatal("5xx without detail")
			}
		} else if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	if failed < n*2/10 || failed > n*4/10 {
		t.Errorf("%d of %d failed with error rate 0.3", failed, n)
	}
	for c := range codes {
		if c != 500 && c != 502 && c != 503 {
			t.Errorf("unexpected status %d", c)
		}
	}
	// Control routes are never faulted.
	if r := get(t, ts.URL+"/_sim/users", ""); r.status != 200 {
		t.Errorf("/_sim/users: %d", r.status)
	}
}

func TestFaultsDeterministic(t *testing.T) {
	seq := func() string {
		srv, ts := newTestServer(t, Config{Seed: 11, Faults: Faults{ErrorRate: 0.5}})
		tok := srv.Tokens()[0].AccessToken
		var s []byte
		for i := 0; i < 40; i++ {
			s = strconv.AppendInt(s, int64(get(t, ts.URL+"/v2/usercollection/personal_info", tok).status), 10)
		}
		return string(s)
	}
	if a, b := seq(), seq(); a != b {
		t.Errorf("same seed, different fault sequences:\n%s\n%s", a, b)
	}
}

func TestFaultConnectionReset(t *testing.T) {
	srv, ts := newTestServer(t, Config{Faults: Faults{ResetRate: 1}})
	_, _, err := rawGet(&http.Client{}, ts.URL+"/v2/usercollection/personal_info", srv.Tokens()[0].AccessToken)
	if err == nil {
		t.Fatal("no error from a reset connection")
	}
	// The OAuth endpoints are not affected.
	if r := do(t, http.MethodPost, ts.URL+"/oauth/token", "", nil, nil); r.status != 401 {
		t.Errorf("oauth under faults: %d", r.status)
	}
}

func TestFaultForced429AndLatency(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken
	srv.ForceRateLimit(3, 2*time.Second)
	for i := 0; i < 3; i++ {
		r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok)
		if r.status != 429 || r.header.Get("Retry-After") != "2" || r.header.Get("X-RateLimit-Tier") != TierToken || r.header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("forced 429 #%d: %d %v", i, r.status, r.header)
		}
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok); r.status != 200 {
		t.Errorf("after the burst: %d", r.status)
	}
	if err := srv.SetFaults(Faults{Latency: 60 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	get(t, ts.URL+"/v2/usercollection/daily_sleep", tok)
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("latency %v, want at least 60ms", d)
	}
	if err := srv.SetFaults(Faults{ErrorRate: 2}); err == nil {
		t.Error("a fraction above 1 was accepted")
	}
}
