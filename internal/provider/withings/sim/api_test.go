package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestErrorStatuses(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 1})
	tok := srv.Tokens()[0].AccessToken
	narrow, _ := srv.IssueToken(0, []string{ScopeMetrics}, 0)
	expired, _ := srv.IssueToken(0, nil, -time.Second)
	day := testNow.Format(time.DateOnly)
	for _, c := range []struct {
		name, path, token string
		kv                []string
		want              int
	}{
		{"no token", PathMeasure, "", []string{"action", "getmeas"}, StatusInvalidToken},
		{"unknown token", PathMeasure, "nope", []string{"action", "getmeas"}, StatusInvalidToken},
		{"expired token", PathSleepV2, expired.AccessToken, []string{"action", "getsummary", "lastupdate", "0"}, StatusInvalidToken},
		{"missing scope", PathSleepV2, narrow.AccessToken, []string{"action", "getsummary", "lastupdate", "0"}, StatusUnauthorized},
		{"unknown action", PathMeasure, tok, []string{"action", "getactivity"}, StatusNotImplemented},
		{"no action", PathSleepV2, tok, nil, StatusNotImplemented},
		{"bad category", PathMeasure, tok, []string{"action", "getmeas", "category", "3"}, StatusInvalidParams},
		{"bad startdate", PathMeasure, tok, []string{"action", "getmeas", "startdate", "yesterday"}, StatusInvalidParams},
		{"bad meastypes", PathMeasure, tok, []string{"action", "getmeas", "meastypes", "1,x"}, StatusInvalidParams},
		{"getmeas window and lastupdate", PathMeasure, tok, []string{"action", "getmeas", "startdate", "1", "enddate", "2", "lastupdate", "1"}, StatusInvalidParams},
		{"getmeas end before start", PathMeasure, tok, []string{"action", "getmeas", "startdate", "5", "enddate", "2"}, StatusInvalidParams},
		{"negative offset", PathMeasure, tok, []string{"action", "getmeas", "offset", "-1"}, StatusInvalidParams},
		{"activity ymd and lastupdate", PathMeasureV2, tok, []string{"action", "getactivity", "startdateymd", day, "enddateymd", day, "lastupdate", "0"}, StatusInvalidParams},
		{"activity no window", PathMeasureV2, tok, []string{"action", "getactivity"}, StatusInvalidParams},
		{"activity half a range", PathMeasureV2, tok, []string{"action", "getactivity", "startdateymd", day}, StatusInvalidParams},
		{"activity bad date", PathMeasureV2, tok, []string{"action", "getactivity", "startdateymd", "15/10/2025", "enddateymd", day}, StatusInvalidParams},
		{"workouts reversed", PathMeasureV2, tok, []string{"action", "getworkouts", "startdateymd", day, "enddateymd", "2025-10-01"}, StatusInvalidParams},
		{"summary ymd and lastupdate", PathSleepV2, tok, []string{"action", "getsummary", "startdateymd", day, "enddateymd", day, "lastupdate", "0"}, StatusInvalidParams},
		{"sleep get without enddate", PathSleepV2, tok, []string{"action", "get", "startdate", "1"}, StatusInvalidParams},
		{"sleep get reversed", PathSleepV2, tok, []string{"action", "get", "startdate", "10", "enddate", "10"}, StatusInvalidParams},
		{"intraday half a window", PathMeasureV2, tok, []string{"action", "getintradayactivity", "startdate", "10"}, StatusInvalidParams},
		{"subscribe without url", PathNotify, tok, []string{"action", "subscribe", "appli", "1"}, StatusInvalidParams},
		{"subscribe relative url", PathNotify, tok, []string{"action", "subscribe", "appli", "1", "callbackurl", "/cb"}, StatusInvalidParams},
		{"subscribe unknown appli", PathNotify, tok, []string{"action", "subscribe", "appli", "3", "callbackurl", "http://127.0.0.1:9/cb"}, StatusInvalidParams},
		{"subscribe without appli", PathNotify, tok, []string{"action", "subscribe", "callbackurl", "http://127.0.0.1:9/cb"}, StatusInvalidParams},
		{"subscribe sleep with metrics only", PathNotify, narrow.AccessToken, []string{"action", "subscribe", "appli", "44", "callbackurl", "http://127.0.0.1:9/cb"}, StatusUnauthorized},
		{"get no subscription", PathNotify, tok, []string{"action", "get", "appli", "1", "callbackurl", "http://127.0.0.1:9/cb"}, StatusNoSubscription},
		{"revoke no subscription", PathNotify, tok, []string{"action", "revoke", "appli", "1", "callbackurl", "http://127.0.0.1:9/cb"}, StatusNoSubscription},
		{"token with a wrong secret", PathOAuth2, "", []string{"action", "requesttoken", "client_id", DefaultClientID, "client_secret", "x", "grant_type", "refresh_token", "refresh_token", "x"}, StatusInvalidParams},
	} {
		t.Run(c.name, func(t *testing.T) {
			rp := call(t, ts, c.path, c.token, form(c.kv...))
			if rp.HTTP != http.StatusOK || rp.Status != c.want || rp.Error == "" || rp.Body != nil {
				t.Errorf("HTTP %d status %d error %q body %s, want HTTP 200 status %d with an error and no body", rp.HTTP, rp.Status, rp.Error, rp.Body, c.want)
			}
		})
	}
	t.Run("http", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			want         int
		}{{"PUT", PathMeasure, 405}, {"POST", "/v2/nothing", 404}, {"GET", "/", 404}} {
			req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
			}
		}
	})
	t.Run("GET with a query", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+PathUserV2+"?action=getdevice", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rp := decode[reply](t, b); rp.Status != 0 {
			t.Errorf("GET getdevice: %s", b)
		}
	})
}

