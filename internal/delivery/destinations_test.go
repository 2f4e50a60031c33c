package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// fakeWriter records the documents written and fails while fail is set.
type fakeWriter struct {
	mu      sync.Mutex
	docs    []destination.Doc
	fail    error
	testErr error
	closed  int
}

func (w *fakeWriter) Write(_ context.Context, d destination.Doc) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.docs = append(w.docs, d)
	return nil
}

func (w *fakeWriter) Test(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.testErr
}

func (w *fakeWriter) Close() error {
	w.mu.Lock()
	w.closed++
	w.mu.Unlock()
	return nil
}

func (w *fakeWriter) set(fail error) {
	w.mu.Lock()
	w.fail = fail
	w.mu.Unlock()
}

func (w *fakeWriter) written() []destination.Doc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.docs)
}

const fakeS3 = `{"endpoint":"http://127.0.0.1:9","bucket":"lake","path_style":true,"access_key_id":"AKIDTEST","secret_access_key":"hush-hush-1234"}`

// newDestEnv is an env whose destinations all write to one fake writer,
// with a two-step retry schedule.
func newDestEnv(t *testing.T) (*env, *fakeWriter) {
	fw := &fakeWriter{}
	e := newEnv(t, func(c *Config) {
		c.Schedule = []time.Duration{time.Minute, time.Hour}
		c.NewWriter = func(s destination.Settings, _ destination.Options) (destination.Writer, error) {
			if s.Kind() != destination.KindS3 {
				t.Errorf("writer of kind %s", s.Kind())
			}
			return fw, nil
		}
	})
	return e, fw
}

func (e *env) addDestination(settings string, structures ...string) Destination {
	e.t.Helper()
	d, err := e.svc.AddDestination(e.ctx, DestinationInput{ClientUUID: testClient, Kind: destination.KindS3,
		Settings: json.RawMessage(settings), DataStructures: structures})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func TestDestinationAddListRedacts(t *testing.T) {
	e, _ := newDestEnv(t)
	d := e.addDestination(fakeS3, "sleep_summary")
	if !strings.HasPrefix(d.ID, "ds_") || d.Kind != "s3" || d.Status != DestinationActive || !slices.Equal(d.DataStructures, []string{"sleep_summary"}) ||
		!strings.Contains(d.Description, "s3://lake/") {
		t.Fatalf("added %+v", d)
	}
	list, err := e.svc.ListDestinations(e.ctx, testClient)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, v := range []Destination{d, list[0]} {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), "hush-hush") || !strings.Contains(string(b), "AKIDTEST") {
			t.Fatalf("listed as %s: the secret shows or the settings are missing", b)
		}
	}
	// Not a webhook endpoint: the endpoint routes do not see it.
	if eps, _ := e.svc.ListEndpoints(e.ctx, testClient); len(eps) != 0 {
		t.Fatalf("endpoints = %+v", eps)
	}
	_, err = e.svc.GetEndpoint(e.ctx, testClient, d.ID)
	if health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("GetEndpoint of a destination: %v", err)
	}
	_, err = e.svc.GetDestination(e.ctx, "client-2", d.ID)
	if health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("another client's destination: %v", err)
	}
}

func TestDestinationInputErrors(t *testing.T) {
	e, _ := newDestEnv(t)
	for _, tc := range []struct {
		in   DestinationInput
		want string
	}{
		{DestinationInput{ClientUUID: testClient, Settings: json.RawMessage(fakeS3)}, "kind is required"},
		{DestinationInput{ClientUUID: testClient, Kind: "ftp", Settings: json.RawMessage(`{}`)}, `unknown destination kind "ftp"`},
		{DestinationInput{ClientUUID: testClient, Kind: "s3"}, "settings are required"},
		{DestinationInput{ClientUUID: testClient, Kind: "s3", Settings: json.RawMessage(`{"bucket":"lake","nope":1}`)}, `unknown field "nope"`},
		{DestinationInput{ClientUUID: testClient, Kind: "s3", Settings: json.RawMessage(`{"endpoint":"http://127.0.0.1:9","bucket":"lake","access_key_id":"a"}`)},
			"secret_access_key"},
		{DestinationInput{ClientUUID: testClient, Kind: "s3", Settings: json.RawMessage(fakeS3), DataStructures: []string{"naps"}}, `unknown data_structure "naps"`},
	} {
		_, err := e.svc.AddDestination(e.ctx, tc.in)
		if health.ErrorCode(err) != health.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want EINVALID saying %q", tc.in, err, tc.want)
		}
	}
}

