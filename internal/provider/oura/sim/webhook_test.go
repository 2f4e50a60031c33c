package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// receiver is a webhook endpoint: it answers the verification challenge
// when the token matches and records the notifications it gets.
type receiver struct {
	mu       sync.Mutex
	token    string
	status   []int // statuses for successive POSTs; 200 once exhausted
	posts    []receivedPost
	verifies int
}

type receivedPost struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		rc.verifies++
		if r.URL.Query().Get("verification_token") != rc.token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": r.URL.Query().Get("challenge")})
	case http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		rc.posts = append(rc.posts, receivedPost{r.Header.Clone(), b})
		st := http.StatusOK
		if len(rc.status) > 0 {
			st, rc.status = rc.status[0], rc.status[1:]
		}
		w.WriteHeader(st)
	}
}

func (rc *receiver) verifyCalls() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.verifies
}

func (rc *receiver) received() []receivedPost {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedPost(nil), rc.posts...)
}

var clientHeaders = map[string]string{"x-client-id": DefaultClientID, "x-client-secret": DefaultClientSecret, "Content-Type": "application/json"}

func subscribe(t *testing.T, base, callback, token, event, dataType string) response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"callback_url": callback, "verification_token": token, "event_type": event, "data_type": dataType})
	return do(t, http.MethodPost, base+"/v2/webhook/subscription", "", clientHeaders, strings.NewReader(string(body)))
}

func TestWebhookSubscriptionCRUD(t *testing.T) {
	srv, ts := newTestServer(t, Config{})
	rc := &receiver{token: "s3cret"}
	cb := httptest.NewServer(rc)
	defer cb.Close()

	// Create verifies the callback first.
	r := subscribe(t, ts.URL, cb.URL+"/hook", "s3cret", "create", "daily_sleep")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var sub oura.WebhookSubscription
	_ = json.Unmarshal(r.body, &sub)
	if len(sub.ID) != 36 || sub.ID[14] != '4' || sub.EventType != "create" || sub.DataType != "daily_sleep" || sub.CallbackURL != cb.URL+"/hook" {
		t.Errorf("created %+v", sub)
	}
	if strings.Contains(string(r.body), "s3cret") {
		t.Error("verification token echoed back")
	}
	exp, _ := sub.ExpirationTime.Time()
	if want := testStart.Add(90 * 24 * time.Hour); !exp.Equal(want) {
		t.Errorf("expiration %v, want %v", exp, want)
	}
	if n := rc.verifyCalls(); n != 1 {
		t.Errorf("%d verification calls, want 1", n)
	}

	// A callback that fails the challenge is refused with 422.
	r = subscribe(t, ts.URL, cb.URL+"/hook", "wrong-token", "create", "sleep")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "verification failed") {
		t.Errorf("failed challenge: %d %s", r.status, r.body)
	}
	r = subscribe(t, ts.URL, "http://127.0.0.1:1/unreachable", "x", "create", "sleep")
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("unreachable callback: %d %s", r.status, r.body)
	}
	// Duplicates conflict.
	if r = subscribe(t, ts.URL, cb.URL+"/hook", "s3cret", "create", "daily_sleep"); r.status != http.StatusConflict {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}

	// Validation: every field required, enums checked.
	for _, body := range []string{
		`{"callback_url":"http://x","verification_token":"t","event_type":"create"}`,
		`{"callback_url":"http://x","verification_token":"t","event_type":"created","data_type":"sleep"}`,
		`{"callback_url":"http://x","verification_token":"t","event_type":"create","data_type":"heartrate"}`,
		`not json`,
	} {
		r := do(t, http.MethodPost, ts.URL+"/v2/webhook/subscription", "", clientHeaders, strings.NewReader(body))
		var v struct {
			Detail []validationError `json:"detail"`
		}
		if r.status != 422 || json.Unmarshal(r.body, &v) != nil || len(v.Detail) == 0 || v.Detail[0].Loc[0] != "body" {
			t.Errorf("body %s: %d %s", body, r.status, r.body)
		}
	}

	// Credentials.
	if r := do(t, http.MethodGet, ts.URL+"/v2/webhook/subscription", "", map[string]string{"x-client-id": DefaultClientID, "x-client-secret": "no"}, nil); r.status != 401 {
		t.Errorf("wrong secret: %d", r.status)
	}
	if r := do(t, http.MethodGet, ts.URL+"/v2/webhook/subscription", "", nil, nil); r.status != 403 {
		t.Errorf("no credentials: %d", r.status)
	}

	// List is a bare array.
	r = do(t, http.MethodGet, ts.URL+"/v2/webhook/subscription", "", clientHeaders, nil)
	var list []oura.WebhookSubscription
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil || len(list) != 1 || list[0].ID != sub.ID {
		t.Errorf("list: %d %s", r.status, r.body)
	}

	// Get, unknown id.
	if r := do(t, http.MethodGet, ts.URL+"/v2/webhook/subscription/"+sub.ID, "", clientHeaders, nil); r.status != 200 {
		t.Errorf("get: %d", r.status)
	}
	r = do(t, http.MethodGet, ts.URL+"/v2/webhook/subscription/00000000-0000-4000-8000-000000000000", "", clientHeaders, nil)
	if r.status != 403 || detailString(t, r) != "Webhook with specified id does not exist." {
		t.Errorf("unknown id: %d %s", r.status, r.body)
	}

	// Update: verification_token required; changing the callback re-verifies.
	r = do(t, http.MethodPut, ts.URL+"/v2/webhook/subscription/"+sub.ID, "", clientHeaders, strings.NewReader(`{"event_type":"update"}`))
	if r.status != 422 {
		t.Errorf("update without token: %d", r.status)
	}
	r = do(t, http.MethodPut, ts.URL+"/v2/webhook/subscription/"+sub.ID, "", clientHeaders, strings.NewReader(`{"verification_token":"s3cret","event_type":"update","callback_url":"`+cb.URL+`/hook2"}`))
	var upd oura.WebhookSubscription
	if r.status != 200 || json.Unmarshal(r.body, &upd) != nil || upd.EventType != "update" || upd.DataType != "daily_sleep" || upd.CallbackURL != cb.URL+"/hook2" {
		t.Errorf("update: %d %s", r.status, r.body)
	}
	if n := rc.verifyCalls(); n < 3 {
		t.Errorf("a new callback URL was not verified (%d calls)", n)
	}

	// Renew moves expiration_time to now + 90 days of simulated time.
	srv.Clock().Advance(48 * time.Hour)
	r = do(t, http.MethodPut, ts.URL+"/v2/webhook/subscription/renew/"+sub.ID, "", clientHeaders, nil)
	var ren oura.WebhookSubscription
	_ = json.Unmarshal(r.body, &ren)
	if got, _ := ren.ExpirationTime.Time(); r.status != 200 || !got.Equal(testStart.Add(48*time.Hour+90*24*time.Hour)) {
		t.Errorf("renew: %d %s", r.status, r.body)
	}

	// Delete answers 204, then the id is gone.
	if r := do(t, http.MethodDelete, ts.URL+"/v2/webhook/subscription/"+sub.ID, "", clientHeaders, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("delete: %d %q", r.status, r.body)
	}
	if r := do(t, http.MethodDelete, ts.URL+"/v2/webhook/subscription/"+sub.ID, "", clientHeaders, nil); r.status != 403 {
		t.Errorf("delete again: %d", r.status)
	}
}

