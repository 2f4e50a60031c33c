package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver records deliveries and verifies their signatures independently
// of Sign.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    []Webhook
	ts     []string
	fail   int // answer 500 to this many deliveries first
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-WHOOP-Signature-Timestamp")
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write([]byte(ts + string(body)))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); r.Header.Get("X-WHOOP-Signature") != want {
		rc.t.Errorf("bad signature on %s", body)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	var e Webhook
	if err := json.Unmarshal(body, &e); err != nil || e.TraceID == "" {
		rc.t.Errorf("webhook body %s: %v", body, err)
	}
	rc.got = append(rc.got, e)
	rc.ts = append(rc.ts, ts)
	w.WriteHeader(204)
}

func (rc *receiver) take() []Webhook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.got
	rc.got = nil
	return out
}

func newHookServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *ManualTime, *receiver) {
	t.Helper()
	rc := &receiver{t: t, secret: DefaultClientSecret}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	cfg.WebhookURL = hook.URL
	cfg.WebhookBackoff = time.Millisecond
	srv, ts, mt := newTestServer(t, cfg)
	return srv, ts, mt, rc
}

// nextNight is the first night of u whose main sleep has not synced at now.
func nextNight(srv *Server, u *User) *night {
	now := srv.Clock().Now()
	for n := u.localDay(now) - 2; ; n++ {
		if nt := srv.World().night(u, n); nt.main.created.After(now) {
			return nt
		}
	}
}

// TestScoreDelayAndUpdateWebhook: a new night's sleep and recovery appear
// PENDING_SCORE when the strap syncs, turn SCORED at end + ScoreDelay, and
// are then announced by signed *.updated webhooks whose recovery id is the
// sleep's UUID.
func TestScoreDelayAndUpdateWebhook(t *testing.T) {
	const delay = 3 * time.Hour
	srv, ts, mt, rc := newHookServer(t, Config{Users: 2, ScoreDelay: delay})
	u := srv.World().User(0)
	tok := srv.Tokens()[0].AccessToken
	nt := nextNight(srv, u)
	cid := cycleID(u, nt.n)
	path := "/v2/cycle/" + strconv.FormatInt(cid, 10)

	if st, _, _ := get(t, ts, path, tok); st != 404 {
		t.Fatalf("cycle of a night not synced yet: %d", st)
	}
	srv.AdvanceClock(nt.main.created.Add(time.Second).Sub(srv.Clock().Now()))
	_, _, b := get(t, ts, "/v2/cycle?limit=2", tok)
	cs := decode[Page[Cycle]](t, b).Records
	if cs[0].ID != cid || cs[0].End != nil || cs[1].End == nil || *cs[1].End != cs[0].Start {
		t.Fatalf("after sync: %s", b)
	}
	_, _, b = get(t, ts, path+"/sleep", tok)
	sl := decode[Sleep](t, b)
	if sl.ScoreState != StatePending || sl.Score != nil {
		t.Fatalf("sleep right after sync: %s", b)
	}
	_, _, b = get(t, ts, path+"/recovery", tok)
	if r := decode[Recovery](t, b); r.ScoreState != StatePending || r.Score != nil || r.SleepID != sl.ID {
		t.Fatalf("recovery right after sync: %s", b)
	}
	srv.WaitWebhooks()
	for _, e := range rc.take() {
		if e.ID == sl.ID {
			t.Fatalf("announced before its score: %+v", e)
		}
	}

	// One millisecond before the score: still pending.
	scoreAt := nt.main.end.Add(delay)
	srv.AdvanceClock(scoreAt.Add(-time.Millisecond).Sub(srv.Clock().Now()))
	if _, _, b = get(t, ts, path+"/sleep", tok); decode[Sleep](t, b).ScoreState != StatePending {
		t.Fatalf("scored early: %s", b)
	}
	mt.Add(1500 * time.Millisecond)
	evs := srv.AdvanceClock(time.Millisecond)
	srv.WaitWebhooks()
	got := rc.take()
	if len(got) != len(evs) {
		t.Fatalf("sent %d webhooks, received %d", len(evs), len(got))
	}
	var types []string
	for _, e := range got {
		if e.ID == sl.ID && e.UserID == u.UserID {
			types = append(types, e.Type)
		}
	}
	if strings.Join(types, ",") != EventSleepUpdated+","+EventRecoveryUpdated {
		t.Fatalf("webhooks for the sleep: %v (all: %+v)", types, got)
	}
	_, _, b = get(t, ts, path+"/sleep", tok)
	if s := decode[Sleep](t, b); s.ScoreState == StatePending || s.UpdatedAt != fmtTime(scoreAt) {
		t.Fatalf("sleep at its score time: %s", b)
	}
	if want := strconv.FormatInt(mt.Now().UnixMilli(), 10); rc.ts[len(rc.ts)-1] != want {
		t.Errorf("timestamp %s, want the real clock in ms %s", rc.ts[len(rc.ts)-1], want)
	}

	// NextNight jumps to the next score and announces everything due,
	// workouts of the day included.
	cid2, evs, err := srv.NextNight(0)
	if err != nil || cid2 != cid+MaxUsers {
		t.Fatalf("next night %d after %d: %v", cid2, cid, err)
	}
	srv.WaitWebhooks()
	got = rc.take()
	if len(got) != len(evs) || got[len(got)-1].Type != EventRecoveryUpdated {
		t.Fatalf("sent %+v, received %+v", evs, got)
	}
	for _, e := range got {
		if e.Type == EventWorkoutUpdated {
			if st, _, _ := get(t, ts, "/v2/activity/workout/"+e.ID, srv.Tokens()[indexOf(srv, e.UserID)].AccessToken); st != 200 {
				t.Errorf("workout.updated for %s, which answers %d", e.ID, st)
			}
		}
	}
}

