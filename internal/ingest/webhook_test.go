package ingest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// subscribe creates the app's subscriptions at the simulator, which
// verifies the callback of each.
func (e *env) subscribe() {
	e.t.Helper()
	rep, err := e.eng.EnsureSubscriptions(e.ctx, "", e.app.URL+"/oura/webhook")
	if err != nil {
		e.t.Fatal(err)
	}
	if want := 3 * 16; rep.Created != want || len(e.sim.Subscriptions()) != want {
		e.t.Fatalf("created %d subscriptions (%d at the simulator), want %d", rep.Created, len(e.sim.Subscriptions()), want)
	}
}

// post sends a notification body signed with secret.
func (e *env) post(body []byte, secret string) int {
	e.t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/oura/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-oura-timestamp", ts)
	if secret != "" {
		req.Header.Set("x-oura-signature", oura.Sign(secret, ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookVerificationChallenge(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, noWorkers: true})
	get := func(token string) (int, string) {
		resp, err := http.Get(e.app.URL + "/oura/webhook?verification_token=" + token + "&challenge=abc123")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Challenge string }
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Challenge
	}
	if code, ch := get(verifyTok); code != 200 || ch != "abc123" {
		t.Fatalf("right token: %d %q", code, ch)
	}
	if code, _ := get("wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
}

// TestWebhookRejectsBadSignature: anything without a valid signature is
// 401 and leaves no job and no trace on the connection.
func TestWebhookRejectsBadSignature(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, noWorkers: true, backfillDays: 2})
	conn := e.link(0)
	before, _ := e.st.GetConnection(e.ctx, conn.ID)
	body, _ := json.Marshal(oura.Notification{EventType: "create", DataType: "sleep", ObjectID: "x", EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
	if code := e.post(body, "not-the-secret"); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code := e.post(body, ""); code != 401 {
		t.Fatalf("no signature: %d", code)
	}
	// A valid signature over other bytes.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/oura/webhook", bytes.NewReader(append(body, ' ')))
	req.Header.Set("x-oura-timestamp", ts)
	req.Header.Set("x-oura-signature", oura.Sign(e.sim.ClientSecret(), ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("tampered body: %d", resp.StatusCode)
	}
	if n := len(e.jobs("ingest_fetch")); n != 0 {
		t.Fatalf("%d fetch jobs enqueued", n)
	}
	after, _ := e.st.GetConnection(e.ctx, conn.ID)
	if after.Cursors["webhook_at"] != "" || len(after.Cursors) != len(before.Cursors) {
		t.Fatalf("cursors changed: %v", after.Cursors)
	}
	// The same notification, signed, is accepted.
	if code := e.post(body, e.sim.ClientSecret()); code != 200 {
		t.Fatalf("signed: %d", code)
	}
	if n := len(e.jobs("ingest_fetch")); n != 1 {
		t.Fatalf("%d fetch jobs after a valid notification", n)
	}
}

// TestDuplicateNotificationsCollapse: notifications for one user and
// collection that arrive while a fetch waits become that one fetch; a
// burst that arrives while its read is in flight costs one more read, not
// one per notification.
func TestDuplicateNotificationsCollapse(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		e := newEnv(t, envOptions{users: 1, noWorkers: true, backfillDays: 2})
		conn := e.link(0)
		for i := 0; i < 5; i++ {
			for _, dt := range []string{"sleep", "daily_sleep"} {
				body, _ := json.Marshal(oura.Notification{EventType: "create", DataType: oura.DataType(dt), ObjectID: "id-" + strconv.Itoa(i), EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
				if code := e.post(body, e.sim.ClientSecret()); code != 200 {
					t.Fatalf("notification %d: %d", i, code)
				}
			}
		}
		if n := len(e.jobs("ingest_fetch")); n != 1 {
			t.Fatalf("%d fetch jobs for 10 notifications of 2 collections of one connection, want 1", n)
		}
	})
	t.Run("running", func(t *testing.T) {
		e := newEnv(t, envOptions{users: 1, backfillDays: 3})
		conn := e.link(0)
		e.waitBackfill(5*time.Minute, conn)
		e.waitIdle(5 * time.Minute)
		e.sim.ResetRequestCounts()
		fetchesBefore := len(e.jobs("ingest_fetch", rivertype.JobStateCompleted))
		body, _ := json.Marshal(oura.Notification{EventType: "update", DataType: "daily_sleep", ObjectID: "whatever", EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
		post := func(i int) {
			if code := e.post(body, e.sim.ClientSecret()); code != 200 {
				t.Fatalf("notification %d: %d", i, code)
			}
		}
		// The first notification starts a fetch; its read is held at the
		// simulator until the other nine have been accepted, so all nine
		// arrive while it is in flight, whatever the machine's speed.
		held := e.gate.hold("/daily_sleep")
		post(0)
		select {
		case <-held:
		case <-time.After(5 * time.Minute):
			t.Fatal("the first notification's fetch never read daily_sleep")
		}
		for i := 1; i < 10; i++ {
			post(i)
		}
		e.gate.release()
		e.waitIdle(5 * time.Minute)
		// The held round (a range read, plus a read by id of the unknown
		// document the update named: it is not in the range, so it is
		// looked up and is a 404), then exactly one more round for the nine
		// that came during it, in the same job.
		counts := e.sim.RequestCounts()[0]
		if counts["daily_sleep"] != 4 {
			t.Fatalf("10 notifications cost %d reads of daily_sleep, want 2 rounds of 2: %v", counts["daily_sleep"], counts)
		}
		if n := len(e.jobs("ingest_fetch", rivertype.JobStateCompleted)) - fetchesBefore; n != 1 {
			t.Fatalf("10 notifications made %d fetch jobs, want 1", n)
		}
	})
}

// TestSyncOneVersion: the notifications of one sync make one job, and the
// documents of the new day one version each, however the reads of their
// collections interleave. The read of daily_sleep, which feeds the sleep
// summary with sleep, is held until every other collection of the sync
// was read: a job that normalized after each collection would write the
// summary without its score, then again with it. The sync's notifications
// go out at once, but under -race on a loaded machine their handling can
// take longer than the shipped settle time, and any accepted after the job
// began are read and normalized in a second round: the settle here is
// long enough for all of them.
func TestSyncOneVersion(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 3, engine: func(c *ingest.Config) { c.FetchSettle = 3 * time.Second }})
	e.subscribe()
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	e.sim.ResetRequestCounts()
	fetchesBefore := len(e.jobs("ingest_fetch", rivertype.JobStateCompleted))
	versions := func() map[string]int {
		docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID})
		if err != nil {
			t.Fatal(err)
		}
		v := map[string]int{}
		for _, d := range docs {
			v[d.DataStructure+" "+d.Pillar+" "+d.Key] = d.Version
		}
		return v
	}
	before := versions()
	held := e.gate.hold("/daily_sleep")
	day, err := e.sim.AddDay(0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(5 * time.Minute):
		t.Fatal("the sync never read daily_sleep")
	}
	e.sim.WaitNotifications()
	testutil.WaitFor(t, 5*time.Minute, "the sync's other collections to be read", func() bool {
		c := e.sim.RequestCounts()[0]
		return c["sleep"] > 0 && c["daily_activity"] > 0 && c["daily_readiness"] > 0
	})
	e.gate.release()
	e.waitIdle(5 * time.Minute)
	if n := len(e.jobs("ingest_fetch", rivertype.JobStateCompleted)) - fetchesBefore; n != 1 {
		t.Errorf("one sync made %d fetch jobs, want 1", n)
	}
	changed := 0
	for k, v := range versions() {
		if v > before[k] {
			changed++
		}
		if v > before[k]+1 {
			t.Errorf("%s: version %d after one sync, was %d", k, v, before[k])
		}
	}
	docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID, DataStructure: "sleep_summary", Day: string(day)})
	if err != nil || len(docs) == 0 || changed < 3 {
		t.Fatalf("the sync of %s changed %d documents, its sleep summaries %d (%v)", day, changed, len(docs), err)
	}
}

