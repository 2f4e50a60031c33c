package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// RunDelivery runs the conformance tests of store.DeliveryStore against
// stores made by newStore, which must also implement it. The tests run in
// parallel, each on its own store.
func RunDelivery(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store, store.DeliveryStore)
	}{
		{"Endpoints", testEndpoints},
		{"EndpointErrors", testEndpointErrors},
		{"EndpointRotate", testEndpointRotate},
		{"FanOut", testFanOut},
		{"FanOutSuperseded", testFanOutSuperseded},
		{"FanOutConcurrent", testFanOutConcurrent},
		{"AddMessage", testAddMessage},
		{"Enqueued", testEnqueued},
		{"RecordAttempt", testRecordAttempt},
		{"RecordAttemptsBatch", testRecordAttempts},
		{"RecordAttemptsInOrder", testRecordAttemptsInOrder},
		{"DisableKillsPending", testDisableKillsPending},
		{"Replay", testReplay},
		{"ListDeliveries", testListDeliveries},
		{"Prune", testPrune},
		{"DeleteCascades", testDeliveryCascades},
		{"Destinations", testDestinations},
		{"DestinationErrors", testDestinationErrors},
		{"DestinationDeliveries", testDestinationDeliveries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tc.fn(t, s, s)
		})
	}
}

// t0 is the delivery clock the tests pass in.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891234000, time.UTC)