// verifySignature recomputes x-oura-signature independently of the server.
func verifySignature(t *testing.T, p receivedPost, secret string) {
	t.Helper()
	ts := p.header.Get("x-oura-timestamp")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + string(p.body)))
	want := strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	if got := p.header.Get("x-oura-signature"); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if ts == "" || strings.Trim(ts, "0123456789") != "" {
		t.Errorf("x-oura-timestamp %q is not unix seconds", ts)
	}
}

func TestNotificationSignedAndRetried(t *testing.T) {
	srv, ts := newTestServer(t, Config{ClientSecret: "hook-secret", WebhookBackoff: time.Millisecond, WebhookRetries: 2})
	rc := &receiver{token: "tok", status: []int{500, 503}}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	hdr := map[string]string{"x-client-id": DefaultClientID, "x-client-secret": "hook-secret"}
	body := `{"callback_url":"` + cb.URL + `","verification_token":"tok","event_type":"create","data_type":"sleep"}`
	if r := do(t, http.MethodPost, ts.URL+"/v2/webhook/subscription", "", hdr, strings.NewReader(body)); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	u := srv.World().Users()[1]
	srv.hooks.notify(u, oura.WebhookCreate, "sleep", "doc-1")
	srv.hooks.notify(u, oura.WebhookCreate, "daily_sleep", "not-subscribed")
	srv.WaitNotifications()

	posts := rc.received()
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3 (two failures, then success)", len(posts))
	}
	for _, p := range posts {
		verifySignature(t, p, "hook-secret")
		if string(p.body) != string(posts[0].body) {
			t.Error("retries must resend the same body")
		}
	}
	var n oura.Notification
	if err := json.Unmarshal(posts[0].body, &n); err != nil {
		t.Fatal(err)
	}
	if n.EventType != "create" || n.DataType != "sleep" || n.ObjectID != "doc-1" || n.UserID != u.OuraID {
		t.Errorf("notification %+v", n)
	}
	if et, err := n.EventTime.Time(); err != nil || !et.Equal(testStart) {
		t.Errorf("event_time %q, want the simulated now", n.EventTime)
	}
	if st := srv.WebhookStats(); st.Delivered != 1 || st.Attempts != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestNotificationGoneCancels(t *testing.T) {
	srv, ts := newTestServer(t, Config{WebhookBackoff: time.Millisecond})
	rc := &receiver{token: "tok", status: []int{http.StatusGone}}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	if r := subscribe(t, ts.URL, cb.URL, "tok", "create", "workout"); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	srv.hooks.notify(srv.World().Users()[0], oura.WebhookCreate, "workout", "w-1")
	srv.WaitNotifications()
	if len(rc.received()) != 1 || len(srv.Subscriptions()) != 0 || srv.WebhookStats().Cancelled != 1 {
		t.Errorf("410: %d posts, %d subscriptions left", len(rc.received()), len(srv.Subscriptions()))
	}
}

