package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminRoutes(t *testing.T) {
	srv, ts, _, rc := newHookServer(t, Config{Users: 2})
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	var users []UserInfo
	if err := json.Unmarshal(call("GET", "/_sim/users", "", 200), &users); err != nil || len(users) != 2 || users[1].AccessToken != srv.Tokens()[1].AccessToken {
		t.Fatalf("users %+v: %v", users, err)
	}
	before := srv.Clock().Now()
	call("POST", "/_sim/clock/advance?by=6h", "", 200)
	call("POST", "/_sim/clock/advance?by=-1h", "", 400)
	if got := srv.Clock().Now().Sub(before); got != 6*time.Hour {
		t.Errorf("advanced %v", got)
	}
	call("POST", "/_sim/night?user=1", "", 200)
	call("POST", "/_sim/night?user=9", "", 400)

	_, _, b := get(t, ts, "/v2/activity/sleep?limit=1", users[1].AccessToken)
	id := decode[Page[Sleep]](t, b).Records[0].ID
	srv.WaitWebhooks()
	rc.take()
	call("DELETE", "/_sim/sleep/"+id, "", 204)
	call("DELETE", "/_sim/sleep/"+id, "", 400)
	srv.WaitWebhooks()
	if got := rc.take(); len(got) == 0 || got[0].Type != EventSleepDeleted {
		t.Errorf("webhooks after delete: %+v", got)
	}

	call("PUT", "/_sim/faults", `{"force_5xx":1}`, 200)
	call("PUT", "/_sim/faults", `{"error_rate":2}`, 400)
	if st, _, _ := get(t, ts, "/v2/cycle", users[0].AccessToken); st != 500 {
		t.Errorf("forced 500: %d", st)
	}
	var tok Token
	if err := json.Unmarshal(call("POST", "/_sim/tokens", `{"user":1,"scopes":["read:cycles"],"expires_in":"1m"}`, 200), &tok); err != nil || tok.RefreshToken != "" {
		t.Fatalf("token %+v: %v", tok, err)
	}
	if st, _, _ := get(t, ts, "/v2/cycle", tok.AccessToken); st != 200 {
		t.Errorf("issued token: %d", st)
	}
	srv.AdvanceClock(time.Minute)
	if st, _, _ := get(t, ts, "/v2/cycle", tok.AccessToken); st != 401 {
		t.Errorf("expired issued token: %d", st)
	}
	if !strings.Contains(string(call("GET", "/_sim/webhooks", "", 200)), `"delivered"`) {
		t.Error("webhook stats missing")
	}
}