func mustEndpoint(t *testing.T, ds store.DeliveryStore, e store.WebhookEndpoint) store.WebhookEndpoint {
	t.Helper()
	if e.Kind == "" {
		e.Kind = store.EndpointData
	}
	if e.Secret == "" {
		e.Secret = "whsec_" + e.URL
	}
	got, err := ds.CreateEndpoint(ctxT(t), e)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func deliveries(t *testing.T, ds store.DeliveryStore, q store.DeliveryQuery) []store.Delivery {
	t.Helper()
	q.Limit = 100000
	out, err := ds.ListDeliveries(ctxT(t), q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fanOut(t *testing.T, ds store.DeliveryStore, now time.Time) store.FanOutResult {
	t.Helper()
	r, err := ds.FanOut(ctxT(t), 0, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func physDoc(client, user, day string, steps int) *health.PhysicalSummaryDocument {
	d := &health.PhysicalSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
	d.Summary.Metadata.Datetime = ptr(day + "T00:00:00.000000Z")
	d.Summary.Metadata.SourcesOfData = []string{"Oura"}
	d.Summary.Distance.Steps = ptr(steps)
	return d
}

func testEndpoints(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	a := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://a.example/hook", Secret: "whsec_a", Enabled: true,
		DataStructures: []string{"sleep_summary", "physical_summary", "sleep_summary"}})
	if !strings.HasPrefix(a.ID, "ep_") || a.CreatedAt.IsZero() || !a.Enabled || a.Secret != "whsec_a" {
		t.Fatalf("created %+v", a)
	}
	if !slices.Equal(a.DataStructures, []string{"physical_summary", "sleep_summary"}) {
		t.Fatalf("filter stored as %v", a.DataStructures)
	}
	if !a.Accepts("sleep_summary") || a.Accepts("body_summary") {
		t.Fatal("filter does not filter")
	}
	b := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Kind: store.EndpointNotification, URL: "https://a.example/notify", Enabled: true})
	c := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c2", URL: "https://c.example/", Enabled: false, DisabledReason: "new"})
	if b.ID == a.ID || c.Enabled {
		t.Fatalf("b %+v c %+v", b, c)
	}
	got, err := ds.GetEndpoint(ctx, a.ID)
	must(t, err)
	if got.URL != a.URL || got.Secret != a.Secret || got.ClientUUID != "c1" || !slices.Equal(got.DataStructures, a.DataStructures) ||
		!got.CreatedAt.Equal(a.CreatedAt) || got.Kind != store.EndpointData || !got.FailingSince.IsZero() {
		t.Fatalf("get = %+v, want %+v", got, a)
	}
	list, err := ds.ListEndpoints(ctx, "c1")
	must(t, err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list c1 = %+v", list)
	}
	list, err = ds.ListEndpoints(ctx, "")
	must(t, err)
	if len(list) != 3 || list[2].ID != c.ID {
		t.Fatalf("list all = %+v", list)
	}

	url := "https://a.example/v2"
	up, err := ds.UpdateEndpoint(ctx, a.ID, store.EndpointUpdate{URL: &url, DataStructures: &[]string{}})
	must(t, err)
	if up.URL != url || len(up.DataStructures) != 0 || up.Secret != "whsec_a" {
		t.Fatalf("updated = %+v", up)
	}
	got, _ = ds.GetEndpoint(ctx, a.ID)
	if got.URL != url || len(got.DataStructures) != 0 || !got.Accepts("anything") {
		t.Fatalf("after update = %+v", got)
	}

	dis, err := ds.SetEndpointEnabled(ctx, a.ID, false, "gone", t0)
	must(t, err)
	if dis.Enabled || dis.DisabledReason != "gone" {
		t.Fatalf("disabled = %+v", dis)
	}
	en, err := ds.SetEndpointEnabled(ctx, a.ID, true, "ignored", t0)
	must(t, err)
	if !en.Enabled || en.DisabledReason != "" {
		t.Fatalf("enabled = %+v", en)
	}

	must(t, ds.DeleteEndpoint(ctx, b.ID))
	_, err = ds.GetEndpoint(ctx, b.ID)
	wantCode(t, err, health.ENOTFOUND)
	wantCode(t, ds.DeleteEndpoint(ctx, b.ID), health.ENOTFOUND)
}

func testEndpointErrors(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	_, err := ds.CreateEndpoint(ctx, store.WebhookEndpoint{ClientUUID: "nope", Kind: store.EndpointData, URL: "https://x/", Secret: "whsec_x"})
	wantCode(t, err, health.ENOTFOUND)
	for _, e := range []store.WebhookEndpoint{
		{ClientUUID: "c1", Kind: "other", URL: "https://x/", Secret: "whsec_x"},
		{ClientUUID: "c1", Kind: store.EndpointData, Secret: "whsec_x"},
		{ClientUUID: "c1", Kind: store.EndpointData, URL: "https://x/"},
		{Kind: store.EndpointData, URL: "https://x/", Secret: "whsec_x"},
		{ClientUUID: "c1", Kind: store.EndpointData, URL: "https://x/", Secret: "whsec_x", DataStructures: []string{"a,b"}},
	} {
		_, err := ds.CreateEndpoint(ctx, e)
		wantCode(t, err, health.EINVALID)
	}
	_, err = ds.GetEndpoint(ctx, "ep_missing")
	wantCode(t, err, health.ENOTFOUND)
	url := "https://x/"
	_, err = ds.UpdateEndpoint(ctx, "ep_missing", store.EndpointUpdate{URL: &url})
	wantCode(t, err, health.ENOTFOUND)
	_, err = ds.RotateEndpointSecret(ctx, "ep_missing", "whsec_new", t0)
	wantCode(t, err, health.ENOTFOUND)
	_, err = ds.SetEndpointEnabled(ctx, "ep_missing", false, "", t0)
	wantCode(t, err, health.ENOTFOUND)
	e := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://x/", Enabled: true})
	empty := ""
	_, err = ds.UpdateEndpoint(ctx, e.ID, store.EndpointUpdate{URL: &empty})
	wantCode(t, err, health.EINVALID)
	_, err = ds.RotateEndpointSecret(ctx, e.ID, "", t0)
	wantCode(t, err, health.EINVALID)
	_, err = ds.GetDelivery(ctx, 12345)
	wantCode(t, err, health.ENOTFOUND)
	_, _, err = ds.GetDeliveryToSend(ctx, 12345)
	wantCode(t, err, health.ENOTFOUND)
}

func testEndpointRotate(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	e := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://x/", Secret: "whsec_one", Enabled: true})
	until := t0.Add(24 * time.Hour)
	r, err := ds.RotateEndpointSecret(ctx, e.ID, "whsec_two", until)
	must(t, err)
	if r.Secret != "whsec_two" || r.PreviousSecret != "whsec_one" || !r.PreviousExpiresAt.Equal(until.Truncate(time.Microsecond)) {
		t.Fatalf("rotated = %+v", r)
	}
	got, err := ds.GetEndpoint(ctx, e.ID)
	must(t, err)
	if got.Secret != "whsec_two" || got.PreviousSecret != "whsec_one" || !got.PreviousExpiresAt.Equal(r.PreviousExpiresAt) {
		t.Fatalf("read back = %+v", got)
	}
	r, err = ds.RotateEndpointSecret(ctx, e.ID, "whsec_three", until)
	must(t, err)
	if got, _ := ds.GetEndpoint(ctx, e.ID); got.Secret != "whsec_three" || got.PreviousSecret != "whsec_two" {
		t.Fatalf("second rotation = %+v", got)
	}
}

// fanOutFixture: client c1 with an endpoint taking everything, one taking
// physical_summary only, a disabled one and a notification endpoint;
// client c2 with no endpoint.
type fanOutFixture struct {
	all, phys, off, notify store.WebhookEndpoint
}

func newFanOutFixture(t *testing.T, s store.Store, ds store.DeliveryStore) fanOutFixture {
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	mustUser(t, s, "c1", "u1")
	mustUser(t, s, "c2", "u1")
	return fanOutFixture{
		all:    mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://all/", Enabled: true}),
		phys:   mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://phys/", Enabled: true, DataStructures: []string{"physical_summary"}}),
		off:    mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://off/", Enabled: false}),
		notify: mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Kind: store.EndpointNotification, URL: "https://notify/", Enabled: true}),
	}
}