func TestDestinationDeliversWithFilter(t *testing.T) {
	e, fw := newDestEnv(t)
	d := e.addDestination(fakeS3, "sleep_summary")
	applyDocs(t, e.st, 0, 3)
	ids := e.pump()
	if len(ids) != 3 {
		t.Fatalf("queued %v", ids)
	}
	for _, id := range ids {
		if _, again := e.work(id); again {
			t.Fatalf("delivery %d again", id)
		}
		if got := e.delivery(id); got.Status != store.DeliverySucceeded || got.EndpointID != d.ID {
			t.Fatalf("delivery %+v", got)
		}
	}
	docs := fw.written()
	if len(docs) != 3 {
		t.Fatalf("written %d", len(docs))
	}
	w := docs[0]
	if w.ClientUUID != testClient || w.UserID != testUser || w.DataStructure != "sleep_summary" || w.Pillar != "sleep_health" ||
		!strings.HasPrefix(w.Key, "night-") || w.Version != 1 || !strings.HasPrefix(w.WebhookID, "msg_") || !json.Valid(w.Body) || w.Day == "" {
		t.Fatalf("doc written %+v", w)
	}
	// The filter holds: a physical_summary is not for it.
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: "p", Doc: &health.PhysicalSummaryDocument{
		Header: health.Header{ClientUUID: testClient, UserID: testUser, Day: "2024-02-01"}}}}); err != nil {
		t.Fatal(err)
	}
	if ids := e.pump(); len(ids) != 0 {
		t.Fatalf("a filtered document queued %v", ids)
	}
}

func TestDestinationRetriesRejectsAndReplays(t *testing.T) {
	e, fw := newDestEnv(t)
	notify := newReceiver(t)
	e.addEndpoint(notify.URL, store.EndpointNotification)
	d := e.addDestination(fakeS3)
	fw.set(&destination.Error{Class: destination.ClassAuth, Kind: "s3", Op: "put object", Message: "The AWS Access Key Id you provided does not exist in our records."})
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]

	// Two retries on the schedule, then a dead letter.
	for i, want := range []time.Duration{time.Minute, time.Hour} {
		wait, again := e.work(id)
		if !again || wait != want {
			t.Fatalf("attempt %d: wait %v again %v", i+1, wait, again)
		}
		e.clock.Advance(wait)
	}
	if _, again := e.work(id); again {
		t.Fatal("still pending after the schedule")
	}
	got := e.delivery(id)
	atts := e.attempts(id)
	if got.Status != store.DeliveryDead || len(atts) != 3 || atts[2].ErrorClass != "auth" || !strings.Contains(atts[2].Error, "Access Key Id") {
		t.Fatalf("delivery %+v attempts %+v", got, atts)
	}
	if ep := e.endpoint(d.ID); ep.FailingSince.IsZero() {
		t.Fatal("a failing destination is not marked failing")
	}
	if v, _ := e.svc.GetDestination(e.ctx, testClient, d.ID); v.Status != DestinationFailing {
		t.Fatalf("status %q, want failing", v.Status)
	}

	// The client hears of it as of a webhook's dead letter.
	var rejected map[string]any
	for _, nid := range e.pump() {
		e.work(nid)
	}
	for _, h := range notify.got() {
		if ev := eventOf(t, h.body); ev["type"] == EventDeliveryRejected {
			rejected = ev
		}
	}
	data, _ := rejected["data"].(map[string]any)
	if data == nil || data["error_class"] != "auth" || data["destination"] != "s3" || data["endpoint_id"] != d.ID {
		t.Fatalf("delivery rejected event = %v", rejected)
	}

	// Fixed and replayed: written once, under the same webhook-id.
	fw.set(nil)
	n, err := e.svc.Replay(e.ctx, testClient, store.ReplayQuery{IDs: []int64{id}})
	if err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	if ids := e.jobs.take(); !slices.Contains(ids, id) {
		t.Fatalf("replay queued %v", ids)
	}
	e.work(id)
	if got := e.delivery(id); got.Status != store.DeliverySucceeded {
		t.Fatalf("after replay %+v", got)
	}
	if w := fw.written(); len(w) != 1 || w[0].WebhookID != got.WebhookID {
		t.Fatalf("written %+v", w)
	}
	if v, _ := e.svc.GetDestination(e.ctx, testClient, d.ID); v.Status != DestinationActive {
		t.Fatalf("status %q after a success", v.Status)
	}
}

