package withings

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// TestNewNeedsBaseURL: no default host, so an unset base URL can never
// send a request to the live API.
func TestNewNeedsBaseURL(t *testing.T) {
	for _, base := range []string{"", "wbsapi.withings.net", "://x"} {
		if _, err := New(ClientConfig{BaseURL: base}); err == nil {
			t.Errorf("New(%q): no error", base)
		}
	}
	c, err := New(ClientConfig{BaseURL: "http://127.0.0.1:1/"})
	if err != nil || c.BaseURL() != "http://127.0.0.1:1" {
		t.Fatalf("New: %v, %v", c, err)
	}
	if _, err := NewProvider(Config{Client: c}); err == nil {
		t.Error("NewProvider without an authorize URL: no error")
	}
	if _, err := NewProvider(Config{AuthURL: "http://127.0.0.1:1/authorize2"}); err == nil {
		t.Error("NewProvider without a client: no error")
	}
}

// TestMeasuresPaging: getmeas is a form POST with the window in epoch
// seconds and every measure type, and offset/more is followed to the end.
func TestMeasuresPaging(t *testing.T) {
	f := newFake(t)
	f.on("/measure", "getmeas", func(form url.Values, _ string) string {
		off, _ := strconv.Atoi(form.Get("offset"))
		var grps []any
		for i := off; i < off+2 && i < 5; i++ {
			grps = append(grps, map[string]any{"grpid": 100 + i, "date": 1710072000, "category": 1,
				"measures": []any{map[string]any{"value": 70000 + i, "type": 1, "unit": -3}}})
		}
		// Withings sends more as 0/1 in getmeas and as a boolean
		// elsewhere: both must page.
		var more any = 1
		if off == 2 {
			more = true
		}
		if off+2 >= 5 {
			more = 0
		}
		return ok(map[string]any{"updatetime": 1710072100, "timezone": "Europe/Paris", "measuregrps": grps, "more": more, "offset": off + 2})
	})
	clk := newClock()
	u := f.client(t, clk, nil).User(static("tok"))
	start, end := time.Unix(1710000000, 0), time.Unix(1710100000, 0)
	m, err := u.Measures(bg, MeasureQuery{Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 5 || m.Timezone != "Europe/Paris" || m.UpdateTime != 1710072100 {
		t.Fatalf("got %d groups, zone %q, updatetime %d", len(m.Groups), m.Timezone, m.UpdateTime)
	}
	reqs := f.log()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Bearer != "tok" || r.Form.Get("startdate") != "1710000000" || r.Form.Get("enddate") != "1710100000" {
			t.Errorf("request %d: bearer %q form %v", i, r.Bearer, r.Form)
		}
		if r.Form.Has("lastupdate") {
			t.Errorf("request %d sends lastupdate with a range", i)
		}
		if want := []string{"", "2", "4"}[i]; r.Form.Get("offset") != want {
			t.Errorf("request %d: offset %q, want %q", i, r.Form.Get("offset"), want)
		}
		types := strings.Split(r.Form.Get("meastypes"), ",")
		for _, want := range []string{"1", "4", "9", "10", "11", "12", "54", "71", "73", "123", "135", "155"} {
			if !slices.Contains(types, want) {
				t.Errorf("request %d: meastypes %v lacks %s", i, types, want)
			}
		}
	}
}

// TestPagingThatDoesNotMoveOn: a "more" whose offset does not advance is
// an error, not a loop.
func TestPagingThatDoesNotMoveOn(t *testing.T) {
	f := newFake(t)
	f.on("/v2/measure", "getactivity", func(url.Values, string) string {
		return ok(map[string]any{"activities": []any{}, "more": true, "offset": 7})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	_, err := u.Activities(bg, DayQuery{From: "2024-03-01", To: "2024-03-02"})
	if provider.KindOf(err) != provider.KindServer {
		t.Fatalf("err %v, want a server error", err)
	}
	if n := len(f.log()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestNeverRangeWithLastupdate: a ymd (or epoch) range and lastupdate are
// never sent together, and a query with neither is refused; nothing is
// sent in either case.
func TestNeverRangeWithLastupdate(t *testing.T) {
	f := newFake(t)
	u := f.client(t, newClock(), nil).User(static("tok"))
	lu := time.Unix(1710000000, 0)
	cases := []struct {
		name string
		call func() error
	}{
		{"activity both", func() error {
			_, err := u.Activities(bg, DayQuery{From: "2024-03-01", To: "2024-03-02", LastUpdate: lu})
			return err
		}},
		{"workouts neither", func() error { _, err := u.Workouts(bg, DayQuery{}); return err }},
		{"summary bad days", func() error {
			_, err := u.SleepSummaries(bg, DayQuery{From: "2024-03-02", To: "2024-03-01"})
			return err
		}},
		{"measures both", func() error {
			_, err := u.Measures(bg, MeasureQuery{Start: lu, End: lu.Add(time.Hour), LastUpdate: lu})
			return err
		}},
		{"measures neither", func() error { _, err := u.Measures(bg, MeasureQuery{}); return err }},
		{"sleep empty", func() error { _, err := u.SleepSeries(bg, lu, lu, nil); return err }},
	}
	for _, c := range cases {
		if err := c.call(); provider.KindOf(err) != provider.KindInvalidRequest {
			t.Errorf("%s: err %v, want invalid_request", c.name, err)
		}
	}
	if n := len(f.log()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestLastupdateAlone: lastupdate goes without any range.
func TestLastupdateAlone(t *testing.T) {
	f := newFake(t)
	f.on("/v2/sleep", "getsummary", func(url.Values, string) string {
		return ok(map[string]any{"series": []any{}, "more": false, "offset": 0})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	got, err := u.SleepSummaries(bg, DayQuery{LastUpdate: time.Unix(1710000000, 0)})
	if err != nil || len(got) != 0 {
		t.Fatalf("%v, %v", got, err)
	}
	r := f.log()[0]
	if r.Form.Get("lastupdate") != "1710000000" || r.Form.Has("startdateymd") || r.Form.Has("enddateymd") {
		t.Errorf("form %v", r.Form)
	}
	if !strings.Contains(r.Form.Get("data_fields"), "sleep_score") {
		t.Errorf("data_fields %q", r.Form.Get("data_fields"))
	}
}

// TestStatusClasses: every class of the status table is a typed error of
// the seam's kind, with the status a caller can branch on, and only the
// ones that may pass are retried.
func TestStatusClasses(t *testing.T) {
	cases := []struct {
		name     string
		answer   string
		http     int
		kind     provider.Kind
		status   int
		attempts int
	}{
		{"auth 100", status(100), 200, provider.KindInvalidToken, 100, 1},
		{"auth 101", status(101), 200, provider.KindInvalidToken, 101, 1},
		{"auth 102", status(102), 200, provider.KindInvalidToken, 102, 1},
		{"auth 200", status(200), 200, provider.KindInvalidToken, 200, 1},
		{"auth 401", status(401), 200, provider.KindInvalidToken, 401, 1},
		{"rate 601", status(601), 200, provider.KindRateLimited, 601, 3},
		{"unauthorized 2553", status(2553), 200, provider.KindMissingScope, 2553, 1},
		{"unauthorized 2555", status(2555), 200, provider.KindMissingScope, 2555, 1},
		{"invalid params 293", status(293), 200, provider.KindInvalidRequest, 293, 1},
		{"invalid params 503", status(503), 200, provider.KindInvalidRequest, 503, 1},
		{"not implemented 2554", status(2554), 200, provider.KindInvalidRequest, 2554, 1},
		{"bad state 524", status(524), 200, provider.KindInvalidRequest, 524, 1},
		{"timeout 522", status(522), 200, provider.KindServer, 522, 3},
		{"error occurred 2552", status(2552), 200, provider.KindServer, 2552, 3},
		{"unlisted 12345", status(12345), 200, provider.KindServer, 12345, 3},
		{"no body", `{"status":0}`, 200, provider.KindServer, 0, 3},
		{"null body", `{"status":0,"body":null}`, 200, provider.KindServer, 0, 3},
		{"truncated", `{"status":0,"body":{"measuregrps":[{"grpid":1`, 200, provider.KindNetwork, 0, 3},
		{"not json", `<html>bad gateway</html>`, 200, provider.KindNetwork, 0, 3},
		{"no status", `{"body":{"measuregrps":[]}}`, 200, provider.KindNetwork, 0, 3},
		{"wrong shape", ok(map[string]any{"measuregrps": "nope"}), 200, provider.KindServer, 0, 1},
		{"no list", ok(map[string]any{"updatetime": 1}), 200, provider.KindServer, 0, 1},
		{"http 500", "oops", 500, provider.KindServer, 0, 3},
		{"http 429", "slow down", 429, provider.KindRateLimited, 0, 3},
		{"http 403", "no", 403, provider.KindForbidden, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				w.WriteHeader(c.http)
				_, _ = w.Write([]byte(c.answer))
			}))
			defer srv.Close()
			clk := newClock()
			cl, err := New(ClientConfig{BaseURL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, MaxAttempts: 3})
			if err != nil {
				t.Fatal(err)
			}
			m, err := cl.User(static("s3cr3t-tok")).Measures(bg, MeasureQuery{LastUpdate: time.Unix(1, 0)})
			if err == nil {
				t.Fatalf("no error; got %d groups", len(m.Groups))
			}
			if k := provider.KindOf(err); k != c.kind {
				t.Errorf("kind %v, want %v (%v)", k, c.kind, err)
			}
			if s := StatusOf(err); s != c.status {
				t.Errorf("status %d, want %d", s, c.status)
			}
			if n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			if c.kind == provider.KindRateLimited && provider.RetryAfter(err) <= 0 {
				t.Errorf("a rate limit without a RetryAfter: %v", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// Test601Retry: a 601 holds the application back (10 s, then 20 s) and
// the request is tried again; one that lasts beyond MaxRetryAfter is
// returned with a RetryAfter for the caller to reschedule.
func Test601Retry(t *testing.T) {
	f := newFake(t)
	n := 0
	f.on("/v2/user", "getdevice", func(url.Values, string) string {
		n++
		if n <= 2 {
			return status(601)
		}
		return ok(map[string]any{"devices": []any{map[string]any{"type": "Scale", "model": "Body+", "hash_deviceid": "h1"}}})
	})
	clk := newClock()
	var tiers []string
	u := f.client(t, clk, func(c *ClientConfig) { c.OnRateLimited = func(tier string) { tiers = append(tiers, tier) } }).User(static("tok"))
	devs, err := u.Devices(bg)
	if err != nil || len(devs) != 1 {
		t.Fatalf("%v, %v", devs, err)
	}
	if !slices.Equal(tiers, []string{TierApplication, TierApplication}) {
		t.Errorf("reported %v, want the application's tier for each 601", tiers)
	}
	if got := clk.slept(); !slices.Equal(got, []time.Duration{10 * time.Second, 20 * time.Second}) {
		t.Errorf("waited %v, want [10s 20s]", got)
	}

	f.on("/v2/user", "getdevice", func(url.Values, string) string { return status(601) })
	clk2 := newClock()
	u2 := f.client(t, clk2, func(c *ClientConfig) { c.MaxAttempts = 10; c.MaxRetryAfter = 30 * time.Second }).User(static("tok"))
	_, err = u2.Devices(bg)
	if provider.KindOf(err) != provider.KindRateLimited || provider.RetryAfter(err) != 30*time.Second {
		t.Errorf("err %v, retry after %v", err, provider.RetryAfter(err))
	}
	if got := clk2.slept(); !slices.Equal(got, []time.Duration{10 * time.Second, 20 * time.Second}) {
		t.Errorf("waited %v, want [10s 20s] before giving up", got)
	}
}

// TestBudget: the client sends at most PerMinute requests in a minute of
// its clock, then waits for the next minute.
func TestBudget(t *testing.T) {
	f := newFake(t)
	f.on("/v2/user", "getdevice", func(url.Values, string) string { return ok(map[string]any{"devices": []any{}}) })
	clk := newClock()
	u := f.client(t, clk, func(c *ClientConfig) { c.PerMinute = 3 }).User(static("tok"))
	for range 7 {
		if _, err := u.Devices(bg); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.slept(); !slices.Equal(got, []time.Duration{time.Minute, time.Minute}) {
		t.Errorf("waited %v, want two minutes", got)
	}
}

// TestBudgetBeyondMaxWait: a budget wait longer than MaxRetryAfter is
// returned at once for the caller to reschedule, and nothing is sent.
func TestBudgetBeyondMaxWait(t *testing.T) {
	f := newFake(t)
	f.on("/v2/user", "getdevice", func(url.Values, string) string { return ok(map[string]any{"devices": []any{}}) })
	clk := newClock()
	reported := 0
	u := f.client(t, clk, func(c *ClientConfig) {
		c.PerMinute = 1
		c.MaxRetryAfter = 10 * time.Second
		c.OnRateLimited = func(string) { reported++ }
	}).User(static("tok"))
	if _, err := u.Devices(bg); err != nil {
		t.Fatal(err)
	}
	_, err := u.Devices(bg)
	if provider.KindOf(err) != provider.KindRateLimited || provider.RetryAfter(err) != time.Minute {
		t.Errorf("err %v, retry after %v", err, provider.RetryAfter(err))
	}
	if n, slept := len(f.log()), clk.slept(); n != 1 || len(slept) != 0 {
		t.Errorf("%d requests, slept %v", n, slept)
	}
	if reported != 0 {
		t.Errorf("%d rate limits reported; the budget's own wait is not Withings' answer", reported)
	}
}

// TestSleepSeriesChunks: the high-frequency series is read 24 h at a
// time, with every data field, and a segment two calls return is kept
// once.
func TestSleepSeriesChunks(t *testing.T) {
	f := newFake(t)
	f.on("/v2/sleep", "get", func(form url.Values, _ string) string {
		s, _ := strconv.ParseInt(form.Get("startdate"), 10, 64)
		e, _ := strconv.ParseInt(form.Get("enddate"), 10, 64)
		if e-s > 86400 {
			return status(293)
		}
		var series []any
		// One segment per 6 h, and one across each call's end.
		for at := s; at <= e; at += 6 * 3600 {
			series = append(series, map[string]any{"startdate": at, "enddate": at + 60, "state": 1,
				"hr": map[string]any{strconv.FormatInt(at, 10): 60}})
		}
		return ok(map[string]any{"series": series, "model": 32})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	start := time.Unix(1710000000, 0)
	segs, err := u.SleepSeries(bg, start, start.Add(60*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.log()
	if len(reqs) != 3 {
		t.Fatalf("%d calls, want 3", len(reqs))
	}
	for _, r := range reqs {
		if !strings.Contains(r.Form.Get("data_fields"), "hr,rr,snoring") {
			t.Errorf("data_fields %q", r.Form.Get("data_fields"))
		}
	}
	if len(segs) != 11 { // every 6 h from 0 to 60 h
		t.Errorf("%d segments, want 11", len(segs))
	}
}

// TestIntradayMerges: getintradayactivity's maps of the 24 h calls are
// merged, an empty series ([]) included.
func TestIntradayMerges(t *testing.T) {
	f := newFake(t)
	f.on("/v2/measure", "getintradayactivity", func(form url.Values, _ string) string {
		if form.Get("startdate") == "1710000000" {
			return ok(map[string]any{"series": map[string]any{"1710000060": map[string]any{"steps": 3}}})
		}
		return ok(map[string]any{"series": []any{}})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	m, err := u.Intraday(bg, time.Unix(1710000000, 0), time.Unix(1710000000, 0).Add(30*time.Hour), nil)
	if err != nil || len(m) != 1 {
		t.Fatalf("%v, %v", m, err)
	}
}

// TestNotifyCalls: subscribe, list, get and revoke send the callback URL
// and the category and read the recorded answers.
func TestNotifyCalls(t *testing.T) {
	f := newFake(t)
	list := string(recorded(t, "notify_list.json"))
	f.on("/notify", "list", func(url.Values, string) string { return list })
	f.on("/notify", "subscribe", func(url.Values, string) string { return string(recorded(t, "notify_subscribe.json")) })
	f.on("/notify", "revoke", func(url.Values, string) string { return string(recorded(t, "notify_revoke.json")) })
	f.on("/notify", "get", func(url.Values, string) string {
		return ok(map[string]any{"callbackurl": "https://www.withings.com", "comment": "c"})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	subs, err := u.Subscriptions(bg, 0)
	if err != nil || len(subs) != 1 || subs[0].Appli != 1 || subs[0].CallbackURL != "https://www.withings.com" {
		t.Fatalf("%+v, %v", subs, err)
	}
	if err := u.Subscribe(bg, "https://hub.example/cb", 44, "x"); err != nil {
		t.Fatal(err)
	}
	if err := u.Unsubscribe(bg, "https://hub.example/cb", 44); err != nil {
		t.Fatal(err)
	}
	s, err := u.Subscription(bg, "https://www.withings.com", 1)
	if err != nil || s.Appli != 1 || s.Comment != "c" {
		t.Fatalf("%+v, %v", s, err)
	}
	reqs := f.log()
	if r := reqs[1]; r.Form.Get("callbackurl") != "https://hub.example/cb" || r.Form.Get("appli") != "44" {
		t.Errorf("subscribe form %v", r.Form)
	}
}

// TestRecordedAnswersDecode: the client reads every recorded answer of a
// data action as it is.
func TestRecordedAnswersDecode(t *testing.T) {
	f := newFake(t)
	for _, c := range []struct{ service, action, file string }{
		{"/measure", "getmeas", "measurement.json"},
		{"/v2/measure", "getactivity", "activity.json"},
		{"/v2/measure", "getworkouts", "workouts.json"},
		{"/v2/sleep", "get", "sleep_no_datafields.json"},
		{"/v2/user", "getdevice", "device.json"},
	} {
		body := string(recorded(t, c.file))
		f.on(c.service, c.action, func(url.Values, string) string { return body })
	}
	// The recorded summaries say more: true; the second page is empty.
	summaries := string(recorded(t, "sleep_summary_no_datafields.json"))
	f.on("/v2/sleep", "getsummary", func(form url.Values, _ string) string {
		if form.Get("offset") == "" {
			return summaries
		}
		return ok(map[string]any{"series": []any{}, "more": false, "offset": 0})
	})
	u := f.client(t, newClock(), nil).User(static("tok"))
	days := DayQuery{From: "2021-04-01", To: "2023-12-31"}
	counts := map[string]func() (int, error){
		"measure": func() (int, error) {
			m, err := u.Measures(bg, MeasureQuery{LastUpdate: time.Unix(1, 0)})
			return len(m.Groups), err
		},
		"activity":      func() (int, error) { l, err := u.Activities(bg, days); return len(l), err },
		"workout":       func() (int, error) { l, err := u.Workouts(bg, days); return len(l), err },
		"sleep_summary": func() (int, error) { l, err := u.SleepSummaries(bg, days); return len(l), err },
		"sleep": func() (int, error) {
			l, err := u.SleepSeries(bg, time.Unix(1618691453, 0), time.Unix(1618691453, 0).Add(time.Hour), nil)
			return len(l), err
		},
		"device": func() (int, error) { l, err := u.Devices(bg); return len(l), err },
	}
	want := map[string]int{"measure": 2, "activity": 2, "workout": 11, "sleep_summary": 300, "sleep": 613, "device": 5}
	for name, fn := range counts {
		n, err := fn()
		if err != nil || n != want[name] {
			t.Errorf("%s: %d objects, %v; want %d", name, n, err, want[name])
		}
	}
}

// errorsAs is errors.As for a *Error.
func errorsAs(err error) (*Error, bool) {
	var e *Error
	return e, errors.As(err, &e)
}

func TestErrorText(t *testing.T) {
	e := &Error{Kind: provider.KindRateLimited, Status: 601, Service: "/measure", Action: "getmeas", Detail: "Too many request"}
	if got := e.Error(); got != "withings /measure getmeas: status 601 rate_limited: Too many request" {
		t.Errorf("%q", got)
	}
	if _, ok := errorsAs(fmt.Errorf("wrapped: %w", e)); !ok || StatusOf(fmt.Errorf("w: %w", e)) != 601 {
		t.Error("not found in the chain")
	}
	if StatusOf(errors.New("x")) != -1 {
		t.Error("status of a foreign error")
	}
	_ = json.Valid
}
