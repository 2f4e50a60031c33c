package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// The store keeps destination settings as opaque JSON: these stand for
// what the destination package writes.
const (
	destSettings  = `{"bucket":"lake","access_key_id":"AKIAEXAMPLE","secret_access_key":"very-secret-key-1"}`
	destSettings2 = `{"bucket":"lake","access_key_id":"AKIAEXAMPLE","secret_access_key":"rotated-secret-key-2"}`
)

func mustDestination(t *testing.T, ds store.DeliveryStore, e store.WebhookEndpoint) store.WebhookEndpoint {
	t.Helper()
	e.Kind = store.EndpointData
	if e.Destination == "" {
		e.Destination = "s3"
	}
	if e.URL == "" {
		e.URL = e.Destination + "://lake/"
	}
	if e.Settings == nil {
		e.Settings = []byte(destSettings)
	}
	got, err := ds.CreateEndpoint(ctxT(t), e)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testDestinations(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	ep := mustEndpoint(t, ds, store.WebhookEndpoint{ClientUUID: "c1", URL: "https://a.example/hook", Enabled: true})
	d := mustDestination(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Enabled: true, DataStructures: []string{"sleep_summary"}})
	d2 := mustDestination(t, ds, store.WebhookEndpoint{ClientUUID: "c2", Destination: "kafka", Enabled: true})
	if !strings.HasPrefix(d.ID, "ds_") || !d.IsDestination() || d.Secret != "" || d.Paused || string(d.Settings) != destSettings {
		t.Fatalf("created %+v", d)
	}
	got, err := ds.GetEndpoint(ctx, d.ID)
	must(t, err)
	if got.Destination != "s3" || string(got.Settings) != destSettings || got.Secret != "" || got.URL != "s3://lake/" ||
		!slices.Equal(got.DataStructures, []string{"sleep_summary"}) || !got.Enabled || got.Paused {
		t.Fatalf("get = %+v", got)
	}

	// Webhooks and destinations are listed apart.
	eps, err := ds.ListEndpoints(ctx, "")
	must(t, err)
	if len(eps) != 1 || eps[0].ID != ep.ID {
		t.Fatalf("endpoints = %+v", eps)
	}
	dests, err := ds.ListDestinations(ctx, "c1")
	must(t, err)
	if len(dests) != 1 || dests[0].ID != d.ID || string(dests[0].Settings) != destSettings {
		t.Fatalf("destinations of c1 = %+v", dests)
	}
	dests, err = ds.ListDestinations(ctx, "")
	must(t, err)
	if len(dests) != 2 || dests[1].ID != d2.ID || dests[1].Destination != "kafka" {
		t.Fatalf("all destinations = %+v", dests)
	}

	// Settings are sealed at rest, and so bound to their row.
	checkSealed := func(id, clear string) {
		t.Helper()
		sec, set, err := s.SealedEndpointColumns(ctx, id)
		must(t, err)
		if len(sec) != 0 || len(set) == 0 {
			t.Fatalf("columns as stored: secret %x, settings %x", sec, set)
		}
		for _, word := range []string{clear, "AKIAEXAMPLE", "bucket"} {
			if bytes.Contains(set, []byte(word)) {
				t.Fatalf("the settings column holds %q in clear", word)
			}
		}
	}
	checkSealed(d.ID, "very-secret-key-1")

	// An update replaces the settings, sealed again; the rest stays.
	set := []byte(destSettings2)
	up, err := ds.UpdateEndpoint(ctx, d.ID, store.EndpointUpdate{Settings: &set})
	must(t, err)
	if string(up.Settings) != destSettings2 || up.Destination != "s3" || len(up.DataStructures) != 1 {
		t.Fatalf("updated = %+v", up)
	}
	got, _ = ds.GetEndpoint(ctx, d.ID)
	if string(got.Settings) != destSettings2 {
		t.Fatalf("after update = %+v", got)
	}
	checkSealed(d.ID, "rotated-secret-key-2")

	// Pause and resume.
	p, err := ds.SetEndpointPaused(ctx, d.ID, true)
	must(t, err)
	if !p.Paused {
		t.Fatalf("paused = %+v", p)
	}
	if got, _ := ds.GetEndpoint(ctx, d.ID); !got.Paused {
		t.Fatal("pause not stored")
	}
	p, err = ds.SetEndpointPaused(ctx, d.ID, false)
	must(t, err)
	if p.Paused {
		t.Fatalf("resumed = %+v", p)
	}

	must(t, ds.DeleteEndpoint(ctx, d.ID))
	_, err = ds.GetEndpoint(ctx, d.ID)
	wantCode(t, err, health.ENOTFOUND)
	dests, _ = ds.ListDestinations(ctx, "c1")
	if len(dests) != 0 {
		t.Fatalf("after delete: %+v", dests)
	}
}

func testDestinationErrors(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	_, err := ds.CreateEndpoint(ctx, store.WebhookEndpoint{ClientUUID: "nope", Kind: store.EndpointData, Destination: "s3", URL: "s3://x/", Settings: []byte(destSettings)})
	wantCode(t, err, health.ENOTFOUND)
	for i, e := range []store.WebhookEndpoint{
		{ClientUUID: "c1", Kind: store.EndpointData, Destination: "s3", URL: "s3://x/"},                                                    // no settings
		{ClientUUID: "c1", Kind: store.EndpointNotification, Destination: "s3", URL: "s3://x/", Settings: []byte(destSettings)},            // not data
		{ClientUUID: "c1", Kind: store.EndpointData, Destination: "s3", URL: "s3://x/", Settings: []byte(destSettings), Secret: "whsec_x"}, // a secret
		{ClientUUID: "c1", Kind: store.EndpointData, URL: "https://x/", Secret: "whsec_x", Settings: []byte(destSettings)},                 // a webhook with settings
		{ClientUUID: "c1", Kind: store.EndpointData, Destination: "s3", Settings: []byte(destSettings)},                                    // no description
	} {
		if _, err := ds.CreateEndpoint(ctx, e); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("case %d: %v, want EINVALID", i, err)
		}
	}
	_, err = ds.SetEndpointPaused(ctx, "ds_missing", true)
	wantCode(t, err, health.ENOTFOUND)
	d := mustDestination(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Enabled: true})
	empty := []byte{}
	_, err = ds.UpdateEndpoint(ctx, d.ID, store.EndpointUpdate{Settings: &empty})
	wantCode(t, err, health.EINVALID)
	if got, _ := ds.GetEndpoint(ctx, d.ID); string(got.Settings) != destSettings {
		t.Fatalf("a refused update changed the settings: %s", got.Settings)
	}
}