func testFanOut(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	apply(t, s, in("n1", sleepDoc("c1", "u1", "2024-01-01", 1)), in("d1", physDoc("c1", "u1", "2024-01-01", 100)),
		in("n1", sleepDoc("c2", "u1", "2024-01-01", 1)))
	r := fanOut(t, ds, t0)
	if r != (store.FanOutResult{Records: 3, Messages: 2, Deliveries: 5}) {
		t.Fatalf("fan out = %+v", r)
	}
	if left := allOutbox(t, s); len(left) != 0 {
		t.Fatalf("outbox left: %+v", left)
	}
	if r := fanOut(t, ds, t0); r != (store.FanOutResult{}) {
		t.Fatalf("second fan out = %+v", r)
	}

	stored := map[string]store.HealthDocument{}
	for _, d := range getHealth(t, s, store.HealthQuery{ClientUUID: "c1"}) {
		stored[d.DataStructure] = d
	}
	all := deliveries(t, ds, store.DeliveryQuery{})
	type key struct{ endpoint, ds, status string }
	got := map[key]store.Delivery{}
	for _, d := range all {
		got[key{d.EndpointID, d.EventType, d.Status}] = d
	}
	want := []key{
		{f.all.ID, "sleep_summary", store.DeliveryPending},
		{f.all.ID, "physical_summary", store.DeliveryPending},
		{f.phys.ID, "physical_summary", store.DeliveryPending},
		{f.off.ID, "sleep_summary", store.DeliveryDead},
		{f.off.ID, "physical_summary", store.DeliveryDead},
	}
	if len(all) != len(want) {
		t.Fatalf("deliveries = %+v", all)
	}
	for _, k := range want {
		d, ok := got[k]
		if !ok {
			t.Fatalf("no delivery %+v in %+v", k, all)
		}
		if d.ClientUUID != "c1" || d.UserID != "u1" || d.Kind != store.MessageData || d.Day != "2024-01-01" || d.Version != 1 ||
			!strings.HasPrefix(d.WebhookID, "msg_") || d.Attempts != 0 || !d.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
			t.Fatalf("delivery %+v", d)
		}
		if d.Status == store.DeliveryPending && (!d.NextAttemptAt.Equal(d.CreatedAt) || !d.FinishedAt.IsZero()) {
			t.Fatalf("pending delivery %+v", d)
		}
		if d.Status == store.DeliveryDead && (d.FinishedAt.IsZero() || d.LastError == "") {
			t.Fatalf("dead delivery %+v", d)
		}
		full, err := ds.GetDelivery(ctx, d.ID)
		must(t, err)
		if !bytes.Equal(full.Body, stored[d.EventType].Body) {
			t.Fatalf("body of %s:\n%s\nstored:\n%s", d.EventType, full.Body, stored[d.EventType].Body)
		}
		if full.Pillar != stored[d.EventType].Pillar {
			t.Fatalf("pillar %q", full.Pillar)
		}
		// GetDeliveryToSend reads the same delivery with its endpoint.
		toSend, ep, err := ds.GetDeliveryToSend(ctx, d.ID)
		must(t, err)
		wantEp, err := ds.GetEndpoint(ctx, d.EndpointID)
		must(t, err)
		if !reflect.DeepEqual(toSend, full) || !reflect.DeepEqual(ep, wantEp) {
			t.Fatalf("to send:\n%+v\n%+v\nwant:\n%+v\n%+v", toSend, ep, full, wantEp)
		}
	}
	// One message per document: both endpoints of the physical summary
	// share its webhook id.
	if got[want[1]].WebhookID != got[want[2]].WebhookID || got[want[1]].MessageID != got[want[2]].MessageID ||
		got[want[0]].WebhookID == got[want[1]].WebhookID {
		t.Fatal("webhook ids are not per message")
	}
}

func testFanOutSuperseded(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	apply(t, s, in("n1", sleepDoc("c1", "u1", "2024-01-01", 1)))
	apply(t, s, in("n1", sleepDoc("c1", "u1", "2024-01-01", 2)))
	r := fanOut(t, ds, t0)
	if r != (store.FanOutResult{Records: 2, Superseded: 1, Messages: 1, Deliveries: 2}) {
		t.Fatalf("fan out = %+v", r)
	}
	all := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	if len(all) != 1 || all[0].Version != 2 {
		t.Fatalf("deliveries = %+v", all)
	}
	full, err := ds.GetDelivery(ctx, all[0].ID)
	must(t, err)
	if bodyVersion(t, full.Body) != 2 {
		t.Fatalf("body %s", full.Body)
	}
}