func TestDestinationInvalidDocumentDiesAtOnce(t *testing.T) {
	e, fw := newDestEnv(t)
	e.addDestination(fakeS3)
	fw.set(&destination.Error{Class: destination.ClassInvalid, Kind: "s3", Op: "put object", Message: "EntityTooLarge"})
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]
	if _, again := e.work(id); again {
		t.Fatal("an invalid document is retried")
	}
	if got := e.delivery(id); got.Status != store.DeliveryDead || got.Attempts != 1 {
		t.Fatalf("delivery %+v", got)
	}
}

func TestDestinationPausedWaits(t *testing.T) {
	e, fw := newDestEnv(t)
	d := e.addDestination(fakeS3)
	applyDocs(t, e.st, 0, 2)
	ids := e.pump()
	if len(ids) != 2 {
		t.Fatalf("queued %v", ids)
	}
	p, err := e.svc.SetPaused(e.ctx, testClient, d.ID, true)
	if err != nil || p.Status != DestinationPaused {
		t.Fatalf("pause: %+v %v", p, err)
	}
	// A job queued before the pause ends without an attempt.
	if _, again := e.work(ids[0]); again {
		t.Fatal("a paused destination's job snoozes")
	}
	applyDocs(t, e.st, 2, 1)
	if q := e.pump(); len(q) != 0 {
		t.Fatalf("queued while paused: %v", q)
	}
	e.clock.Advance(24 * time.Hour)
	if err := e.svc.maintain(e.ctx); err != nil {
		t.Fatal(err)
	}
	if q := e.jobs.take(); len(q) != 0 {
		t.Fatalf("maintenance queued %v while paused", q)
	}
	if len(fw.written()) != 0 || len(e.attempts(ids[0])) != 0 {
		t.Fatal("attempted while paused")
	}
	// Resumed: every waiting delivery is queued and written.
	r, err := e.svc.SetPaused(e.ctx, testClient, d.ID, false)
	if err != nil || r.Status != DestinationActive {
		t.Fatalf("resume: %+v %v", r, err)
	}
	q := e.jobs.take()
	if len(q) != 3 {
		t.Fatalf("resume queued %v", q)
	}
	for _, id := range q {
		e.work(id)
	}
	if len(fw.written()) != 3 {
		t.Fatalf("written %d after resume", len(fw.written()))
	}
}

func TestDestinationTestAndDelete(t *testing.T) {
	e, fw := newDestEnv(t)
	d := e.addDestination(fakeS3)
	r, err := e.svc.TestDestination(e.ctx, testClient, d.ID)
	if err != nil || !r.Succeeded {
		t.Fatalf("test: %+v %v", r, err)
	}
	fw.mu.Lock()
	fw.testErr = &destination.Error{Class: destination.ClassNotFound, Kind: "s3", Op: "test", Message: "The specified bucket does not exist"}
	fw.mu.Unlock()
	r, err = e.svc.TestDestination(e.ctx, testClient, d.ID)
	if err != nil || r.Succeeded || r.ErrorClass != "not_found" || !strings.Contains(r.Error, "bucket does not exist") {
		t.Fatalf("test: %+v %v", r, err)
	}
	if err := e.svc.DeleteDestination(e.ctx, testClient, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetDestination(e.ctx, testClient, d.ID); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("after delete: %v", err)
	}
	if err := e.svc.DeleteDestination(e.ctx, testClient, d.ID); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
	if !errors.Is(e.svc.Close(), nil) {
		t.Fatal("close")
	}
}