// TestWebhookNewNight: a new night announced by the simulator's webhooks
// becomes a stored sleep_summary without any poll. How fast is a
// measurement, not a check every run makes: with WEARLINK_BENCH=1 a night
// that takes over a second (three under -race) fails the test.
func TestWebhookNewNight(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 7})
	e.subscribe()
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	for round := 0; round < 2; round++ {
		start := time.Now()
		day, err := e.sim.AddDay(0)
		if err != nil {
			t.Fatal(err)
		}
		var took time.Duration
		for {
			docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID, DataStructure: "sleep_summary", Day: string(day)})
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) > 0 {
				took = time.Since(start)
				break
			}
			if time.Since(start) > 5*time.Minute {
				e.dumpJobs()
				t.Fatalf("no sleep_summary for %s after 5 minutes", day)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("night %s: sleep_summary stored %s after the notification", day, took.Round(time.Millisecond))
		limit := time.Second
		if raceEnabled {
			limit = 3 * time.Second // the race detector slows SQLite down several times
		}
		if os.Getenv("WEARLINK_BENCH") == "1" && took > limit {
			t.Errorf("night %s took %s, limit %s", day, took, limit)
		}
		e.sim.WaitNotifications()
		e.waitIdle(5 * time.Minute)
	}
	st := e.sim.WebhookStats()
	if st.Delivered == 0 || st.Failed != 0 {
		t.Fatalf("webhook stats %+v", st)
	}
}

