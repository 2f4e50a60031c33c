package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testStart is a fixed simulated start: tests run on a frozen clock.
var testStart = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// newTestServer builds a simulator on a frozen clock with no background
// reveal, serves it with httptest and closes both at the end of the test.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = NewClock(testStart, 0, nil)
	}
	if cfg.RevealInterval == 0 {
		cfg.RevealInterval = -1
	}
	if cfg.HistoryStart == "" {
		cfg.HistoryStart = "2025-01-01"
	}
	if cfg.Users == 0 {
		cfg.Users = 2
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return srv, ts
}

// fakeReal is a settable real-time source, safe to read from handlers.
type fakeReal struct{ ns atomic.Int64 }

func newFakeReal(t time.Time) *fakeReal {
	f := &fakeReal{}
	f.ns.Store(t.UnixNano())
	return f
}

func (f *fakeReal) Now() time.Time      { return time.Unix(0, f.ns.Load()).UTC() }
func (f *fakeReal) Add(d time.Duration) { f.ns.Add(int64(d)) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; token "" sends no Authorization header.
func do(t *testing.T, method, u, token string, hdr map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func get(t *testing.T, u, token string) response { return do(t, http.MethodGet, u, token, nil, nil) }

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func detailString(t *testing.T, r response) string {
	t.Helper()
	d, ok := r.json(t)["detail"].(string)
	if !ok {
		t.Fatalf("detail is not a string: %s", r.body)
	}
	return d
}

func TestCommonHeaders(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken
	for _, path := range []string{"/v2/usercollection/personal_info", "/v2/usercollection/nope", "/v2/usercollection/sleep/unknown-id"} {
		r := get(t, ts.URL+path, tok)
		for k, want := range map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-cache",
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if id := r.header.Get("X-Trace-Id"); len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("%s: x-trace-id %q is not 32 hex digits", path, id)
		}
	}
}

func TestAuthErrors(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	ready := srv.Tokens()[0].AccessToken
	expired, _ := srv.IssueToken(0, nil, -time.Minute)
	revoked, _ := srv.IssueToken(0, nil, 0)
	srv.RevokeToken(revoked.AccessToken)
	onlyDaily, _ := srv.IssueToken(0, []string{"daily"}, 0)
	spo2Old, _ := srv.IssueToken(0, []string{"spo2Daily"}, 0)
	noScopes, _ := srv.IssueToken(0, []string{}, 0)

	tests := []struct {
		name, path, token string
		status            int
		detailHas         string
	}{
		{"no token", "/v2/usercollection/daily_sleep", "", 401, "Not authenticated"},
		{"unknown token", "/v2/usercollection/daily_sleep", "nope", 401, "Invalid access token"},
		{"expired", "/v2/usercollection/daily_sleep", expired.AccessToken, 401, "expired"},
		{"revoked", "/v2/usercollection/daily_sleep", revoked.AccessToken, 401, "revoked"},
		{"missing scope", "/v2/usercollection/workout", onlyDaily.AccessToken, 401, "workout"},
		{"stress scope", "/v2/usercollection/daily_resilience", onlyDaily.AccessToken, 401, "stress"},
		{"heart_health scope", "/v2/usercollection/vO2_max", onlyDaily.AccessToken, 401, "heart_health"},
		{"ring scope on battery", "/v2/usercollection/ring_battery_level", onlyDaily.AccessToken, 401, "ring_configuration"},
		{"spo2 names both", "/v2/usercollection/daily_spo2", onlyDaily.AccessToken, 401, "spo2Daily"},
		{"spo2Daily accepted", "/v2/usercollection/daily_spo2", spo2Old.AccessToken, 200, ""},
		{"daily ok", "/v2/usercollection/daily_sleep", onlyDaily.AccessToken, 200, ""},
		{"personal_info needs no scope", "/v2/usercollection/personal_info", noScopes.AccessToken, 200, ""},
		{"ready token", "/v2/usercollection/heartrate", ready, 200, ""},
		{"sandbox any token", "/v2/sandbox/usercollection/daily_sleep", "anything", 200, ""},
		{"sandbox needs a token", "/v2/sandbox/usercollection/daily_sleep", "", 401, "Not authenticated"},
		{"sandbox has no personal_info", "/v2/sandbox/usercollection/personal_info", "anything", 404, "Not Found"},
		{"no vo2_max path", "/v2/usercollection/vo2_max", ready, 404, "Not Found"},
		{"no single heartrate", "/v2/usercollection/heartrate/x", ready, 404, "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, ts.URL+tc.path, tc.token)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.detailHas != "" && !strings.Contains(detailString(t, r), tc.detailHas) {
				t.Errorf("detail %s does not mention %q", r.body, tc.detailHas)
			}
		})
	}
}

