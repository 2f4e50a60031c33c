package sim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// receiver is a notification callback that answers each attempt with the
// next status of its script (the last one repeating), or never answers
// when the status is 0, and records what it received.
type receiver struct {
	mu     sync.Mutex
	script []int
	got    []*http.Request
	forms  []url.Values
	*httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rc := &receiver{script: script}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		rc.mu.Lock()
		rc.got = append(rc.got, r)
		rc.forms = append(rc.forms, r.PostForm)
		st := rc.script[min(len(rc.got), len(rc.script))-1]
		rc.mu.Unlock()
		if st == 0 {
			<-r.Context().Done() // slower than any timeout: the sender gives up
			return
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values{}, rc.forms...)
}

func subscribe(t *testing.T, ts *httptest.Server, tok, cb string, appli int) {
	t.Helper()
	if rp := call(t, ts, PathNotify, tok, form("action", "subscribe", "callbackurl", cb, "appli", strconv.Itoa(appli))); rp.Status != 0 {
		t.Fatalf("subscribe %s %d: %s", cb, appli, rp.Raw)
	}
}

// fastRetries are retries a test waits for: short and bounded.
var fastRetries = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}

func TestNotificationDelivery(t *testing.T) {
	srv, ts, clk := newTestServer(t, Config{Users: 2, NotifyRetryDelays: fastRetries, NotifyTimeout: time.Second})
	rc := newReceiver(t, 200)
	other := newReceiver(t, 200)
	toks := srv.Tokens()
	subscribe(t, ts, toks[0].AccessToken, rc.URL+"/w", 1)
	subscribe(t, ts, toks[0].AccessToken, rc.URL+"/w", 44)
	subscribe(t, ts, toks[1].AccessToken, other.URL, 1)

	clk.Add(time.Hour)
	g, err := srv.AddWeighIn(0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srv.WaitNotifications()
	got := rc.received()
	if len(got) != 1 || len(other.received()) != 0 {
		t.Fatalf("user 0's weigh-in reached %d posts to its callback, %d to user 1's", len(got), len(other.received()))
	}
	r := rc.got[0]
	if r.Method != "POST" || r.URL.Path != "/w" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("delivery %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	f := got[0]
	if f.Get("userid") != strconv.FormatInt(toks[0].UserID, 10) || f.Get("appli") != "1" || len(f) != 4 {
		t.Errorf("form %v", f)
	}
	// The window fetches the new group, and only through lastupdate once.
	rp := call(t, ts, PathMeasure, toks[0].AccessToken, form("action", "getmeas", "startdate", f.Get("startdate"), "enddate", f.Get("enddate")))
	groups := decode[struct {
		Groups []MeasureGroup `json:"measuregrps"`
	}](t, rp.Body).Groups
	if len(groups) != 1 || groups[0].GrpID != g.GrpID || groups[0].Measures[0].Type != TypeWeight {
		t.Errorf("the notified window holds %+v, want the weigh-in %d", groups, g.GrpID)
	}

	// A night reaches the sleep subscription with its own window.
	sum, err := srv.AddNight(0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srv.WaitNotifications()
	got = rc.received()
	if len(got) != 2 || got[1].Get("appli") != "44" || got[1].Get("startdate") != strconv.FormatInt(sum.StartDate, 10) || got[1].Get("enddate") != strconv.FormatInt(sum.EndDate, 10) {
		t.Fatalf("night notification %v, night %d-%d", got, sum.StartDate, sum.EndDate)
	}
	rp = call(t, ts, PathSleepV2, toks[0].AccessToken, form("action", "getsummary", "lastupdate", strconv.FormatInt(clk.Now().Unix(), 10)))
	if ss := decode[struct {
		Series []SleepSummary `json:"series"`
	}](t, rp.Body).Series; len(ss) != 1 || ss[0].ID != sum.ID {
		t.Errorf("lastupdate now lists %+v, want the added night %d", ss, sum.ID)
	}
	if _, err := srv.AddNight(0, time.Time{}); err == nil {
		t.Error("a second night over the same hours was accepted")
	}
	if _, err := srv.AddNight(0, clk.Now().Add(time.Hour)); err == nil {
		t.Error("a night ending in the future was accepted")
	}

	// Revoked: nothing more is sent.
	if rp := call(t, ts, PathNotify, toks[0].AccessToken, form("action", "revoke", "callbackurl", rc.URL+"/w", "appli", "1")); rp.Status != 0 {
		t.Fatal(rp.Error)
	}
	if _, err := srv.AddWeighIn(0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	srv.WaitNotifications()
	if n := len(rc.received()); n != 2 {
		t.Errorf("%d posts after revoking, want 2", n)
	}
	for _, nt := range srv.Notifications() {
		if !nt.Delivered || !nt.Done || nt.Attempts != 1 {
			t.Errorf("notification %+v", nt)
		}
	}
}

func TestNotificationRetries(t *testing.T) {
	for _, c := range []struct {
		name      string
		script    []int
		retries   []time.Duration
		attempts  int
		delivered bool
	}{
		{"succeeds first time", []int{204}, fastRetries, 1, true},
		{"two failures then success", []int{500, 503, 200}, fastRetries, 3, true},
		{"a redirect is no success", []int{302, 200}, fastRetries, 2, true},
		{"always failing, bounded", []int{500}, fastRetries, 4, false},
		{"slower than the timeout", []int{0}, fastRetries[:1], 2, false},
		{"no retries configured", []int{500}, []time.Duration{}, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, ts, _ := newTestServer(t, Config{Users: 1, NotifyRetryDelays: c.retries, NotifyTimeout: 50 * time.Millisecond})
			rc := newReceiver(t, c.script...)
			subscribe(t, ts, srv.Tokens()[0].AccessToken, rc.URL, 4)
			if _, err := srv.AddBloodPressure(0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			srv.WaitNotifications()
			nts := srv.Notifications()
			if len(nts) != 1 || nts[0].Attempts != c.attempts || nts[0].Delivered != c.delivered || !nts[0].Done {
				t.Fatalf("notifications %+v, want one with %d attempts, delivered %v", nts, c.attempts, c.delivered)
			}
			if n := len(rc.received()); n != c.attempts {
				t.Errorf("the receiver saw %d attempts, want %d", n, c.attempts)
			}
		})
	}
}

func TestSubscriptions(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 2})
	toks := srv.Tokens()
	cb := "http://127.0.0.1:9/cb"
	subscribe(t, ts, toks[0].AccessToken, cb, 1)
	subscribe(t, ts, toks[0].AccessToken, cb, 1) // again: still one
	subscribe(t, ts, toks[0].AccessToken, cb, 16)
	subscribe(t, ts, toks[1].AccessToken, cb, 1)
	type profile struct {
		Appli   int    `json:"appli"`
		URL     string `json:"callbackurl"`
		Expires int64  `json:"expires"`
	}
	list := func(tok string, kv ...string) []profile {
		rp := call(t, ts, PathNotify, tok, form(append([]string{"action", "list"}, kv...)...))
		return decode[struct {
			Profiles []profile `json:"profiles"`
		}](t, rp.Body).Profiles
	}
	if got := list(toks[0].AccessToken); len(got) != 2 || got[0].Expires != subscriptionExpiry {
		t.Errorf("user 0 lists %+v", got)
	}
	if got := list(toks[0].AccessToken, "appli", "16"); len(got) != 1 || got[0].Appli != 16 {
		t.Errorf("user 0 appli 16 lists %+v", got)
	}
	rp := call(t, ts, PathNotify, toks[0].AccessToken, form("action", "get", "callbackurl", cb)) // appli defaults to 1
	if rp.Status != 0 {
		t.Errorf("get with the default appli: %s", rp.Raw)
	}
	srv.RevokeUser(0)
	if n := len(srv.Subscriptions()); n != 1 {
		t.Errorf("%d subscriptions after user 0 unlinked, want user 1's", n)
	}
	if rp := call(t, ts, PathNotify, toks[0].AccessToken, form("action", "list")); rp.Status != StatusInvalidToken {
		t.Errorf("a revoked user's token: %d", rp.Status)
	}
}

// TestScan: generated data that appears as the clock runs is announced
// once, with windows that fetch it.
func TestScan(t *testing.T) {
	srv, ts, clk := newTestServer(t, Config{Users: 2, NotifyRetryDelays: fastRetries})
	rc := newReceiver(t, 200)
	tok := srv.Tokens()[0].AccessToken
	for _, a := range []int{1, 44, 16} {
		subscribe(t, ts, tok, rc.URL, a)
	}
	if n := srv.Scan(); n != 0 {
		t.Fatalf("a scan before time moved sent %d", n)
	}
	clk.Add(72 * time.Hour)
	if n := srv.Scan(); n == 0 {
		t.Fatal("three days passed and nothing was announced")
	}
	srv.WaitNotifications()
	byAppli := map[string][]url.Values{}
	for _, f := range rc.received() {
		if f.Get("userid") != strconv.FormatInt(srv.Tokens()[0].UserID, 10) {
			t.Errorf("a notification for another user: %v", f)
		}
		byAppli[f.Get("appli")] = append(byAppli[f.Get("appli")], f)
	}
	if len(byAppli["1"]) != 1 || len(byAppli["44"]) != 1 || len(byAppli["16"]) < 3 {
		t.Fatalf("notifications by appli: %v", byAppli)
	}
	w := byAppli["1"][0]
	rp := call(t, ts, PathMeasure, tok, form("action", "getmeas", "startdate", w.Get("startdate"), "enddate", w.Get("enddate")))
	if groups := decode[struct {
		Groups []MeasureGroup `json:"measuregrps"`
	}](t, rp.Body).Groups; len(groups) == 0 {
		t.Errorf("the weight window %v fetches nothing", w)
	}
	dated := 0
	for _, f := range byAppli["16"] {
		if f.Get("date") != "" {
			dated++
		}
	}
	if dated != 3 {
		t.Errorf("%d activity notifications with a date after three days, want 3", dated)
	}
	if n := srv.Scan(); n != 0 {
		t.Errorf("a second scan at the same time sent %d", n)
	}
}
