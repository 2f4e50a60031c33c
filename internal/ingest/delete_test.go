package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// postDelete sends Oura's signed notification that a document was deleted.
func (e *env) postDelete(conn store.Connection, coll oura.DataType, id string) {
	e.t.Helper()
	body, _ := json.Marshal(oura.Notification{EventType: oura.WebhookDelete, DataType: coll, ObjectID: id,
		EventTime: "2026-01-01T08:00:00+00:00", UserID: conn.ExternalUserID})
	if code := e.post(body, e.sim.ClientSecret()); code != 200 {
		e.t.Fatalf("delete notification: status %d", code)
	}
}

// healthVersions maps each health document of the connection's user to its
// version and body.
func (e *env) healthVersions(conn store.Connection) map[string]store.HealthDocument {
	e.t.Helper()
	hd, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.HealthDocument{}
	for _, d := range hd {
		// Keys as the normalizer gives them, without the data source.
		out[d.DataStructure+"/"+d.Pillar+"/"+strings.TrimPrefix(d.Key, d.DataSource()+":")] = d
	}
	return out
}

// rawOf returns a stored raw document of a collection.
func (e *env) rawOf(conn store.Connection, coll string) store.RawDocument {
	e.t.Helper()
	raws, err := e.st.RawDocuments(e.ctx, conn.ID, []string{coll}, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(raws) == 0 {
		e.t.Fatalf("no %s document stored", coll)
	}
	return raws[len(raws)/2]
}

// changedSince lists the documents whose version differs from before, and
// those that are new.
func changedSince(before, after map[string]store.HealthDocument) []string {
	var out []string
	for k, a := range after {
		if b, ok := before[k]; !ok || b.Version != a.Version {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "removed "+k)
		}
	}
	return out
}