func TestPersonalInfoScopes(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	for _, tc := range []struct {
		scopes          []string
		wantAge, wantEm bool
	}{
		{[]string{}, false, false},
		{[]string{"personal"}, true, false},
		{[]string{"email"}, false, true},
		{nil, true, true},
	} {
		tok, _ := srv.IssueToken(1, tc.scopes, 0)
		m := get(t, ts.URL+"/v2/usercollection/personal_info", tok.AccessToken).json(t)
		if m["id"] != srv.World().Users()[1].OuraID {
			t.Errorf("scopes %v: id %v, want %s", tc.scopes, m["id"], srv.World().Users()[1].OuraID)
		}
		for _, k := range []string{"age", "weight", "height", "biological_sex", "email"} {
			if _, ok := m[k]; !ok {
				t.Errorf("scopes %v: key %s missing (every key is always sent)", tc.scopes, k)
			}
		}
		if tc.wantEm != (m["email"] != nil) && srv.World().PersonalInfo(srv.World().Users()[1]).Email != nil {
			t.Errorf("scopes %v: email %v", tc.scopes, m["email"])
		}
		if !tc.wantAge && m["age"] != nil {
			t.Errorf("scopes %v: age %v leaked without the personal scope", tc.scopes, m["age"])
		}
		if tc.wantAge && m["age"] == nil && srv.World().PersonalInfo(srv.World().Users()[1]).Age != nil {
			t.Errorf("scopes %v: age missing", tc.scopes)
		}
	}
}

func TestNotFoundBody(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken
	for _, c := range []string{"daily_activity", "sleep", "vO2_max", "ring_configuration", "enhanced_tag"} {
		for _, prefix := range []string{"/v2/usercollection/", "/v2/sandbox/usercollection/"} {
			r := get(t, ts.URL+prefix+c+"/not-existing", tok)
			if r.status != 404 || string(r.body) != `{"detail":"Document not found."}` {
				t.Errorf("%s%s: %d %s", prefix, c, r.status, r.body)
			}
		}
	}
	r := get(t, ts.URL+"/nowhere", "")
	if r.status != 404 || detailString(t, r) != "Not Found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	r = do(t, http.MethodPost, ts.URL+"/v2/usercollection/sleep", tok, nil, nil)
	if r.status != 405 || detailString(t, r) != "Method Not Allowed" {
		t.Errorf("wrong method: %d %s", r.status, r.body)
	}
}

func TestValidationErrorShape(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken
	tests := []struct {
		path  string
		field string
		input string
	}{
		{"/v2/usercollection/sleep?start_date=yesterday", "start_date", "yesterday"},
		{"/v2/usercollection/daily_activity?end_date=2024-13-45", "end_date", "2024-13-45"},
		{"/v2/usercollection/heartrate?start_datetime=2024-11-01T00:00:00%2001:00", "start_datetime", "2024-11-01T00:00:00 01:00"},
		{"/v2/usercollection/heartrate?latest=maybe", "latest", "maybe"},
		{"/v2/usercollection/sleep?next_token=forged", "next_token", "forged"},
		{"/v2/usercollection/ring_configuration?next_token=Zm9v", "next_token", "Zm9v"},
	}
	for _, tc := range tests {
		r := get(t, ts.URL+tc.path, tok)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", tc.path, r.status, r.body)
			continue
		}
		var body struct {
			Detail []struct {
				Loc   []any  `json:"loc"`
				Msg   string `json:"msg"`
				Type  string `json:"type"`
				Input any    `json:"input"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || len(body.Detail) != 1 {
			t.Errorf("%s: body %s is not a one-item FastAPI validation error", tc.path, r.body)
			continue
		}
		d := body.Detail[0]
		if len(d.Loc) != 2 || d.Loc[0] != "query" || d.Loc[1] != tc.field || d.Msg == "" || d.Type == "" || d.Input != tc.input {
			t.Errorf("%s: detail %+v", tc.path, d)
		}
	}
}

// Accepted-but-odd parameters behave as on the live API: 200 with data or
// an empty list, never an error.
func TestLenientParameters(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken
	for _, q := range []string{
		"start_date=1&end_date=2",
		"start_date=0024-11-11&end_date=2025-03-01",
		"start_date=2025-02-01T00:00:00%2B02:00&end_date=2025-02-03T23:59:59",
		"start_date=2025-02-01&end_date=2025-02-03&next_token=",
		"start_date=2025-03-01&end_date=2025-02-01",
	} {
		r := get(t, ts.URL+"/v2/usercollection/daily_sleep?"+q, tok)
		if r.status != 200 {
			t.Errorf("%s: %d %s", q, r.status, r.body)
			continue
		}
		m := r.json(t)
		if _, ok := m["data"].([]any); !ok {
			t.Errorf("%s: no data array: %s", q, r.body)
		}
		if _, ok := m["next_token"]; !ok {
			t.Errorf("%s: next_token key missing", q)
		}
	}
	r := get(t, ts.URL+"/v2/usercollection/daily_sleep?start_date=1&end_date=2", tok)
	if string(r.body) != `{"data":[],"next_token":null}` {
		t.Errorf("epoch range: %s", r.body)
	}
}

func TestUnknownRedirectParamsKeepQuery(t *testing.T) {
	// The redirect keeps the callback's own query parameters.
	_, ts := newTestServer(t, Config{})
	r := get(t, ts.URL+"/oauth/authorize?response_type=code&client_id=ourasim-client&redirect_uri="+url.QueryEscape("http://app.test/cb?x=1")+"&state=s&user=0", "")
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || loc.Query().Get("x") != "1" || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s" {
		t.Fatalf("%d %s", r.status, r.header.Get("Location"))
	}
}
