package sim

import (
	"testing"
	"time"
)

// TestRateLimitHeaders: every API response carries WHOOP's headers; past a
// window's limit requests get 429 until the window resets on the real-time
// source, and a rejected request does not count.
func TestRateLimitHeaders(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		srv, ts, _ := newTestServer(t, Config{})
		for _, tok := range []string{srv.Tokens()[0].AccessToken, ""} {
			_, h, _ := get(t, ts, "/developer/v2/cycle", tok)
			if h.Get("X-RateLimit-Limit") != "100, 100;window=60, 10000;window=86400" || h.Get("X-RateLimit-Reset") != "60" {
				t.Errorf("headers %v", h)
			}
		}
		_, h, _ := get(t, ts, "/v2/cycle", "")
		if h.Get("X-RateLimit-Remaining") != "97" {
			t.Errorf("remaining %q after 3 requests", h.Get("X-RateLimit-Remaining"))
		}
	})

	srv, ts, mt := newTestServer(t, Config{RateWindows: []RateWindow{{3, time.Minute}, {5, time.Hour}}})
	tok := srv.Tokens()[0].AccessToken
	type want struct {
		status              int
		limit, remain, rset string
	}
	step := func(name string, w want) {
		t.Helper()
		st, h, _ := get(t, ts, "/v2/activity/sleep", tok)
		got := want{st, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset")}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}
	pol := ", 3;window=60, 5;window=3600"
	step("1st", want{200, "3" + pol, "2", "60"})
	mt.Add(10 * time.Second)
	step("2nd", want{200, "3" + pol, "1", "50"})
	step("3rd", want{200, "3" + pol, "0", "50"})
	step("over the minute", want{429, "3" + pol, "0", "50"})
	mt.Add(50 * time.Second)
	// The hour (4 of 5 used) is now closer to its limit than the minute.
	step("new minute", want{200, "5" + pol, "1", "3540"})
	step("5th of the hour", want{200, "5" + pol, "0", "3540"})
	step("over the hour", want{429, "5" + pol, "0", "3540"})
	mt.Add(time.Hour)
	step("new hour", want{200, "3" + pol, "2", "60"})
	// Control and OAuth routes are not API calls and carry no headers.
	if _, h, _ := get(t, ts, "/_sim/clock", ""); h.Get("X-RateLimit-Limit") != "" {
		t.Errorf("control route counted: %v", h)
	}
}