func testFanOutConcurrent(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	const docs = 300
	var batch []store.HealthInput
	for i := range docs {
		batch = append(batch, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
	}
	apply(t, s, batch...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Go(func() {
			for {
				r, err := ds.FanOut(ctx, 25, t0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += r.Records
				mu.Unlock()
				if r.Records == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if total != docs {
		t.Fatalf("consumed %d records, want %d", total, docs)
	}
	all := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	ids := map[string]bool{}
	for _, d := range all {
		ids[d.WebhookID] = true
	}
	if len(all) != docs || len(ids) != docs {
		t.Fatalf("%d deliveries with %d webhook ids, want %d", len(all), len(ids), docs)
	}
}

func testAddMessage(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	notify2 := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Kind: store.EndpointNotification, URL: "https://notify2/", Enabled: false})
	m := store.WebhookMessage{ClientUUID: "c1", UserID: "u1", Kind: store.MessageLifecycle, EventType: "user.created", Body: []byte(`{"type":"user.created"}`)}
	ids, err := ds.AddMessage(ctx, m, nil, t0)
	must(t, err)
	if len(ids) != 2 {
		t.Fatalf("ids = %v", ids)
	}
	d0, err := ds.GetDelivery(ctx, ids[0])
	must(t, err)
	d1, err := ds.GetDelivery(ctx, ids[1])
	must(t, err)
	if d0.EndpointID > d1.EndpointID {
		d0, d1 = d1, d0
	}
	byEndpoint := map[string]store.Delivery{d0.EndpointID: d0, d1.EndpointID: d1}
	on, off := byEndpoint[f.notify.ID], byEndpoint[notify2.ID]
	if on.Status != store.DeliveryPending || off.Status != store.DeliveryDead || string(on.Body) != `{"type":"user.created"}` ||
		on.Kind != store.MessageLifecycle || on.EventType != "user.created" || on.WebhookID == "" || on.WebhookID != off.WebhookID {
		t.Fatalf("deliveries %+v %+v", on, off)
	}
	un, err := ds.UnenqueuedDeliveries(ctx, 0)
	must(t, err)
	if !slices.Equal(un, []int64{on.ID}) {
		t.Fatalf("unenqueued = %v", un)
	}

	// A client without notification endpoints stores nothing.
	ids, err = ds.AddMessage(ctx, store.WebhookMessage{ClientUUID: "c2", Kind: store.MessageLifecycle, EventType: "user.created", Body: []byte(`{}`)}, nil, t0)
	if err != nil || ids != nil {
		t.Fatalf("c2: %v %v", ids, err)
	}
	// A test message goes to the endpoint named, even a disabled one, and
	// is left to the caller to send.
	ids, err = ds.AddMessage(ctx, store.WebhookMessage{ClientUUID: "c1", Kind: store.MessageTest, EventType: "webhook.test",
		WebhookID: "msg_given", Body: []byte(`{}`)}, []string{f.off.ID}, t0)
	must(t, err)
	d, err := ds.GetDelivery(ctx, ids[0])
	must(t, err)
	if len(ids) != 1 || d.Status != store.DeliveryPending || d.WebhookID != "msg_given" || d.EndpointID != f.off.ID {
		t.Fatalf("test delivery %+v", d)
	}
	un, _ = ds.UnenqueuedDeliveries(ctx, 0)
	if slices.Contains(un, d.ID) {
		t.Fatal("a test delivery was left for the queue")
	}
	_, err = ds.AddMessage(ctx, store.WebhookMessage{ClientUUID: "c2", Kind: store.MessageTest, EventType: "webhook.test", Body: []byte(`{}`)}, []string{f.off.ID}, t0)
	wantCode(t, err, health.ENOTFOUND)
	_, err = ds.AddMessage(ctx, store.WebhookMessage{ClientUUID: "c1", Body: []byte(`{}`)}, nil, t0)
	wantCode(t, err, health.EINVALID)
}

func testEnqueued(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	newFanOutFixture(t, s, ds)
	for i := range 5 {
		apply(t, s, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
		fanOut(t, ds, t0.Add(time.Duration(i)*time.Minute))
	}
	un, err := ds.UnenqueuedDeliveries(ctx, 3)
	must(t, err)
	if len(un) != 3 || !slices.IsSorted(un) {
		t.Fatalf("unenqueued = %v", un)
	}
	must(t, ds.MarkEnqueued(ctx, un))
	must(t, ds.MarkEnqueued(ctx, nil))
	rest, err := ds.UnenqueuedDeliveries(ctx, 0)
	must(t, err)
	if len(rest) != 2 || slices.Contains(un, rest[0]) {
		t.Fatalf("after marking: %v", rest)
	}
	// Overdue: pending and due before the given time, enqueued or not.
	od, err := ds.OverdueDeliveries(ctx, t0.Add(90*time.Second), 0)
	must(t, err)
	if len(od) != 2 {
		t.Fatalf("overdue = %v", od)
	}
}

func testRecordAttempt(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 1)), in("k2", sleepDoc("c1", "u1", "2024-01-02", 1)))
	fanOut(t, ds, t0)
	ds1 := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	d, d2 := ds1[0], ds1[1]

	big := bytes.Repeat([]byte("x"), 10000)
	at := t0.Add(time.Second)
	next := at.Add(5 * time.Second)
	got, failing, err := ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d.ID, ExpectAttempts: 0, Status: store.DeliveryPending, NextAttemptAt: next, Failed: true,
		Attempt: store.DeliveryAttempt{AttemptedAt: at, StatusCode: 500, Duration: 1500 * time.Microsecond, ErrorClass: store.ErrorHTTP, Error: "HTTP 500", Response: big}})
	must(t, err)
	if got.Status != store.DeliveryPending || got.Attempts != 1 || got.RoundAttempts != 1 || !got.NextAttemptAt.Equal(next.Truncate(time.Microsecond)) ||
		got.LastStatusCode != 500 || got.LastError != "HTTP 500" || !got.LastAttemptAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("after failure %+v", got)
	}
	if !failing.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("failing since %v", failing)
	}
	// The same attempt again is a conflict, not a second record.
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d.ID, ExpectAttempts: 0, Status: store.DeliveryPending, NextAttemptAt: next,
		Attempt: store.DeliveryAttempt{AttemptedAt: at}})
	wantCode(t, err, health.ECONFLICT)
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: 999999, Status: store.DeliveryPending, Attempt: store.DeliveryAttempt{AttemptedAt: at}})
	wantCode(t, err, health.ENOTFOUND)

	// A failure of another delivery keeps the first failure time.
	at2 := at.Add(time.Hour)
	_, failing, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d2.ID, Status: store.DeliveryPending, NextAttemptAt: at2.Add(time.Minute), Failed: true,
		Attempt: store.DeliveryAttempt{AttemptedAt: at2, ErrorClass: store.ErrorTimeout, Error: "timeout"}})
	must(t, err)
	if !failing.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("failing since moved to %v", failing)
	}
	if e, _ := ds.GetEndpoint(ctx, f.all.ID); !e.FailingSince.Equal(failing) {
		t.Fatalf("endpoint failing since %v", e.FailingSince)
	}

	at3 := at2.Add(time.Minute)
	got, failing, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d.ID, ExpectAttempts: 1, Status: store.DeliverySucceeded,
		Attempt: store.DeliveryAttempt{AttemptedAt: at3, StatusCode: 204, Duration: time.Millisecond}})
	must(t, err)
	if got.Status != store.DeliverySucceeded || got.Attempts != 2 || !got.FinishedAt.Equal(at3.Truncate(time.Microsecond)) || got.LastError != "" ||
		!got.NextAttemptAt.IsZero() || !failing.IsZero() {
		t.Fatalf("after success %+v, failing %v", got, failing)
	}
	if e, _ := ds.GetEndpoint(ctx, f.all.ID); !e.FailingSince.IsZero() {
		t.Fatal("success did not clear failing since")
	}
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d.ID, ExpectAttempts: 2, Status: store.DeliveryPending, Attempt: store.DeliveryAttempt{AttemptedAt: at3}})
	wantCode(t, err, health.ECONFLICT)

	atts, err := ds.ListAttempts(ctx, d.ID)
	must(t, err)
	if len(atts) != 2 || atts[0].Attempt != 1 || atts[1].Attempt != 2 {
		t.Fatalf("attempts %+v", atts)
	}
	a := atts[0]
	if a.StatusCode != 500 || a.Duration != 1500*time.Microsecond || a.ErrorClass != store.ErrorHTTP || a.Error != "HTTP 500" ||
		len(a.Response) != store.MaxResponseKept || !a.AttemptedAt.Equal(at.Truncate(time.Microsecond)) || a.DeliveryID != d.ID {
		t.Fatalf("attempt 1 = %+v (response %d bytes)", a, len(a.Response))
	}
	if atts[1].StatusCode != 204 || atts[1].ErrorClass != "" {
		t.Fatalf("attempt 2 = %+v", atts[1])
	}

	got, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d2.ID, ExpectAttempts: 1, Status: store.DeliveryDead, Failed: true,
		Attempt: store.DeliveryAttempt{AttemptedAt: at3, StatusCode: 410, ErrorClass: store.ErrorHTTP, Error: "HTTP 410"}})
	must(t, err)
	if got.Status != store.DeliveryDead || got.FinishedAt.IsZero() || got.LastStatusCode != 410 {
		t.Fatalf("dead %+v", got)
	}
	ok, err := ds.KillDelivery(ctx, d2.ID, "again", at3)
	if err != nil || ok {
		t.Fatalf("killing a dead delivery: %v %v", ok, err)
	}
}