// TestSubscriptionsCreatedAndRenewed: only missing subscriptions are
// created, and those close to expiry are renewed.
func TestSubscriptionsCreatedAndRenewed(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, noWorkers: true})
	e.subscribe()
	cb := e.app.URL + "/oura/webhook"
	rep, err := e.eng.EnsureSubscriptions(e.ctx, "", cb)
	if err != nil || rep.Created != 0 || rep.Renewed != 0 || rep.Existing != 48 {
		t.Fatalf("second run: %+v %v", rep, err)
	}
	// One lost at Oura's end is created again.
	subs := e.sim.Subscriptions()
	if err := e.oura.Webhooks(e.sim.ClientID(), e.sim.ClientSecret()).Delete(e.ctx, subs[0].ID); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.eng.EnsureSubscriptions(e.ctx, "", cb); err != nil || rep.Created != 1 {
		t.Fatalf("after a delete: %+v %v", rep, err)
	}
	// 70 days on, every subscription (90-day lifetime) is within the 30
	// days before expiry and is renewed.
	e.sim.AdvanceClock(70 * 24 * time.Hour)
	before, _ := e.sim.Subscriptions()[0].ExpirationTime.Time()
	if rep, err := e.eng.EnsureSubscriptions(e.ctx, "", cb); err != nil || rep.Renewed != 48 {
		t.Fatalf("renewal: %+v %v", rep, err)
	}
	after, _ := e.sim.Subscriptions()[0].ExpirationTime.Time()
	if !after.After(before) {
		t.Fatalf("expiration %s not moved past %s", after, before)
	}
}

// TestNotificationsIgnored: a signed notification for a data type without a
// collection (Oura's 2026 types among them) or for an unknown user is
// accepted and does nothing; each type without a collection is counted.
func TestNotificationsIgnored(t *testing.T) {
	var mu gosync.Mutex
	counted := map[string]int{}
	e := newEnv(t, envOptions{users: 1, noWorkers: true, backfillDays: 2, engine: func(c *ingest.Config) {
		c.OnIgnoredNotification = func(ds, typ string) {
			mu.Lock()
			defer mu.Unlock()
			counted[ds+"/"+typ]++
		}
	}})
	conn := e.link(0)
	types := []string{"meal", "daily_cycle_phases", "activation_status", "period_start", "pregnancy", "fertile_window", "ovulation_confirmed", "blood_glucose"}
	var ns []oura.Notification
	for i, dt := range append(types, "pregnancy") {
		ns = append(ns, oura.Notification{EventType: "create", DataType: oura.DataType(dt), ObjectID: "x" + strconv.Itoa(i), UserID: conn.ExternalUserID})
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		want := map[string]int{}
		for _, dt := range types {
			want["oura/"+dt] = 1
		}
		want["oura/pregnancy"] = 2
		if !reflect.DeepEqual(counted, want) {
			t.Errorf("counted %v, want %v", counted, want)
		}
	}()
	for _, n := range append(ns,
		oura.Notification{EventType: "create", DataType: "sleep", ObjectID: "s1", UserID: "someone-else"},
	) {
		body, _ := json.Marshal(n)
		if code := e.post(body, e.sim.ClientSecret()); code != 200 {
			t.Fatalf("%+v: %d", n, code)
		}
	}
	if n := len(e.jobs("ingest_fetch")); n != 0 {
		t.Fatalf("%d fetch jobs", n)
	}
}