func indexOf(srv *Server, userID int64) int { return srv.World().UserByID(userID).Index }

// TestDeleteSleep: deleting a main sleep hides it and its recovery and
// sends sleep.deleted then recovery.deleted; a user who revoked access gets
// no webhooks.
func TestDeleteSleep(t *testing.T) {
	srv, ts, _, rc := newHookServer(t, Config{Users: 2})
	tok := srv.Tokens()[0].AccessToken
	_, _, b := get(t, ts, "/v2/cycle?limit=3", tok)
	cy := decode[Page[Cycle]](t, b).Records[1]
	path := "/v2/cycle/" + strconv.FormatInt(cy.ID, 10)
	_, _, b = get(t, ts, path+"/sleep", tok)
	sl := decode[Sleep](t, b)

	if err := srv.DeleteSleep(sl.ID); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteSleep(sl.ID); err == nil {
		t.Error("deleted twice")
	}
	srv.WaitWebhooks()
	got := rc.take()
	if len(got) != 2 || got[0].Type != EventSleepDeleted || got[1].Type != EventRecoveryDeleted || got[0].ID != sl.ID || got[1].ID != sl.ID {
		t.Fatalf("webhooks %+v", got)
	}
	for _, p := range []string{path + "/sleep", path + "/recovery", "/v2/activity/sleep/" + sl.ID} {
		if st, _, _ := get(t, ts, p, tok); st != 404 {
			t.Errorf("%s after delete: %d", p, st)
		}
	}
	if st, _, _ := get(t, ts, path, tok); st != 200 {
		t.Errorf("the cycle went with the sleep: %d", st)
	}
	for _, r := range listAll[Recovery](t, ts, "/v2/recovery?limit=25&start="+strings.Replace(cy.Start, "Z", "%2B00:00", 1), tok) {
		if r.SleepID == sl.ID {
			t.Error("deleted recovery still listed")
		}
	}

	// User 1 revokes the one grant it has: its deletions go unannounced.
	tok1 := srv.Tokens()[1].AccessToken
	_, _, b = get(t, ts, "/v2/activity/sleep?limit=1", tok1)
	sl1 := decode[Page[Sleep]](t, b).Records[0]
	req, _ := http.NewRequest("DELETE", ts.URL+"/developer/v2/user/access", nil)
	req.Header.Set("Authorization", "Bearer "+tok1)
	if resp, err := ts.Client().Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	if err := srv.DeleteSleep(sl1.ID); err != nil {
		t.Fatal(err)
	}
	srv.WaitWebhooks()
	if got := rc.take(); len(got) != 0 {
		t.Errorf("webhooks after revoke: %+v", got)
	}
}

// TestWebhookRetries: a receiver failing twice gets the event on the third
// attempt.
func TestWebhookRetries(t *testing.T) {
	srv, ts, _, rc := newHookServer(t, Config{Users: 1})
	rc.fail = 2
	_, _, b := get(t, ts, "/v2/activity/sleep?limit=1", srv.Tokens()[0].AccessToken)
	if err := srv.DeleteSleep(decode[Page[Sleep]](t, b).Records[0].ID); err != nil {
		t.Fatal(err)
	}
	srv.WaitWebhooks()
	if got := rc.take(); len(got) != 2 {
		t.Fatalf("received %+v", got)
	}
	if st := srv.WebhookStats(); st.Attempts != 4 || st.Delivered != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSignMatchesDocumentedFormula(t *testing.T) {
	// base64(HMAC-SHA256(secret, timestamp + body)), no separator.
	body := []byte(`{"user_id":10129,"id":"ecfc6a15-4661-442f-a9a4-f160dd7afae8","type":"sleep.updated","trace_id":"e369c784-5100-49e8-8098-75d35c47b31b"}`)
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(append([]byte("1748241241000"), body...))
	if got, want := Sign("s3cret", "1748241241000", body), base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}