// sleepDeliveries stores n sleep documents, fans them out and
// returns their deliveries to the fixture's all endpoint.
func sleepDeliveries(t *testing.T, s Store, ds store.DeliveryStore, n int) (fanOutFixture, []store.Delivery) {
	f := newFanOutFixture(t, s, ds)
	for i := range n {
		apply(t, s, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
	}
	fanOut(t, ds, t0)
	return f, deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
}

// testRecordAttemptsInOrder: a batch has the effect of its records
// applied one by one, in order, on the deliveries and on the endpoint's
// failing since.
func testRecordAttemptsInOrder(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f, list := sleepDeliveries(t, s, ds, 4)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second).Truncate(time.Microsecond) }
	fail := func(id int64, expect, i int) store.AttemptRecord {
		return store.AttemptRecord{DeliveryID: id, ExpectAttempts: expect, Status: store.DeliveryPending, NextAttemptAt: at(i).Add(time.Minute), Failed: true,
			Attempt: store.DeliveryAttempt{AttemptedAt: at(i), StatusCode: 503, ErrorClass: store.ErrorHTTP, Error: "HTTP 503"}}
	}
	ok := func(id int64, expect, i int) store.AttemptRecord {
		return store.AttemptRecord{DeliveryID: id, ExpectAttempts: expect, Status: store.DeliverySucceeded,
			Attempt: store.DeliveryAttempt{AttemptedAt: at(i), StatusCode: 204}}
	}
	res, err := ds.RecordAttempts(ctx, []store.AttemptRecord{
		fail(list[0].ID, 0, 1),
		fail(list[0].ID, 0, 1), // the same attempt twice (a job that ran twice)
		ok(list[1].ID, 0, 2),
		fail(list[2].ID, 0, 3),
		fail(list[0].ID, 1, 4), // the next attempt of the first delivery
		ok(list[3].ID, 0, 5),
	})
	must(t, err)
	wantCode(t, res[1].Err, health.ECONFLICT)
	for _, i := range []int{0, 2, 3, 4, 5} {
		must(t, res[i].Err)
	}
	if !res[0].FailingSince.Equal(at(1)) || !res[3].FailingSince.Equal(at(3)) || !res[4].FailingSince.Equal(at(3)) {
		t.Fatalf("failing since %v %v %v", res[0].FailingSince, res[3].FailingSince, res[4].FailingSince)
	}
	if res[4].Delivery.Attempts != 2 || res[2].Delivery.Status != store.DeliverySucceeded || res[5].Delivery.WebhookID == "" {
		t.Fatalf("deliveries %+v", res)
	}
	if e, _ := ds.GetEndpoint(ctx, f.all.ID); !e.FailingSince.IsZero() {
		t.Fatalf("the batch ended with a success, failing since %v", e.FailingSince)
	}
	atts, err := ds.ListAttempts(ctx, list[0].ID)
	must(t, err)
	if len(atts) != 2 || atts[0].Attempt != 1 || atts[1].Attempt != 2 || !atts[1].AttemptedAt.Equal(at(4)) {
		t.Fatalf("attempts %+v", atts)
	}

	// A batch that ends with failures after a success starts failing at
	// the first of them.
	res, err = ds.RecordAttempts(ctx, []store.AttemptRecord{fail(list[0].ID, 2, 6), fail(list[2].ID, 1, 7)})
	must(t, err)
	if !res[0].FailingSince.Equal(at(6)) || !res[1].FailingSince.Equal(at(6)) {
		t.Fatalf("failing since %v %v", res[0].FailingSince, res[1].FailingSince)
	}
	if e, _ := ds.GetEndpoint(ctx, f.all.ID); !e.FailingSince.Equal(at(6)) {
		t.Fatalf("endpoint failing since %v", e.FailingSince)
	}
}