// TestFetchSettlesScheduled: a notification's fetch waits its settle time
// as a River job queued to run that much later, not in a worker: with an
// hour's settle, the job was never taken, its time is an hour after its
// creation, nothing was read, and further notifications coalesce into it.
// (A settle as short as the shipped one waits available rather than
// scheduled: jobs.TestInsertSoonIsAvailable.)
func TestFetchSettlesScheduled(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2, engine: func(c *ingest.Config) { c.FetchSettle = time.Hour }})
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	e.sim.ResetRequestCounts()
	post := func(i int) {
		body, _ := json.Marshal(oura.Notification{EventType: "create", DataType: "daily_sleep", ObjectID: "id-" + strconv.Itoa(i), EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
		if code := e.post(body, e.sim.ClientSecret()); code != 200 {
			t.Fatalf("notification %d: %d", i, code)
		}
	}
	post(0)
	fetches := e.jobs("ingest_fetch")
	if len(fetches) != 1 {
		t.Fatalf("%d fetch jobs pending after a notification, want 1", len(fetches))
	}
	job := fetches[0]
	if job.AttemptedAt != nil {
		t.Fatalf("fetch job %s, taken at %v: want never taken", job.State, job.AttemptedAt)
	}
	if wait := job.ScheduledAt.Sub(job.CreatedAt); wait < time.Hour-time.Second || wait > time.Hour+time.Minute {
		t.Fatalf("fetch job scheduled %v after its creation, want the settle time, an hour", wait)
	}
	for i := 1; i < 5; i++ {
		post(i)
	}
	if n := len(e.jobs("ingest_fetch")); n != 1 {
		t.Fatalf("%d fetch jobs pending for 5 notifications of one collection, want 1", n)
	}
	if n := e.sim.RequestCounts()[0]["daily_sleep"]; n != 0 {
		t.Fatalf("%d reads of daily_sleep before the settle time, want none", n)
	}
}

// TestNotificationCommitsCursorsAndJob: a notification's time in the
// cursors and its fetch job are written in one transaction: before it
// commits, neither is visible to other connections; after, both are; and
// when it fails, neither is written and the notification is refused, so
// the provider sends it again.
func TestNotificationCommitsCursorsAndJob(t *testing.T) {
	var fail, check atomic.Bool
	var e *env
	var inside []string
	fetchRows := func() int {
		var n int
		if err := e.st.Reader().QueryRowContext(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'ingest_fetch'`).Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	var connID int64
	notified := func() time.Time {
		got, err := e.st.GetConnection(e.ctx, connID) // the reader pool: what is committed
		if err != nil {
			t.Error(err)
		}
		return ingest.CursorsOf(got).Coll("daily_sleep").Notified
	}
	e = newEnv(t, envOptions{users: 1, backfillDays: 2,
		// Nothing takes the job while the test looks.
		engine: func(c *ingest.Config) { c.FetchSettle = time.Hour },
		jobTx: func(begin jobTxFunc) jobTxFunc {
			return func(ctx context.Context, fn func(*sql.Tx, store.CursorWriter) error) error {
				return begin(ctx, func(tx *sql.Tx, w store.CursorWriter) error {
					if err := fn(tx, w); err != nil || !check.Load() {
						return err
					}
					inside = append(inside, fmt.Sprintf("notified %v, fetch jobs %d", !notified().IsZero(), fetchRows()))
					if fail.Load() {
						return errors.New("the disk is full")
					}
					return nil
				})
			}
		}})
	conn := e.link(0)
	connID = conn.ID
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	before := fetchRows()
	n := provider.Notification{ExternalUserID: conn.ExternalUserID, Collection: "daily_sleep", Event: "create", ID: "doc-1"}
	check.Store(true)

	fail.Store(true)
	if _, err := e.eng.Notify(e.ctx, "oura", n); err == nil {
		t.Fatal("a notification whose transaction failed was accepted")
	}
	if !notified().IsZero() || fetchRows() != before {
		t.Fatalf("after a failed transaction: notified at %v, fetch jobs %d (before %d), want neither written", notified(), fetchRows(), before)
	}

	fail.Store(false)
	if _, err := e.eng.Notify(e.ctx, "oura", n); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("notified false, fetch jobs %d", before); len(inside) != 2 || inside[0] != want || inside[1] != want {
		t.Errorf("seen from another connection before each commit: %q, want %q twice", inside, want)
	}
	if notified().IsZero() || fetchRows() != before+1 {
		t.Errorf("after the commit: notified at %v, fetch jobs %d (before %d), want both written", notified(), fetchRows(), before)
	}
}

// TestWindowNotificationReachesBack: a notification that names a time
// window rather than a document (Withings') makes the next read of its
// collection start at the window's first day, even far behind the days a
// read normally covers, and only that read: the window is then cleared.
func TestWindowNotificationReachesBack(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2})
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	from := e.sim.Clock().Now().AddDate(0, 0, -20)
	held := e.gate.hold("/daily_sleep")
	if _, err := e.eng.Notify(e.ctx, "oura", provider.Notification{ExternalUserID: conn.ExternalUserID, Collection: "daily_sleep",
		From: from, To: from.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetConnection(e.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := from.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if since := ingest.CursorsOf(got).Coll("daily_sleep").Since; len(since) != 1 || since[want].IsZero() {
		t.Fatalf("pending windows %v, want one from %s", since, want)
	}
	var uri string
	select {
	case uri = <-held:
	case <-time.After(5 * time.Minute):
		t.Fatal("the notification's fetch never read daily_sleep")
	}
	e.gate.release()
	// The provider may widen the query (Oura's start_date lags by a day
	// or two); it must reach the window's first day, and not a month back.
	q, err := url.ParseQuery(uri[strings.Index(uri, "?")+1:])
	if err != nil {
		t.Fatal(err)
	}
	if start := q.Get("start_date"); start > want || start < from.AddDate(0, 0, -5).Format(time.DateOnly) {
		t.Errorf("the read was %s, want it to start at %s or a few days before", uri, want)
	}
	e.waitIdle(5 * time.Minute)
	got, err = e.st.GetConnection(e.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if since := ingest.CursorsOf(got).Coll("daily_sleep").Since; len(since) != 0 {
		t.Errorf("windows still pending after the read: %v", since)
	}
}

// TestFetchEndedQueuesLateNotification: a notification that coalesced
// into a fetch job whose worker had already returned (River records the
// end a little later) gets its fetch when the job's end is recorded; a
// job that ends with nothing notified since its reads queues none.
func TestFetchEndedQueuesLateNotification(t *testing.T) {
	e := newEnv(t, envOptions{users: 2, noWorkers: true, backfillDays: 2})
	late, quiet := e.link(0), e.link(1)
	body, _ := json.Marshal(oura.Notification{EventType: "create", DataType: "daily_sleep", ObjectID: "x", EventTime: "2026-01-01T08:00:00+00:00", UserID: late.ExternalUserID})
	if code := e.post(body, e.sim.ClientSecret()); code != 200 {
		t.Fatalf("notification: %d", code)
	}
	// The job it coalesced into is gone: it ended after its last look.
	for _, j := range e.jobs("ingest_fetch") {
		if _, err := e.river.JobDelete(e.ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	ended := func(conn store.Connection) *rivertype.JobRow {
		args, _ := json.Marshal(ingest.FetchArgs{ConnectionID: conn.ID})
		return &rivertype.JobRow{ID: 1, Kind: ingest.FetchArgs{}.Kind(), EncodedArgs: args, State: rivertype.JobStateCompleted}
	}
	if err := e.eng.FetchEnded(e.ctx, ended(quiet)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.jobs("ingest_fetch")); n != 0 {
		t.Fatalf("%d fetch jobs after a job of a connection with nothing notified ended, want 0", n)
	}
	if err := e.eng.FetchEnded(e.ctx, ended(late)); err != nil {
		t.Fatal(err)
	}
	jobs := e.jobs("ingest_fetch")
	if len(jobs) != 1 {
		t.Fatalf("%d fetch jobs after the job that missed a notification ended, want 1", len(jobs))
	}
	var got ingest.FetchArgs
	if err := json.Unmarshal(jobs[0].EncodedArgs, &got); err != nil || got.ConnectionID != late.ID {
		t.Fatalf("fetch job for %+v (%v), want connection %d", got, err, late.ID)
	}
}

// TestLateNotificationsReadBeforeNormalizing: notifications of a sync that
// come while its first reads run (a loaded server takes them in late) are
// read before the days are normalized, so the sync still makes one version
// of each document, not one without the late collections and another with
// them.
func TestLateNotificationsReadBeforeNormalizing(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 3})
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	before := e.healthVersions(conn)
	// No subscriptions: the notifications below are the only ones.
	if _, err := e.sim.AddDay(0); err != nil {
		t.Fatal(err)
	}
	notify := func(coll oura.DataType) {
		t.Helper()
		body, _ := json.Marshal(oura.Notification{EventType: "create", DataType: coll, ObjectID: "x",
			EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
		if code := e.post(body, e.sim.ClientSecret()); code != 200 {
			t.Fatalf("%s notification: status %d", coll, code)
		}
	}
	held := e.gate.hold("/daily_sleep")
	notify("daily_sleep")
	select {
	case <-held:
	case <-time.After(5 * time.Minute):
		t.Fatal("the fetch never read daily_sleep")
	}
	// The rest of the sync arrives while daily_sleep is being read.
	for _, coll := range []oura.DataType{"sleep", "daily_readiness", "daily_activity"} {
		notify(coll)
	}
	e.gate.release()
	e.waitIdle(5 * time.Minute)
	changed := 0
	for k, d := range e.healthVersions(conn) {
		if d.Version > before[k].Version {
			changed++
		}
		if d.Version > before[k].Version+1 {
			t.Errorf("%s: version %d after one sync, was %d", k, d.Version, before[k].Version)
		}
	}
	if changed < 3 {
		t.Fatalf("the sync changed %d documents, want the new day's", changed)
	}
}