func TestNotificationDropsAreDeterministic(t *testing.T) {
	run := func(seed int64) []string {
		srv, ts := newTestServer(t, Config{Seed: seed, NotificationDropRate: 0.5})
		rc := &receiver{token: "tok"}
		cb := httptest.NewServer(rc)
		defer cb.Close()
		if r := subscribe(t, ts.URL, cb.URL, "tok", "create", "tag"); r.status != 201 {
			t.Fatalf("create: %d", r.status)
		}
		for i := 0; i < 200; i++ {
			srv.hooks.notify(srv.World().Users()[0], oura.WebhookCreate, "tag", "tag-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		srv.WaitNotifications()
		var got []string
		for _, p := range rc.received() {
			var n oura.Notification
			_ = json.Unmarshal(p.body, &n)
			got = append(got, n.ObjectID)
		}
		return got
	}
	a, b := run(7), run(7)
	if len(a) < 60 || len(a) > 140 {
		t.Errorf("%d of 200 delivered with drop rate 0.5", len(a))
	}
	set := map[string]bool{}
	for _, id := range a {
		set[id] = true
	}
	for _, id := range b {
		if !set[id] {
			t.Fatalf("same seed, different drops (%s)", id)
		}
	}
	if len(a) != len(b) {
		t.Errorf("same seed delivered %d then %d", len(a), len(b))
	}
}

func TestExpiredSubscriptionGetsNothing(t *testing.T) {
	srv, ts := newTestServer(t, Config{SubscriptionTTL: time.Hour})
	rc := &receiver{token: "tok"}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	if r := subscribe(t, ts.URL, cb.URL, "tok", "create", "session"); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	srv.Clock().Advance(2 * time.Hour)
	srv.hooks.notify(srv.World().Users()[0], oura.WebhookCreate, "session", "s-1")
	srv.WaitNotifications()
	if n := len(rc.received()); n != 0 {
		t.Errorf("expired subscription got %d notifications", n)
	}
}

func TestUpdateEventsForThePreviousDay(t *testing.T) {
	srv, ts := newTestServer(t, Config{UpdateRate: 1})
	rc := &receiver{token: "tok"}
	cb := httptest.NewServer(rc)
	defer cb.Close()
	if r := subscribe(t, ts.URL, cb.URL, "tok", "update", "daily_sleep"); r.status != 201 {
		t.Fatal(r.status)
	}
	u := srv.World().Users()[0]
	prev := srv.World().Day(u, srv.World().LastDay(u)).DailySleep
	if _, err := srv.AddDay(0); err != nil {
		t.Fatal(err)
	}
	srv.WaitNotifications()
	posts := rc.received()
	if prev == nil {
		t.Skip("no daily_sleep on the previous day")
	}
	var n oura.Notification
	if len(posts) != 1 || json.Unmarshal(posts[0].body, &n) != nil || n.EventType != "update" || n.ObjectID != prev.ID {
		t.Errorf("got %d posts (%+v), want one update of %s", len(posts), n, prev.ID)
	}
}