func testRecordAttempts(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	_, list := sleepDeliveries(t, s, ds, 3)
	rec := func(id int64, expect int, status string) store.AttemptRecord {
		return store.AttemptRecord{DeliveryID: id, ExpectAttempts: expect, Status: status, NextAttemptAt: t0.Add(time.Minute), Failed: status != store.DeliverySucceeded,
			Attempt: store.DeliveryAttempt{AttemptedAt: t0, StatusCode: 500}}
	}
	res, err := ds.RecordAttempts(ctx, []store.AttemptRecord{
		rec(list[0].ID, 0, store.DeliveryPending),
		rec(list[1].ID, 7, store.DeliveryPending), // a stale count: conflict
		rec(999999, 0, store.DeliveryPending),     // no such delivery
		rec(list[2].ID, 0, store.DeliveryDead),
	})
	must(t, err)
	if len(res) != 4 || res[0].Err != nil || res[3].Err != nil {
		t.Fatalf("results %+v", res)
	}
	wantCode(t, res[1].Err, health.ECONFLICT)
	wantCode(t, res[2].Err, health.ENOTFOUND)
	if res[0].Delivery.Attempts != 1 || res[0].Delivery.Status != store.DeliveryPending || res[3].Delivery.Status != store.DeliveryDead ||
		!res[3].FailingSince.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("applied %+v", res)
	}
	if d, _ := ds.GetDelivery(ctx, list[1].ID); d.Attempts != 0 {
		t.Fatalf("the conflicting record was applied: %+v", d)
	}
	if res, err := ds.RecordAttempts(ctx, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch: %v %v", res, err)
	}
}

