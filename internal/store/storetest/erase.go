package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// Conformance tests of store.EraseStore and store.SessionStore, run by
// RunAPI.

// userRows counts what a user has in every table erasing a user touches (sqlstore's erase steps).
func userRows(t *testing.T, s APIStore, client, user string) map[string]int {
	t.Helper()
	ctx := ctxT(t)
	n := map[string]int{}
	if _, err := s.GetUser(ctx, client, user); err == nil {
		n["users"] = 1
	}
	if c, err := s.FindConnection(ctx, client, user, "oura"); err == nil {
		n["connections"] = 1
		raw, err := s.CountRawDocuments(ctx, c.ID)
		must(t, err)
		for _, k := range raw {
			n["raw_documents"] += k
		}
	}
	n["health_documents"] = len(getHealth(t, s, store.HealthQuery{ClientUUID: client, UserID: user}))
	for _, d := range deliveries(t, s, store.DeliveryQuery{ClientUUID: client}) {
		if d.UserID == user {
			n["webhook_deliveries"]++
		}
	}
	return n
}

// seedErasable gives a user a connection, raw and health documents, an
// outbox, delivered and lifecycle messages and a pending link.
// fanOut outbox records are fanned out (0: all).
func seedErasable(t *testing.T, s APIStore, client, user string, days, fanOut int, c *clock) {
	t.Helper()
	ctx := ctxT(t)
	mustUser(t, s, client, user)
	conn := mustConn(t, s, client, user)
	var raws []store.RawDocument
	var docs []store.HealthInput
	for i := range days {
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
		raws = append(raws, rawDoc(conn.ID, "daily_sleep", user+"-"+day, day, fmt.Sprintf(`{"id":%q,"score":%d}`, user+day, 70+i)))
		docs = append(docs, in(day, sleepDoc(client, user, day, 20000+i)), in("p"+day, physDoc(client, user, day, 9000+i)))
	}
	_, err := s.PutRawDocuments(ctx, raws)
	must(t, err)
	apply(t, s, docs...)
	_, err = s.FanOut(ctx, fanOut, c.now())
	must(t, err)
	_, err = s.AddMessage(ctx, store.WebhookMessage{ClientUUID: client, UserID: user, Kind: store.MessageLifecycle,
		EventType: "user.created", Body: []byte(`{"user_id":"` + user + `"}`)}, nil, c.now())
	must(t, err)
	must(t, s.PutLinkState(ctx, newState("state-"+client+user, client, user, c.now().Add(time.Hour))))
}