func TestDestinationUpdateKeepsSecrets(t *testing.T) {
	e, _ := newDestEnv(t)
	d := e.addDestination(fakeS3)
	// A new bucket without repeating the secret: the secret stays.
	up, err := e.svc.UpdateDestination(e.ctx, testClient, d.ID, DestinationUpdate{
		Settings: json.RawMessage(`{"endpoint":"http://127.0.0.1:9","bucket":"lake-two","path_style":true,"access_key_id":"AKIDTEST"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(up.Description, "s3://lake-two/") || strings.Contains(string(up.Settings), "hush-hush") {
		t.Fatalf("updated %+v", up)
	}
	if ep := e.endpoint(d.ID); !strings.Contains(string(ep.Settings), `"secret_access_key":"hush-hush-1234"`) || !strings.Contains(string(ep.Settings), "lake-two") {
		t.Fatalf("stored settings %s", ep.Settings)
	}
	up, err = e.svc.UpdateDestination(e.ctx, testClient, d.ID, DestinationUpdate{DataStructures: &[]string{"sleep_summary"}})
	if err != nil || !slices.Equal(up.DataStructures, []string{"sleep_summary"}) {
		t.Fatalf("filter: %+v %v", up, err)
	}
	for _, u := range []DestinationUpdate{
		{},
		{Settings: json.RawMessage(`{"brokers":["127.0.0.1:9"],"topic":"t"}`)}, // another kind's
		{Settings: json.RawMessage(`{"endpoint":"http://127.0.0.1:9","bucket":"Bad_Bucket","access_key_id":"a"}`)},
		{DataStructures: &[]string{"naps"}},
	} {
		if _, err := e.svc.UpdateDestination(e.ctx, testClient, d.ID, u); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("update %+v: %v, want EINVALID", u, err)
		}
	}
	if _, err := e.svc.UpdateDestination(e.ctx, "client-2", d.ID, DestinationUpdate{DataStructures: &[]string{}}); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("another client's update: %v", err)
	}
}

func TestDestinationDisabledAfterFailingTooLong(t *testing.T) {
	fw := &fakeWriter{}
	e := newEnv(t, func(c *Config) {
		c.Schedule = []time.Duration{time.Hour, time.Hour, time.Hour}
		c.DisableAfter = 90 * time.Minute
		c.NewWriter = func(destination.Settings, destination.Options) (destination.Writer, error) { return fw, nil }
	})
	notify := newReceiver(t)
	e.addEndpoint(notify.URL, store.EndpointNotification)
	d := e.addDestination(fakeS3)
	fw.set(&destination.Error{Class: destination.ClassUnavailable, Kind: "s3", Op: "put object", Message: "503 SlowDown"})
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]
	// Failing since the first attempt; the third, two hours on, disables.
	for range 3 {
		wait, _ := e.work(id)
		e.clock.Advance(wait)
	}
	if v, _ := e.svc.GetDestination(e.ctx, testClient, d.ID); v.Status != DestinationDisabled {
		t.Fatalf("status %q, want disabled", v.Status)
	}
	var ev map[string]any
	for _, nid := range e.pump() {
		e.work(nid)
	}
	for _, h := range notify.got() {
		if m := eventOf(t, h.body); m["type"] == EventEndpointDisabled {
			ev = m
		}
	}
	if data, _ := ev["data"].(map[string]any); data == nil || data["kind"] != "s3" || !strings.Contains(ev["message"].(string), "Destination "+d.ID) {
		t.Fatalf("endpoint.disabled event = %v", ev)
	}
	// Resuming enables it again.
	if v, err := e.svc.SetPaused(e.ctx, testClient, d.ID, false); err != nil || v.Status != DestinationActive {
		t.Fatalf("resume: %+v %v", v, err)
	}
}

// A destination whose stored settings a later rule rejects is still
// listed with its settings redacted, and an update that fixes them keeps
// the stored secret.
func TestDestinationStoredBeforeARuleIsListedAndFixed(t *testing.T) {
	e, _ := newDestEnv(t)
	d := e.addDestination(fakeS3)
	stale := []byte(`{"endpoint":"http://127.0.0.1:9","bucket":"Bad_Bucket","path_style":true,"access_key_id":"AKIDTEST","secret_access_key":"hush-hush-1234"}`)
	if _, err := destination.ParseSettings(destination.KindS3, stale); health.ErrorCode(err) != health.EINVALID {
		t.Fatalf("the stale settings validate (%v): the test proves nothing", err)
	}
	if _, err := e.st.UpdateEndpoint(e.ctx, d.ID, store.EndpointUpdate{Settings: &stale}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetDestination(e.ctx, testClient, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got.Settings); !strings.Contains(s, "Bad_Bucket") || strings.Contains(s, "hush-hush") {
		t.Fatalf("listed settings %s", s)
	}
	up, err := e.svc.UpdateDestination(e.ctx, testClient, d.ID, DestinationUpdate{
		Settings: json.RawMessage(`{"endpoint":"http://127.0.0.1:9","bucket":"lake","path_style":true,"access_key_id":"AKIDTEST"}`)})
	if err != nil {
		t.Fatalf("fixing the settings: %v", err)
	}
	if ep := e.endpoint(d.ID); !strings.Contains(string(ep.Settings), `"secret_access_key":"hush-hush-1234"`) || !strings.Contains(up.Description, "s3://lake/") {
		t.Fatalf("stored settings %s, description %q", ep.Settings, up.Description)
	}
}
