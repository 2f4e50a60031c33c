package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

func TestDeliveriesListShowReplay(t *testing.T) {
	e := newWebhooksEnv(t)
	rcv := newHookReceiver(t, 200)
	id, _ := parseAdded(t, e.run(t, "webhooks", "add", "--client-uuid", cliClient, "--url", rcv.URL, "--allow-private-webhooks"))

	// Three documents fanned out; two die (as after their last retry).
	ds := e.o.Store
	var in []store.HealthInput
	for _, day := range []string{"2024-05-01", "2024-05-02", "2024-05-03"} {
		in = append(in, store.HealthInput{Key: day, Doc: &health.SleepSummaryDocument{Header: health.Header{ClientUUID: cliClient, UserID: cliUser, Day: day}}})
	}
	if _, err := e.o.Store.ApplyHealthDocuments(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	if _, err := ds.FanOut(t.Context(), 0, created); err != nil {
		t.Fatal(err)
	}
	all, err := ds.ListDeliveries(t.Context(), store.DeliveryQuery{})
	if err != nil || len(all) != 3 {
		t.Fatal(all, err)
	}
	for _, d := range all[:2] {
		if _, _, err := ds.RecordAttempt(t.Context(), store.AttemptRecord{DeliveryID: d.ID, Status: store.DeliveryDead, Failed: true,
			Attempt: store.DeliveryAttempt{AttemptedAt: created, StatusCode: 503, ErrorClass: store.ErrorHTTP, Error: "HTTP 503", Response: []byte("busy")}}); err != nil {
			t.Fatal(err)
		}
	}

	out := e.run(t, "deliveries", "list", "--status", "dead")
	if strings.Count(out, "\n") != 3 || !strings.Contains(out, all[0].WebhookID) || !strings.Contains(out, "HTTP 503") || strings.Contains(out, all[2].WebhookID) {
		t.Fatalf("dead letters:\n%s", out)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(e.run(t, "deliveries", "list", "--client-uuid", cliClient, "--json")), &listed); err != nil || len(listed) != 3 {
		t.Fatalf("json list: %v %v", listed, err)
	}
	if out := e.run(t, "deliveries", "list", "--since", "2025-02-04"); strings.Count(out, "\n") != 1 {
		t.Fatalf("nothing was created after the 4th:\n%s", out)
	}
	if _, _, err := runCLI(t, "deliveries", "list", "--since", "yesterday", "--data", e.dir); err == nil {
		t.Fatal("a bad --since passed")
	}

	show := e.run(t, "deliveries", "show", strconv.FormatInt(all[0].ID, 10))
	for _, want := range []string{all[0].WebhookID, "status dead after 1 attempts", "503", "http: HTTP 503", "busy", id} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}

	// One by id, then the rest of the client's dead letters.
	if out := e.run(t, "deliveries", "replay", strconv.FormatInt(all[0].ID, 10)); !strings.Contains(out, "replayed 1 deliveries") {
		t.Fatalf("replay by id: %s", out)
	}
	if out := e.run(t, "deliveries", "replay", "--client-uuid", cliClient, "--until", "2025-02-03"); !strings.Contains(out, "replayed 0 deliveries") {
		t.Fatalf("replay before creation: %s", out)
	}
	if out := e.run(t, "deliveries", "replay", "--client-uuid", cliClient); !strings.Contains(out, "replayed 1 deliveries") {
		t.Fatalf("replay of the client: %s", out)
	}
	for _, d := range all[:2] {
		got, err := ds.GetDelivery(t.Context(), d.ID)
		if err != nil || got.Status != store.DeliveryPending || got.WebhookID != d.WebhookID || got.Replays != 1 {
			t.Fatalf("after replay %+v %v", got, err)
		}
	}
	// No server runs: the replayed deliveries wait for its pump.
	if un, _ := ds.UnenqueuedDeliveries(t.Context(), 0); len(un) != 3 {
		t.Fatalf("unqueued %v", un)
	}
	for _, bad := range [][]string{{"deliveries", "replay"}, {"deliveries", "replay", "1", "--client-uuid", cliClient}, {"deliveries", "replay", "x"}} {
		if _, _, err := runCLI(t, append(bad, "--data", e.dir)...); err == nil {
			t.Fatalf("%v passed", bad)
		}
	}
}
