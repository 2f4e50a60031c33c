package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

func TestAdminRoutes(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	tok := srv.Tokens()[0].AccessToken

	var users []SimUser
	r := get(t, ts.URL+"/_sim/users", "")
	if r.status != 200 || json.Unmarshal(r.body, &users) != nil || len(users) != 2 || users[1].Token.AccessToken != srv.Tokens()[1].AccessToken || users[0].OuraID == "" {
		t.Fatalf("users: %d %s", r.status, r.body)
	}
	last0 := users[0].LastDay

	// Add two days for user 0 only.
	r = do(t, http.MethodPost, ts.URL+"/_sim/days?user=0&n=2", "", nil, nil)
	var days struct {
		Revealed map[string][]oura.Date `json:"revealed"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &days) != nil || len(days.Revealed["0"]) != 2 || len(days.Revealed["1"]) != 0 {
		t.Fatalf("days: %d %s", r.status, r.body)
	}
	if got := srv.World().LastDay(srv.World().Users()[0]); got != shiftDate(last0, 2) {
		t.Errorf("last day %s, want %s", got, shiftDate(last0, 2))
	}
	if r := do(t, http.MethodPost, ts.URL+"/_sim/days?user=9", "", nil, nil); r.status != 400 {
		t.Errorf("unknown user: %d", r.status)
	}

	// Advance the clock by two days: both users get new days.
	before := srv.Clock().Now()
	r = do(t, http.MethodPost, ts.URL+"/_sim/clock/advance?by=48h", "", nil, nil)
	if r.status != 200 || !srv.Clock().Now().Equal(before.Add(48*time.Hour)) {
		t.Fatalf("advance: %d %s", r.status, r.body)
	}
	if got := srv.World().LastDay(srv.World().Users()[1]); got <= users[1].LastDay {
		t.Errorf("user 1 last day still %s after advancing 48h", got)
	}

	// Request counts per user and collection.
	srv.ResetRequestCounts()
	for i := 0; i < 3; i++ {
		get(t, ts.URL+"/v2/usercollection/daily_sleep", tok)
	}
	get(t, ts.URL+"/v2/sandbox/usercollection/workout", tok)
	get(t, ts.URL+"/v2/usercollection/daily_sleep", "not-a-token")
	var counts map[string]map[string]int
	r = get(t, ts.URL+"/_sim/requests", "")
	if json.Unmarshal(r.body, &counts) != nil || counts["0"]["daily_sleep"] != 3 || counts["0"]["sandbox/workout"] != 1 || len(counts) != 1 {
		t.Errorf("counts %s", r.body)
	}
	if r := do(t, http.MethodDelete, ts.URL+"/_sim/requests", "", nil, nil); r.status != 204 || len(srv.RequestCounts()) != 0 {
		t.Errorf("reset counts: %d", r.status)
	}

	// Faults through the control API.
	r = do(t, http.MethodPut, ts.URL+"/_sim/faults", "", nil, strings.NewReader(`{"latency":"5ms","error_rate":0.25}`))
	if r.status != 200 || srv.Faults().Latency != 5*time.Millisecond || srv.Faults().ErrorRate != 0.25 {
		t.Errorf("set faults: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPut, ts.URL+"/_sim/faults", "", nil, strings.NewReader(`{"error_rate":7}`)); r.status != 400 {
		t.Errorf("invalid faults: %d", r.status)
	}
	_ = srv.SetFaults(Faults{})
	if r := do(t, http.MethodPost, ts.URL+"/_sim/faults/429?n=2&retry_after=3s", "", nil, nil); r.status != 200 {
		t.Fatalf("force 429: %d", r.status)
	}
	for i, want := range []int{429, 429, 200} {
		if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok); r.status != want {
			t.Errorf("request %d after forcing: %d, want %d", i, r.status, want)
		}
	}

	// Issue a narrow token, then an expired one, then revoke.
	var issued Token
	r = do(t, http.MethodPost, ts.URL+"/_sim/tokens", "", nil, strings.NewReader(`{"user":1,"scopes":["daily"]}`))
	if r.status != 200 || json.Unmarshal(r.body, &issued) != nil || issued.UserIndex != 1 {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r := get(t, ts.URL+"/v2/usercollection/workout", issued.AccessToken); r.status != 401 {
		t.Errorf("narrow token on workout: %d", r.status)
	}
	r = do(t, http.MethodPost, ts.URL+"/_sim/tokens", "", nil, strings.NewReader(`{"user":0,"expires_in":"-1h"}`))
	_ = json.Unmarshal(r.body, &issued)
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", issued.AccessToken); r.status != 401 {
		t.Errorf("expired token: %d", r.status)
	}
	if r := do(t, http.MethodPost, ts.URL+"/_sim/revoke?token="+tok, "", nil, nil); r.status != 200 {
		t.Errorf("revoke: %d", r.status)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok); r.status != 401 {
		t.Errorf("revoked ready token: %d", r.status)
	}

	for _, p := range []string{"/_sim/", "/_sim/clock", "/_sim/faults", "/_sim/webhooks"} {
		if r := get(t, ts.URL+p, ""); r.status != 200 || !json.Valid(r.body) {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

func TestClockAccelerated(t *testing.T) {
	fr := newFakeReal(testStart)
	c := NewClock(testStart, 60, fr.Now)
	fr.Add(time.Second)
	if got := c.Now(); !got.Equal(testStart.Add(time.Minute)) {
		t.Errorf("after 1s at x60: %v", got)
	}
	c.Advance(time.Hour)
	c.Advance(-time.Hour) // ignored: time never goes back
	if got := c.Now(); !got.Equal(testStart.Add(time.Hour + time.Minute)) {
		t.Errorf("after Advance(1h): %v", got)
	}
	c.SetFactor(0)
	fr.Add(time.Hour)
	if got := c.Now(); !got.Equal(testStart.Add(time.Hour + time.Minute)) {
		t.Errorf("frozen clock moved: %v", got)
	}
}

// With a fast clock the background loop reveals days and announces them,
// and each announced document can be fetched by its id.
func TestRevealAnnouncesFetchableDocuments(t *testing.T) {
	fr := newFakeReal(testStart)
	srv, ts := newTestServer(t, Config{Clock: NewClock(testStart, 3600, fr.Now), RevealInterval: 5 * time.Millisecond, Users: 1})
	rc := &receiver{token: "tok"}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	for _, dt := range []string{"daily_sleep", "sleep", "daily_activity", "vo2_max"} {
		if r := subscribe(t, ts.URL, cb.URL, "tok", "create", dt); r.status != 201 {
			t.Fatalf("subscribe %s: %d %s", dt, r.status, r.body)
		}
	}
	u := srv.World().Users()[0]
	last := srv.World().LastDay(u)
	fr.Add(48 * time.Second) // 48 simulated hours
	deadline := time.Now().Add(5 * time.Second)
	for srv.World().LastDay(u) < shiftDate(last, 2) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := srv.World().LastDay(u); got < shiftDate(last, 2) {
		t.Fatalf("last day %s, want at least %s", got, shiftDate(last, 2))
	}
	srv.WaitNotifications()
	posts := rc.received()
	seen := map[oura.DataType]int{}
	tok := srv.Tokens()[0].AccessToken
	for _, p := range posts {
		verifySignature(t, p, DefaultClientSecret)
		var n oura.Notification
		if err := json.Unmarshal(p.body, &n); err != nil {
			t.Fatal(err)
		}
		seen[n.DataType]++
		c, _ := oura.LookupCollection(string(n.DataType))
		if r := get(t, ts.URL+"/v2/usercollection/"+c.Name+"/"+n.ObjectID, tok); r.status != 200 || r.json(t)["id"] != n.ObjectID {
			t.Errorf("announced %s %s not fetchable: %d %s", n.DataType, n.ObjectID, r.status, r.body)
		}
		if n.UserID != u.OuraID {
			t.Errorf("user_id %s", n.UserID)
		}
	}
	if seen["daily_sleep"] < 2 || seen["daily_activity"] < 2 || seen["sleep"] < 2 {
		t.Errorf("notifications per data type %v, want one per new day at least", seen)
	}
}

// AddDay through the Go API announces the new day's documents.
func TestAddDayAnnounces(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	rc := &receiver{token: "tok"}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	if r := subscribe(t, ts.URL, cb.URL, "tok", "create", "daily_readiness"); r.status != 201 {
		t.Fatal(r.status)
	}
	d, err := srv.AddDay(1)
	if err != nil {
		t.Fatal(err)
	}
	srv.WaitNotifications()
	posts := rc.received()
	want := srv.World().Day(srv.World().Users()[1], d).DailyReadiness
	if want == nil {
		t.Skip("the generator produced no readiness for the new day")
	}
	if len(posts) != 1 || !strings.Contains(string(posts[0].body), want.ID) {
		t.Errorf("got %d notifications, want one for %s", len(posts), want.ID)
	}
	if _, err := srv.AddDay(5); err == nil {
		t.Error("AddDay accepted an unknown user")
	}
}