func testDisableKillsPending(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 1)), in("k2", sleepDoc("c1", "u1", "2024-01-02", 1)))
	fanOut(t, ds, t0)
	list := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	_, _, err := ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: list[0].ID, Status: store.DeliverySucceeded, Attempt: store.DeliveryAttempt{AttemptedAt: t0, StatusCode: 200}})
	must(t, err)
	_, err = ds.SetEndpointEnabled(ctx, f.all.ID, false, "HTTP 410", t0.Add(time.Minute))
	must(t, err)
	list = deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	if list[0].Status != store.DeliverySucceeded || list[1].Status != store.DeliveryDead || !strings.Contains(list[1].LastError, "HTTP 410") ||
		!list[1].FinishedAt.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("after disable: %+v", list)
	}
	// KillDelivery kills a pending one once.
	apply(t, s, in("d", physDoc("c1", "u1", "2024-01-01", 5)))
	fanOut(t, ds, t0)
	p := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.phys.ID})
	ok, err := ds.KillDelivery(ctx, p[0].ID, "endpoint disabled", t0)
	if err != nil || !ok {
		t.Fatalf("kill: %v %v", ok, err)
	}
	if d, _ := ds.GetDelivery(ctx, p[0].ID); d.Status != store.DeliveryDead || d.LastError != "endpoint disabled" {
		t.Fatalf("killed %+v", d)
	}
}

func testReplay(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	// Three documents on three days of creation, all dead at endpoint all.
	for i := range 3 {
		apply(t, s, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
		fanOut(t, ds, t0.Add(time.Duration(i)*24*time.Hour))
	}
	list := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	for _, d := range list {
		_, _, err := ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: d.ID, Status: store.DeliveryDead, Failed: true,
			Attempt: store.DeliveryAttempt{AttemptedAt: d.CreatedAt, StatusCode: 500}})
		must(t, err)
	}
	must(t, ds.MarkEnqueued(ctx, []int64{list[0].ID, list[1].ID, list[2].ID}))

	_, err := ds.ReplayDeliveries(ctx, store.ReplayQuery{}, t0)
	wantCode(t, err, health.EINVALID)

	// The middle day only, by creation time.
	now := t0.Add(5 * 24 * time.Hour)
	n, err := ds.ReplayDeliveries(ctx, store.ReplayQuery{ClientUUID: "c1", CreatedFrom: t0.Add(24 * time.Hour), CreatedTo: t0.Add(48 * time.Hour)}, now)
	must(t, err)
	if n != 1 {
		t.Fatalf("replayed %d, want 1", n)
	}
	d, err := ds.GetDelivery(ctx, list[1].ID)
	must(t, err)
	if d.Status != store.DeliveryPending || d.RoundAttempts != 0 || d.Attempts != 1 || d.Replays != 1 || d.WebhookID != list[1].WebhookID ||
		!d.NextAttemptAt.Equal(now.Truncate(time.Microsecond)) || !d.FinishedAt.IsZero() {
		t.Fatalf("replayed %+v", d)
	}
	un, _ := ds.UnenqueuedDeliveries(ctx, 0)
	if !slices.Contains(un, d.ID) {
		t.Fatal("a replayed delivery is not left for the queue")
	}
	// All dead letters of the client: the disabled endpoint's stay dead.
	n, err = ds.ReplayDeliveries(ctx, store.ReplayQuery{ClientUUID: "c1"}, now)
	must(t, err)
	if n != 2 {
		t.Fatalf("replayed %d, want 2", n)
	}
	for _, d := range deliveries(t, ds, store.DeliveryQuery{EndpointID: f.off.ID}) {
		if d.Status != store.DeliveryDead {
			t.Fatalf("disabled endpoint's delivery replayed: %+v", d)
		}
	}
	// By id: a succeeded delivery too; a pending one is left alone.
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: list[0].ID, ExpectAttempts: 1, Status: store.DeliverySucceeded,
		Attempt: store.DeliveryAttempt{AttemptedAt: now, StatusCode: 200}})
	must(t, err)
	n, err = ds.ReplayDeliveries(ctx, store.ReplayQuery{IDs: []int64{list[0].ID, list[1].ID}}, now)
	must(t, err)
	if n != 1 {
		t.Fatalf("replayed %d by id, want 1", n)
	}
	if d, _ := ds.GetDelivery(ctx, list[0].ID); d.Status != store.DeliveryPending || d.Replays != 2 {
		t.Fatalf("replayed by id: %+v", d)
	}
}