func testErase(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	for _, cl := range []string{"c1", "c2"} {
		mustEndpoint(t, s, store.WebhookEndpoint{ClientUUID: cl, URL: "https://" + cl + "/", Enabled: true})
		// Lifecycle messages go to notification endpoints only: without
		// one, no lifecycle message would be written at all.
		mustEndpoint(t, s, store.WebhookEndpoint{ClientUUID: cl, Kind: store.EndpointNotification, URL: "https://" + cl + "/events", Enabled: true})
	}
	seedErasable(t, s, "c1", "u1", 12, 12, c)
	seedErasable(t, s, "c1", "u2", 5, 5, c) // same client, another user
	seedErasable(t, s, "c2", "u1", 5, 5, c) // same user_id, another client
	keep1, keep2 := userRows(t, s, "c1", "u2"), userRows(t, s, "c2", "u1")
	before := userRows(t, s, "c1", "u1")
	if before["raw_documents"] != 12 || before["health_documents"] != 24 || before["webhook_deliveries"] == 0 {
		t.Fatalf("seed: %v", before)
	}

	hash := store.ErasureUserHash("c1", "u1")
	e, err := s.StartErasure(ctx, store.Erasure{ID: "era_1", ClientUUID: "c1", UserID: "u1", UserHash: hash, RequestedBy: "api"})
	must(t, err)
	if e.State != store.ErasureRunning || e.Step == "" || e.RequestedAt.IsZero() {
		t.Fatalf("started %+v", e)
	}
	// Starting again while it runs gives the same erasure.
	again, err := s.StartErasure(ctx, store.Erasure{ID: "era_2", ClientUUID: "c1", UserID: "u1", UserHash: hash, RequestedBy: "cli"})
	must(t, err)
	if again.ID != "era_1" {
		t.Fatalf("second start = %s", again.ID)
	}
	// Tenant isolation: another client sees nothing of it.
	_, err = s.GetErasure(ctx, "c2", "era_1")
	wantCode(t, err, health.ENOTFOUND)
	if run, err := s.RunningErasures(ctx); err != nil || len(run) != 1 {
		t.Fatalf("running = %v, %v", run, err)
	}

	batches := 0
	for e.Step != "" {
		prev := e
		e, err = s.EraseBatch(ctx, "era_1", 3)
		must(t, err)
		batches++
		var sum, psum int64
		for _, n := range e.Counts {
			sum += n
		}
		for _, n := range prev.Counts {
			psum += n
		}
		if sum-psum > 3 {
			t.Fatalf("a batch deleted %d rows", sum-psum)
		}
		if batches > 1000 {
			t.Fatal("the erasure does not end")
		}
	}
	// Idempotent: more batches change nothing.
	e2, err := s.EraseBatch(ctx, "era_1", 3)
	must(t, err)
	if fmt.Sprint(e2.Counts) != fmt.Sprint(e.Counts) {
		t.Fatalf("counts moved: %v then %v", e.Counts, e2.Counts)
	}
	if e.Counts["raw_documents"] != 12 || e.Counts["health_documents"] != 24 || e.Counts["users"] != 1 || e.Counts["connections"] != 1 ||
		e.Counts["link_states"] != 1 || e.Counts["webhook_messages"] == 0 || e.Counts["webhook_deliveries"] == 0 || e.Counts["outbox"] == 0 {
		t.Fatalf("counts %v", e.Counts)
	}
	if after := userRows(t, s, "c1", "u1"); len(after) != 1 || after["health_documents"] != 0 {
		t.Fatalf("left after erasure: %v", after)
	}
	_, err = s.GetUser(ctx, "c1", "u1")
	wantCode(t, err, health.ENOTFOUND)
	for _, r := range allOutbox(t, s) {
		if r.ClientUUID == "c1" && r.UserID == "u1" {
			t.Fatalf("outbox record left: %+v", r)
		}
	}
	if got := userRows(t, s, "c1", "u2"); fmt.Sprint(got) != fmt.Sprint(keep1) {
		t.Fatalf("other user of the client: %v, was %v", got, keep1)
	}
	if got := userRows(t, s, "c2", "u1"); fmt.Sprint(got) != fmt.Sprint(keep2) {
		t.Fatalf("same user id at another client: %v, was %v", got, keep2)
	}

	// The user.deleted notice survives a rerun of the last steps (checked
	// below, by erasing the user again).
	notice, err := s.AddMessage(ctx, store.WebhookMessage{ClientUUID: "c1", UserID: "u1", Kind: store.MessageLifecycle,
		EventType: store.EventUserDeleted, Body: []byte(`{}`)}, nil, c.now())
	must(t, err)
	if len(notice) != 1 {
		t.Fatalf("user.deleted notice delivered to %d endpoints, want 1", len(notice))
	}
	c.add(time.Minute)
	done, err := s.CompleteErasure(ctx, "era_1")
	must(t, err)
	if done.State != store.ErasureCompleted || done.UserID != "" || !done.CompletedAt.Equal(c.now()) || !bytes.Equal(done.UserHash, hash) {
		t.Fatalf("completed %+v", done)
	}
	latest, err := s.LatestErasure(ctx, "c1", hash)
	must(t, err)
	if latest.ID != "era_1" || latest.RequestedBy != "api" || latest.Counts["raw_documents"] != 12 {
		t.Fatalf("latest %+v", latest)
	}
	_, err = s.LatestErasure(ctx, "c2", hash)
	wantCode(t, err, health.ENOTFOUND)
	if run, err := s.RunningErasures(ctx); err != nil || len(run) != 0 {
		t.Fatalf("running after completion = %v, %v", run, err)
	}
	// A completed erasure does not block a new one for a new user of the
	// same id.
	mustUser(t, s, "c1", "u1")
	next, err := s.StartErasure(ctx, store.Erasure{ID: "era_3", ClientUUID: "c1", UserID: "u1", UserHash: hash, RequestedBy: "api"})
	must(t, err)
	if next.ID != "era_3" {
		t.Fatalf("new erasure = %s", next.ID)
	}
	for i := 0; next.Step != ""; i++ {
		if i > 1000 {
			t.Fatal("the second erasure does not end")
		}
		next, err = s.EraseBatch(ctx, "era_3", 3)
		must(t, err)
	}
	if left := deliveries(t, s, store.DeliveryQuery{ClientUUID: "c1"}); !slices.ContainsFunc(left, func(d store.Delivery) bool {
		return d.ID == notice[0]
	}) {
		t.Fatalf("the user.deleted notice did not survive the steps run again: %+v", left)
	}
	if after := userRows(t, s, "c1", "u1"); after["webhook_deliveries"] != 1 || after["users"] != 0 {
		t.Fatalf("left after the second erasure: %v", after)
	}

	_, err = s.StartErasure(ctx, store.Erasure{ID: "era_4", ClientUUID: "nope", UserID: "u1", UserHash: hash, RequestedBy: "api"})
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.StartErasure(ctx, store.Erasure{ID: "era_5", ClientUUID: "c1", UserID: "bad user", RequestedBy: "api"})
	wantCode(t, err, health.EINVALID)
}

