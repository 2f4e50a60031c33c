package httpapi

import (
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
)

// TestSourcesFromTheRegistry: every route that names a data source answers
// for each served one, by slug or by ROOK's name, and tells the others
// apart; a source without a linker says that linking it is off, without
// hiding the others.
func TestSourcesFromTheRegistry(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.api.cfg.Sources = append(e.api.cfg.Sources, Source{DataSource: "whoop", Name: "Whoop", Description: "A strap.", Collections: []string{"sleep", "cycle"}})
	a := e.newClient("A")
	if _, err := e.st.UpsertUser(e.ctx, store.User{ClientUUID: a.uuid, UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"GET", "/api/v1/user_id/u1/data_source/Whoop/authorizer", "", 503, "Linking Whoop accounts is not configured"},
		{"GET", "/api/v1/user_id/u1/data_source/oura/authorizer", "", 200, `"data_source":"Oura"`},
		{"GET", "/api/v1/user_id/u1/data_source/Garmin/authorizer", "", 400, "Garmin is not available on this server; it serves Oura, Whoop"},
		{"GET", "/api/v1/user_id/u1/data_source/Nokia/authorizer", "", 400, "Unknown data source"},
		{"GET", "/api/v2/user_id/u1/data_sources/authorized", "", 200, `{"data_source":"Whoop","status":false,"image":"` + e.url + `/connect/whoop/logo.svg"}`},
		{"GET", "/api/v1/user_id/u1/data_sources/authorized", "", 200, `"whoop":false`},
		{"GET", "/api/v1/client_uuid/" + a.uuid + "/user_id/u1/data_sources/authorizers", "", 200, `"name":"Oura"`},
		{"POST", "/api/v1/user_id/u1/data_sources/revoke_auth", `{"data_source":"whoop"}`, 503, "Linking Whoop accounts"},
		{"POST", "/api/v1/user_id/u1/data_source/whoop/sync", `{"start_date":"2026-01-01","end_date":"2026-01-02"}`, 422, "u1 has not authorized Whoop"},
		{"GET", "/v2/raw_data/whoop/sleep?user_id=u1&start_date=2026-01-01&end_date=2026-01-02", "", 200, `{"data":[]}`},
		{"GET", "/v2/raw_data/Whoop/sleep?user_id=u1&start_date=2026-01-01&end_date=2026-01-02", "", 200, `{"data":[]}`},
		{"GET", "/v2/raw_data/whoop/daily_sleep?user_id=u1&start_date=2026-01-01&end_date=2026-01-02", "", 400, "daily_sleep\\\". Collections: cycle, sleep."},
		{"GET", "/v2/raw_data/garmin/sleep?user_id=u1&start_date=2026-01-01&end_date=2026-01-02", "", 400, "Garmin is not available"},
		{"GET", "/connect/whoop/logo.svg", "", 200, "<svg"},
	} {
		var c *creds
		if !strings.HasPrefix(tc.target, "/connect/") {
			c = &a
		}
		r := e.do(c, tc.method, tc.target, tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.target, r.status, r.body, tc.status, tc.want)
		}
	}
	// The deprecated list shows only what can be linked: Whoop has no
	// linker here.
	r := e.do(&a, "GET", "/api/v1/client_uuid/"+a.uuid+"/user_id/u1/data_sources/authorizers", "")
	if strings.Contains(string(r.body), "Whoop") {
		t.Errorf("authorizers list a source that cannot be linked: %s", r.body)
	}
	// The browser's routes: a served source without a linker is 503, an
	// unknown one 404.
	for target, status := range map[string]int{"/connect/whoop?x=1": 503, "/connect/garmin?x=1": 404, "/connect/whoop/callback?code=x": 503} {
		req := e.do(nil, "GET", target, "")
		if req.status != status {
			t.Errorf("GET %s: %d %s, want %d", target, req.status, req.body, status)
		}
	}
}