// testDestinationDeliveries: a destination gets its deliveries from the
// outbox as a webhook does, filter included; paused, they wait unqueued.
func testDestinationDeliveries(t *testing.T, s Store, ds store.DeliveryStore) {
	ctx := ctxT(t)
	f := newFanOutFixture(t, s, ds)
	d := mustDestination(t, ds, store.WebhookEndpoint{ClientUUID: "c1", Enabled: true, DataStructures: []string{"sleep_summary"}})
	apply(t, s, in("n1", sleepDoc("c1", "u1", "2024-01-01", 1)), in("d1", physDoc("c1", "u1", "2024-01-01", 100)))
	fanOut(t, ds, t0)
	got := deliveries(t, ds, store.DeliveryQuery{EndpointID: d.ID})
	if len(got) != 1 || got[0].EventType != "sleep_summary" || got[0].Status != store.DeliveryPending || got[0].Version != 1 {
		t.Fatalf("destination deliveries = %+v", got)
	}
	web := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID})
	if len(web) != 2 || web[0].WebhookID != got[0].WebhookID && web[1].WebhookID != got[0].WebhookID {
		t.Fatalf("webhook deliveries = %+v (the destination shares their message)", web)
	}

	// Paused: nothing of the destination is queued or found overdue.
	_, err := ds.SetEndpointPaused(ctx, d.ID, true)
	must(t, err)
	un, err := ds.UnenqueuedDeliveries(ctx, 0)
	must(t, err)
	if slices.Contains(un, got[0].ID) || len(un) != 3 {
		t.Fatalf("unenqueued while paused = %v (destination's %d)", un, got[0].ID)
	}
	od, err := ds.OverdueDeliveries(ctx, t0.Add(time.Hour), 0)
	must(t, err)
	if slices.Contains(od, got[0].ID) {
		t.Fatalf("overdue while paused = %v", od)
	}
	// New documents still become deliveries, which wait.
	apply(t, s, in("n2", sleepDoc("c1", "u1", "2024-01-02", 2)))
	fanOut(t, ds, t0.Add(time.Minute))
	got = deliveries(t, ds, store.DeliveryQuery{EndpointID: d.ID})
	if len(got) != 2 || got[1].Status != store.DeliveryPending {
		t.Fatalf("deliveries while paused = %+v", got)
	}
	// A job queued before the pause ran and stopped: resuming queues
	// every pending delivery again.
	must(t, ds.MarkEnqueued(ctx, []int64{got[0].ID}))
	_, err = ds.SetEndpointPaused(ctx, d.ID, false)
	must(t, err)
	un, err = ds.UnenqueuedDeliveries(ctx, 0)
	must(t, err)
	if !slices.Contains(un, got[0].ID) || !slices.Contains(un, got[1].ID) {
		t.Fatalf("unenqueued after resume = %v, want %d and %d", un, got[0].ID, got[1].ID)
	}
	od, _ = ds.OverdueDeliveries(ctx, t0.Add(time.Hour), 0)
	if !slices.Contains(od, got[0].ID) {
		t.Fatalf("overdue after resume = %v", od)
	}

	// Dead letters of a destination replay as a webhook's do.
	_, _, err = ds.RecordAttempt(ctx, store.AttemptRecord{DeliveryID: got[0].ID, Status: store.DeliveryDead, Failed: true,
		Attempt: store.DeliveryAttempt{AttemptedAt: t0, ErrorClass: "auth", Error: "s3 put object: InvalidAccessKeyId"}})
	must(t, err)
	if fs := mustGet(t, ds, d.ID).FailingSince; !fs.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("failing since %v", fs)
	}
	n, err := ds.ReplayDeliveries(ctx, store.ReplayQuery{IDs: []int64{got[0].ID}}, t0.Add(time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("replayed %d", n)
	}
	atts, err := ds.ListAttempts(ctx, got[0].ID)
	must(t, err)
	if len(atts) != 1 || atts[0].ErrorClass != "auth" {
		t.Fatalf("attempts = %+v", atts)
	}
	// Deleting the destination takes its deliveries, not the webhooks'.
	must(t, ds.DeleteEndpoint(ctx, d.ID))
	if left := deliveries(t, ds, store.DeliveryQuery{EndpointID: d.ID}); len(left) != 0 {
		t.Fatalf("deliveries of a deleted destination: %+v", left)
	}
	if web := deliveries(t, ds, store.DeliveryQuery{EndpointID: f.all.ID}); len(web) != 3 {
		t.Fatal(fmt.Sprintf("webhook deliveries after deleting the destination: %d", len(web)))
	}
}

func mustGet(t *testing.T, ds store.DeliveryStore, id string) store.WebhookEndpoint {
	t.Helper()
	e, err := ds.GetEndpoint(ctxT(t), id)
	must(t, err)
	return e
}