// TestDeleteNotification: Oura's delete of a sleep removes its raw document
// and gives the day's sleep summary a new version without it; a delete of a
// workout gives the workout's activity event a new version with no event,
// and a receiver is told of both through the outbox. A second delete of
// the same document, and one of a document never stored, change nothing.
func TestDeleteNotification(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 5})
	conn := e.link(0)
	e.waitBackfill(time.Minute, conn)
	e.waitIdle(time.Minute)

	sleep := e.rawOf(conn, oura.CollSleep)
	before := e.healthVersions(conn)
	key := "sleep_summary/sleep_health/" + sleep.Day
	sum, ok := before[key]
	if !ok {
		t.Fatalf("no sleep summary of %s before the delete", sleep.Day)
	}
	if !strings.Contains(string(sum.Body), sleep.ExternalID) {
		t.Fatalf("the sleep summary of %s does not name sleep %s before the delete", sleep.Day, sleep.ExternalID)
	}
	boxBefore, err := e.st.Outbox(e.ctx)
	if err != nil {
		t.Fatal(err)
	}

	e.postDelete(conn, "sleep", sleep.ExternalID)
	e.waitIdle(time.Minute)

	if _, err := e.st.RawDocument(e.ctx, conn.ID, oura.CollSleep, sleep.ExternalID); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("raw sleep %s after its delete: %v", sleep.ExternalID, err)
	}
	after := e.healthVersions(conn)
	got := after[key]
	if got.Version != sum.Version+1 {
		t.Fatalf("sleep summary of %s: version %d, want %d", sleep.Day, got.Version, sum.Version+1)
	}
	if strings.Contains(string(got.Body), sleep.ExternalID) {
		t.Fatalf("the sleep summary of %s still names the deleted sleep %s", sleep.Day, sleep.ExternalID)
	}
	if v := bodyVersion(t, got.Body); v != got.Version {
		t.Fatalf("document_version %d in a body stored as version %d", v, got.Version)
	}
	for _, k := range changedSince(before, after) {
		if strings.HasPrefix(k, "removed ") {
			t.Fatalf("a delete removed health document %s", k)
		}
	}
	boxAfter, err := e.st.Outbox(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !hasOutbox(boxAfter[len(boxBefore):], "sleep_summary", sleep.Day, got.Version) {
		t.Fatalf("no outbox record of sleep summary %s version %d", sleep.Day, got.Version)
	}
	if c, _ := e.st.GetConnection(e.ctx, conn.ID); hasDeleteMark(c) {
		t.Fatalf("delete mark left in the cursors: %v", c.Cursors)
	}

	// A workout is its own activity event: it is not removed but gets a
	// version with no event.
	workout := e.rawOf(conn, oura.CollWorkout)
	evKey := "activity_event/physical_health/workout:" + workout.ExternalID
	ev, ok := after[evKey]
	if !ok {
		t.Fatalf("no activity event %s before the delete", evKey)
	}
	e.postDelete(conn, "workout", workout.ExternalID)
	e.waitIdle(time.Minute)
	afterWorkout := e.healthVersions(conn)
	got = afterWorkout[evKey]
	if got.Version != ev.Version+1 {
		t.Fatalf("activity event of deleted workout: version %d, want %d", got.Version, ev.Version+1)
	}
	doc, err := health.Parse(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if a := doc.(*health.ActivityEventDocument); len(a.Events) != 0 || strings.Contains(string(got.Body), workout.ExternalID) {
		t.Fatalf("activity event of the deleted workout still has data: %s", got.Body)
	}

	// Again, and a document never stored: accepted, nothing changes.
	rawBefore, _ := e.st.CountRawDocuments(e.ctx, conn.ID)
	e.postDelete(conn, "workout", workout.ExternalID)
	e.postDelete(conn, "sleep", "no-such-sleep")
	if _, err := e.river.Insert(e.ctx, ingest.DeleteArgs{ConnectionID: conn.ID, Collection: oura.CollSleep, ID: sleep.ExternalID}, nil); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(time.Minute)
	if ch := changedSince(afterWorkout, e.healthVersions(conn)); len(ch) > 0 {
		t.Fatalf("repeated and unknown deletes changed %v", ch)
	}
	if rawAfter, _ := e.st.CountRawDocuments(e.ctx, conn.ID); fmt.Sprint(rawAfter) != fmt.Sprint(rawBefore) {
		t.Fatalf("repeated and unknown deletes changed raw documents: %v, was %v", rawAfter, rawBefore)
	}
	for _, j := range e.jobs("ingest_delete", rivertype.JobStateCompleted) {
		if len(j.Errors) > 0 {
			t.Fatalf("delete job %s had errors %v", j.EncodedArgs, j.Errors)
		}
	}
	if n := len(e.jobs("ingest_delete", rivertype.JobStateCompleted)); n != 5 {
		t.Fatalf("%d delete jobs completed, want 5", n)
	}
	if n := len(e.jobs("ingest_fetch", rivertype.JobStateCompleted)); n != 0 {
		t.Fatalf("delete notifications enqueued %d fetches", n)
	}
}

// TestDeleteResumesAfterFailure: a delete job that stops after the raw
// document is gone but before the day is normalized (here the health
// write fails once, as a kill there would leave it) finishes the day when
// it runs again, from what it recorded before deleting.
func TestDeleteResumesAfterFailure(t *testing.T) {
	fs := &failingStore{}
	e := newEnv(t, envOptions{users: 1, backfillDays: 5, engine: func(c *ingest.Config) {
		fs.Store = c.Store
		c.Store = fs
	}})
	conn := e.link(0)
	e.waitBackfill(time.Minute, conn)
	e.waitIdle(time.Minute)

	sleep := e.rawOf(conn, oura.CollSleep)
	key := "sleep_summary/sleep_health/" + sleep.Day
	before := e.healthVersions(conn)[key]
	fs.failNext(1)
	e.postDelete(conn, "sleep", sleep.ExternalID)
	e.waitIdle(2 * time.Minute)

	if fs.failed() != 1 {
		t.Fatalf("the health write failed %d times, want 1", fs.failed())
	}
	if _, err := e.st.RawDocument(e.ctx, conn.ID, oura.CollSleep, sleep.ExternalID); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("raw sleep after its delete: %v", err)
	}
	got := e.healthVersions(conn)[key]
	if got.Version != before.Version+1 || strings.Contains(string(got.Body), sleep.ExternalID) {
		t.Fatalf("sleep summary of %s after the resumed delete: version %d (was %d), names the sleep: %v",
			sleep.Day, got.Version, before.Version, strings.Contains(string(got.Body), sleep.ExternalID))
	}
	jobs := e.jobs("ingest_delete", rivertype.JobStateCompleted)
	if len(jobs) != 1 || jobs[0].Attempt != 2 {
		t.Fatalf("delete jobs %d, want one completed at its second attempt", len(jobs))
	}
	if c, _ := e.st.GetConnection(e.ctx, conn.ID); hasDeleteMark(c) {
		t.Fatalf("delete mark left in the cursors: %v", c.Cursors)
	}
}

// failingStore fails ApplyHealthDocuments a set number of times.
type failingStore struct {
	store.Store
	mu         gosync.Mutex
	fail, done int
}

func (f *failingStore) failNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = n
}

func (f *failingStore) failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

func (f *failingStore) ApplyHealthDocuments(ctx context.Context, docs []store.HealthInput) (store.HealthWrite, error) {
	f.mu.Lock()
	fail := f.fail > 0
	if fail {
		f.fail--
		f.done++
	}
	f.mu.Unlock()
	if fail {
		return store.HealthWrite{}, errors.New("injected: killed before the health write")
	}
	return f.Store.ApplyHealthDocuments(ctx, docs)
}

func hasOutbox(recs []store.OutboxRecord, ds, day string, version int) bool {
	for _, r := range recs {
		if r.DataStructure == ds && r.Day == day && r.Version == version {
			return true
		}
	}
	return false
}

func hasDeleteMark(c store.Connection) bool {
	for k := range c.Cursors {
		if strings.HasPrefix(k, "del:") {
			return true
		}
	}
	return false
}

func bodyVersion(t *testing.T, body []byte) int {
	t.Helper()
	var v struct {
		DocumentVersion int `json:"document_version"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.DocumentVersion
}