// TestPaginationReachesTheEnd pages every list with a small page and
// checks it yields what one big page does, once each.
func TestPaginationReachesTheEnd(t *testing.T) {
	_, small, _ := newTestServer(t, Config{Users: 1, Seed: 3, PageSize: 4})
	srvBig, big, _ := newTestServer(t, Config{Users: 1, Seed: 3, PageSize: 100000})
	tok := srvBig.Tokens()[0].AccessToken // the same seed: the same ready token
	for _, c := range []struct {
		path, key string
		kv        []string
	}{
		{PathMeasure, "measuregrps", []string{"action", "getmeas"}},
		{PathMeasure, "measuregrps", []string{"action", "getmeas", "meastype", "1"}},
		{PathMeasureV2, "activities", []string{"action", "getactivity", "startdateymd", "2025-09-01", "enddateymd", "2025-10-31"}},
		{PathMeasureV2, "series", []string{"action", "getworkouts", "lastupdate", "0"}},
		{PathSleepV2, "series", []string{"action", "getsummary", "lastupdate", "0"}},
	} {
		paged := listAll(t, small, c.path, tok, c.key, form(c.kv...))
		whole := listAll(t, big, c.path, tok, c.key, form(c.kv...))
		if len(whole) < 8 || !reflect.DeepEqual(asStrings(paged), asStrings(whole)) {
			t.Errorf("%v: %d items paged by 4, %d in one page", c.kv, len(paged), len(whole))
		}
	}
	// Past the end: an empty page with more unset.
	rp := call(t, small, PathMeasure, tok, form("action", "getmeas", "offset", "100000"))
	b := decode[struct {
		Groups []any `json:"measuregrps"`
		More   int   `json:"more"`
	}](t, rp.Body)
	if len(b.Groups) != 0 || b.More != 0 {
		t.Errorf("past the end: %s", rp.Body)
	}
}

func asStrings(raw []json.RawMessage) []string {
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = string(r)
	}
	return out
}

// TestSleepSeriesWindow: one call covers at most 24 h after startdate.
func TestSleepSeriesWindow(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 1})
	tok := srv.Tokens()[0].AccessToken
	start := testNow.Add(-72 * time.Hour).Unix()
	rp := call(t, ts, PathSleepV2, tok, form("action", "get", "startdate", strconv.FormatInt(start, 10), "enddate", strconv.FormatInt(start+72*3600, 10), "data_fields", "hr"))
	segs := decode[struct {
		Series []SleepSegment `json:"series"`
	}](t, rp.Body).Series
	if len(segs) == 0 {
		t.Fatalf("no segments: %s", rp.Raw)
	}
	for _, s := range segs {
		if s.StartDate >= start+86400 || s.EndDate <= start {
			t.Errorf("segment %d-%d outside the first 24 h after %d", s.StartDate, s.EndDate, start)
		}
		if len(s.HR) == 0 || s.RR != nil {
			t.Errorf("segment %d: hr %d values, rr %v: only hr was asked for", s.StartDate, len(s.HR), s.RR)
		}
		for k := range s.HR {
			if ts, _ := strconv.ParseInt(k, 10, 64); ts < s.StartDate || ts >= s.EndDate {
				t.Errorf("hr sample %s outside its segment %d-%d", k, s.StartDate, s.EndDate)
			}
		}
	}
}

