package sim

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestMembershipAndAppUpdate: a lapsed membership refuses every data route
// of that user alone with 403 and Oura's body, an old app with 426, through
// the Go methods and the control routes alike; renewing lets the data
// through again.
func TestMembershipAndAppUpdate(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok0, tok1 := srv.Tokens()[0].AccessToken, srv.Tokens()[1].AccessToken
	routes := []string{"/v2/usercollection/daily_sleep", "/v2/usercollection/personal_info", "/v2/usercollection/heartrate"}
	want := func(tok string, status int) {
		t.Helper()
		for _, p := range routes {
			r := get(t, ts.URL+p, tok)
			if r.status != status {
				t.Fatalf("%s: %d, want %d (%s)", p, r.status, status, r.body)
			}
			if status >= 400 {
				var body struct{ Detail string }
				if json.Unmarshal(r.body, &body) != nil || body.Detail == "" {
					t.Fatalf("%s: body %s is not Oura's {\"detail\": ...}", p, r.body)
				}
			}
		}
	}
	if err := srv.SetMembershipLapsed(0, true); err != nil {
		t.Fatal(err)
	}
	want(tok0, http.StatusForbidden)
	want(tok1, http.StatusOK)
	// The membership comes first: an app update would not help.
	if r := do(t, http.MethodPost, ts.URL+"/_sim/app_update?user=0&required=true", "", nil, nil); r.status != 200 {
		t.Fatalf("app_update: %d %s", r.status, r.body)
	}
	want(tok0, http.StatusForbidden)
	if r := do(t, http.MethodPost, ts.URL+"/_sim/membership?user=0&lapsed=false", "", nil, nil); r.status != 200 {
		t.Fatalf("membership: %d %s", r.status, r.body)
	}
	want(tok0, http.StatusUpgradeRequired)
	if err := srv.SetAppUpdateRequired(0, false); err != nil {
		t.Fatal(err)
	}
	want(tok0, http.StatusOK)
	if counts := srv.RequestCounts()[0]; counts["daily_sleep"] != 4 {
		t.Errorf("refused requests are counted too: %v", counts)
	}

	for _, p := range []string{"/_sim/membership?user=9&lapsed=true", "/_sim/membership?user=0&lapsed=maybe", "/_sim/app_update?required=true"} {
		if r := do(t, http.MethodPost, ts.URL+p, "", nil, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", p, r.status)
		}
	}
	if srv.SetMembershipLapsed(9, true) == nil {
		t.Error("SetMembershipLapsed accepted an unknown user")
	}
}