func testListDeliveries(t *testing.T, s Store, ds store.DeliveryStore) {
	f := newFanOutFixture(t, s, ds)
	for i := range 4 {
		apply(t, s, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
		fanOut(t, ds, t0.Add(time.Duration(i)*time.Hour))
	}
	all := deliveries(t, ds, store.DeliveryQuery{ClientUUID: "c1"})
	if len(all) != 8 {
		t.Fatalf("%d deliveries", len(all))
	}
	if got := deliveries(t, ds, store.DeliveryQuery{ClientUUID: "c2"}); len(got) != 0 {
		t.Fatalf("c2: %+v", got)
	}
	dead := deliveries(t, ds, store.DeliveryQuery{Status: store.DeliveryDead})
	if len(dead) != 4 || dead[0].EndpointID != f.off.ID {
		t.Fatalf("dead: %+v", dead)
	}
	r := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID, CreatedFrom: t0.Add(time.Hour), CreatedTo: t0.Add(3 * time.Hour)})
	if len(r) != 2 {
		t.Fatalf("range: %+v", r)
	}
	page, err := ds.ListDeliveries(ctxT(t), store.DeliveryQuery{Limit: 3})
	must(t, err)
	page2, err := ds.ListDeliveries(ctxT(t), store.DeliveryQuery{Limit: 3, AfterID: page[2].ID})
	must(t, err)
	if len(page) != 3 || len(page2) != 3 || page2[0].ID <= page[2].ID {
		t.Fatalf("pages %+v %+v", page, page2)
	}
}

func testPrune(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	_, list := sleepDeliveries(t, s, ds, 3)
	// 0 succeeded long ago, 1 dead recently, 2 pending.
	_, _, err := ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: list[0].ID, Status: store.DeliverySucceeded, Attempt: store.DeliveryAttempt{AttemptedAt: t0, StatusCode: 200}})
	must(t, err)
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: list[1].ID, Status: store.DeliveryDead, Attempt: store.DeliveryAttempt{AttemptedAt: t0.Add(48 * time.Hour), StatusCode: 500}})
	must(t, err)
	// Dead at endpoint off (finished at t0) go, the recent dead letter
	// and the pending delivery stay.
	n, err := ds.PruneDeliveries(ctx, t0.Add(24*time.Hour), t0.Add(time.Hour))
	must(t, err)
	if n != 4 {
		t.Fatalf("pruned %d, want 4", n)
	}
	left := deliveries(t, ds, store.DeliveryQuery{})
	if len(left) != 2 || left[0].ID != list[1].ID || left[1].ID != list[2].ID {
		t.Fatalf("left %+v", left)
	}
	if atts, _ := ds.ListAttempts(ctx, list[0].ID); len(atts) != 0 {
		t.Fatalf("attempts of a pruned delivery: %+v", atts)
	}
	if d, err := ds.GetDelivery(ctx, list[1].ID); err != nil || len(d.Body) == 0 {
		t.Fatalf("kept delivery: %+v %v", d, err)
	}
	n, err = ds.PruneDeliveries(ctx, t0.Add(24*time.Hour), t0.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second prune %d %v", n, err)
	}
}

func testDeliveryCascades(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 1)))
	fanOut(t, ds, t0)
	if n := len(deliveries(t, ds, store.DeliveryQuery{})); n != 2 {
		t.Fatalf("%d deliveries", n)
	}
	must(t, ds.DeleteEndpoint(ctx, f.off.ID))
	if n := len(deliveries(t, ds, store.DeliveryQuery{})); n != 1 {
		t.Fatalf("%d deliveries after deleting an endpoint", n)
	}
	must(t, s.DeleteClient(ctx, "c1"))
	if n := len(deliveries(t, ds, store.DeliveryQuery{})); n != 0 {
		t.Fatalf("%d deliveries after deleting the client", n)
	}
	if e, _ := ds.ListEndpoints(ctx, ""); len(e) != 0 {
		t.Fatalf("endpoints left: %+v", e)
	}
}