func testRetention(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	// c1's deliveries end at once (a disabled endpoint makes them dead
	// letters); c2's stay pending.
	for _, cl := range []string{"c1", "c2"} {
		mustEndpoint(t, s, store.WebhookEndpoint{ClientUUID: cl, URL: "https://" + cl + "/", Enabled: cl == "c2"})
		seedErasable(t, s, cl, "old", 4, 0, c)
	}
	cut := c.now().Add(time.Hour)
	c.add(2 * time.Hour)
	seedErasable(t, s, "c1", "new", 2, 0, c)

	total := 0
	for {
		n, err := s.PurgeRetention(ctx, store.RetainRaw, "c1", cut, 3)
		must(t, err)
		if n > 3 {
			t.Fatalf("batch of %d", n)
		}
		total += n
		if n < 3 {
			break
		}
	}
	if total != 4 {
		t.Fatalf("raw purged %d, want 4", total)
	}
	for user, want := range map[string]int{"old": 0, "new": 2} {
		if got := userRows(t, s, "c1", user)["raw_documents"]; got != want {
			t.Fatalf("c1/%s raw documents %d, want %d", user, got, want)
		}
	}
	if got := userRows(t, s, "c2", "old")["raw_documents"]; got != 4 {
		t.Fatalf("another client's raw documents were purged: %d left", got)
	}
	// Finished deliveries lose their bodies; pending ones keep them.
	n, err := s.PurgeRetention(ctx, store.RetainDeliveryBodies, "c1", cut, 1000)
	must(t, err)
	left := deliveries(t, s, store.DeliveryQuery{ClientUUID: "c1"})
	if n == 0 || len(left) == 0 {
		t.Fatalf("messages purged %d, %d deliveries left", n, len(left))
	}
	for _, d := range left {
		if d.CreatedAt.Before(cut) {
			t.Fatalf("delivery older than the cutoff left: %+v", d)
		}
	}
	pending := len(deliveries(t, s, store.DeliveryQuery{ClientUUID: "c2", Status: store.DeliveryPending}))
	n, err = s.PurgeRetention(ctx, store.RetainDeliveryBodies, "c2", cut, 1000)
	must(t, err)
	if got := len(deliveries(t, s, store.DeliveryQuery{ClientUUID: "c2", Status: store.DeliveryPending})); n != 0 || got != pending || pending == 0 {
		t.Fatalf("pending deliveries purged: %d messages, %d of %d pending left", n, got, pending)
	}
	_, err = s.PurgeRetention(ctx, "users", "c1", cut, 10)
	wantCode(t, err, health.EINVALID)
}

func testSessions(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	mk := func(id, client string, ttl time.Duration) store.DashboardSession {
		ds := store.DashboardSession{ID: stateID(id), ClientUUID: client, SecretFingerprint: []byte("fp"), CSRF: "csrf-token-of-session-" + id,
			ExpiresAt: c.now().Add(ttl)}
		must(t, s.CreateSession(ctx, ds))
		return ds
	}
	a := mk("a", "c1", time.Hour)
	mk("b", "c1", time.Hour)
	mk("c", "c2", time.Hour)
	mk("short", "c2", time.Minute)
	got, err := s.GetSession(ctx, a.ID, c.now())
	must(t, err)
	if got.ClientUUID != "c1" || got.CSRF != a.CSRF || string(got.SecretFingerprint) != "fp" || !got.ExpiresAt.Equal(a.ExpiresAt.Truncate(time.Microsecond)) {
		t.Fatalf("session %+v", got)
	}
	must(t, s.DeleteSession(ctx, a.ID))
	_, err = s.GetSession(ctx, a.ID, c.now())
	wantCode(t, err, health.ENOTFOUND)
	if n, err := s.DeleteClientSessions(ctx, "c1"); err != nil || n != 1 {
		t.Fatalf("client sessions deleted %d, %v", n, err)
	}
	_, err = s.GetSession(ctx, stateID("b"), c.now())
	wantCode(t, err, health.ENOTFOUND)
	c.add(2 * time.Minute)
	_, err = s.GetSession(ctx, stateID("short"), c.now())
	wantCode(t, err, health.ENOTFOUND)
	if n, err := s.PurgeSessions(ctx, c.now()); err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if _, err := s.GetSession(ctx, stateID("c"), c.now()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateSession(ctx, store.DashboardSession{ID: []byte("short"), ClientUUID: "c1"}), health.EINVALID)
	wantCode(t, s.CreateSession(ctx, store.DashboardSession{ID: stateID("x"), ClientUUID: "nope", CSRF: "csrf-token-of-x-long", SecretFingerprint: []byte("fp"),
		ExpiresAt: c.now().Add(time.Hour)}), health.ENOTFOUND)
}