// TestRateLimit: the application's 121st call within a minute gets status
// 601, whatever the token; the next minute is served again.
func TestRateLimit(t *testing.T) {
	srv, ts, clk := newTestServer(t, Config{Users: 2, RateLimit: DefaultRateLimit})
	toks := srv.Tokens()
	for i := range DefaultRateLimit {
		if rp := call(t, ts, PathUserV2, toks[i%2].AccessToken, form("action", "getdevice")); rp.Status != 0 {
			t.Fatalf("call %d: status %d", i+1, rp.Status)
		}
		clk.Add(400 * time.Millisecond)
	}
	if rp := call(t, ts, PathUserV2, toks[0].AccessToken, form("action", "getdevice")); rp.Status != StatusTooManyReqs || rp.Error == "" {
		t.Fatalf("call 121: %s", rp.Raw)
	}
	if rp := call(t, ts, PathMeasure, "", form("action", "getmeas")); rp.Status != StatusTooManyReqs {
		t.Fatalf("an unauthenticated call past the limit: %d", rp.Status)
	}
	clk.Add(12 * time.Second) // a minute after the window opened
	if rp := call(t, ts, PathUserV2, toks[1].AccessToken, form("action", "getdevice")); rp.Status != 0 {
		t.Fatalf("after the minute: %d", rp.Status)
	}
}

func TestFaults(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 1, Faults: Faults{Force601: 1, Force5xx: 1, ForceTruncate: 1}})
	tok := srv.Tokens()[0].AccessToken
	if rp := call(t, ts, PathUserV2, tok, form("action", "getdevice")); rp.Status != StatusTooManyReqs {
		t.Errorf("forced 601: %s", rp.Raw)
	}
	if rp := call(t, ts, PathUserV2, tok, form("action", "getdevice")); rp.HTTP != 500 {
		t.Errorf("forced 5xx: HTTP %d", rp.HTTP)
	}
	req, _ := http.NewRequest("POST", ts.URL+PathUserV2+"?action=getdevice", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := ts.Client().Do(req)
	if err == nil {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Errorf("forced truncation: read %d bytes without error", len(b))
		}
	}
	if rp := call(t, ts, PathUserV2, tok, form("action", "getdevice")); rp.Status != 0 {
		t.Errorf("after the forced faults: %s", rp.Raw)
	}
	if err := srv.SetFaults(Faults{BurstRate: 1, BurstLength: 3}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if rp := call(t, ts, PathUserV2, tok, form("action", "getdevice")); rp.Status != StatusTooManyReqs {
			t.Errorf("burst call %d: %d", i, rp.Status)
		}
	}
	if got := srv.FaultsInjected(); got.RateLimited != 4 || got.ServerError != 1 || got.Truncated != 1 {
		t.Errorf("counts %+v", got)
	}
	if err := srv.SetFaults(Faults{ErrorRate: 2}); err == nil {
		t.Error("an error rate of 2 accepted")
	}
}

func TestFaultsSpareTheTokenEndpoint(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 1, Faults: Faults{Force5xx: 1}})
	if rp := requestToken(t, ts, "grant_type", "refresh_token", "refresh_token", srv.Tokens()[0].RefreshToken); rp.Status != 0 {
		t.Fatalf("token endpoint under a forced fault: %s", rp.Raw)
	}
	if rp := call(t, ts, PathUserV2, srv.Tokens()[0].AccessToken, form("action", "getdevice")); rp.HTTP != 500 {
		t.Errorf("the forced fault went elsewhere: %d", rp.HTTP)
	}
}
