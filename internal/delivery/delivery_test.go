package delivery

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// ROOK's published X-ROOK-HASH example: message "ROOK", key
// "ROOK_Secret_Key".
func TestRookHashVector(t *testing.T) {
	const want = "382da6381717a0fdfeba9ef922041df3ea8db97bbd2d20af21e216bdd1e6096b"
	if got := RookHash("ROOK_Secret_Key", "RO", "O", "K"); got != want {
		t.Fatalf("RookHash = %s, want %s", got, want)
	}
	if got := RookHash("ROOK_Secret_Key", "ROOK", "", ""); got != want {
		t.Fatalf("RookHash = %s, want %s", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if !strings.HasPrefix(a, "whsec_") || a == b || len(signingKey(a)) != 32 {
		t.Fatalf("secrets %q %q", a, b)
	}
}

// A delivered document: one POST whose body is the stored document's
// bytes, signed so that the Standard Webhooks reference library verifies
// it, with X-ROOK-HASH recomputable from the body and the headers.
func TestDeliverySignedAndByteIdentical(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Now = nil; c.UserAgent = "wearlink/test" }) // the real clock: Verify checks the age
	rcv := newReceiver(t)
	ep := e.addEndpoint(rcv.URL+"/hook", "")
	applyDocs(t, e.st, 0, 1)
	ids := e.pump()
	if len(ids) != 1 {
		t.Fatalf("queued %v", ids)
	}
	if _, again := e.work(ids[0]); again {
		t.Fatal("delivered document still pending")
	}
	hits := rcv.got()
	if len(hits) != 1 {
		t.Fatalf("%d requests", len(hits))
	}
	h := hits[0]
	if err := verify(t, ep.Secret, h, true); err != nil {
		t.Fatalf("reference library: %v\n%v", err, h.header)
	}
	docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: testClient, UserID: testUser})
	if err != nil || len(docs) != 1 {
		t.Fatal(docs, err)
	}
	if !bytes.Equal(h.body, docs[0].Body) {
		t.Fatalf("body\n%s\nstored\n%s", h.body, docs[0].Body)
	}
	d := e.delivery(ids[0])
	if h.header.Get("webhook-id") != d.WebhookID || !strings.HasPrefix(d.WebhookID, "msg_") {
		t.Fatalf("webhook-id %q, delivery %q", h.header.Get("webhook-id"), d.WebhookID)
	}
	ts := h.header.Get("webhook-timestamp")
	if want := RookHash(ep.Secret, testClient, testUser, ts); h.header.Get("X-ROOK-HASH") != want {
		t.Fatalf("X-ROOK-HASH %q, want %q", h.header.Get("X-ROOK-HASH"), want)
	}
	if h.header.Get("Content-Type") != "application/json" || h.header.Get("User-Agent") != "wearlink/test" {
		t.Fatalf("headers %v", h.header)
	}
	if d.Status != store.DeliverySucceeded || d.Attempts != 1 {
		t.Fatalf("delivery %+v", d)
	}
	if a := e.attempts(d.ID); len(a) != 1 || a[0].StatusCode != 200 || a[0].Duration <= 0 || a[0].ErrorClass != "" {
		t.Fatalf("attempts %+v", a)
	}
}

// A receiver answering 500, 500, 200 gets the document on the third
// attempt, 5 s and 5 min apart, under one webhook-id; nothing is sent
// before an attempt is due.
func TestRetriesFollowSchedule(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 500}, reply{status: 500}, reply{status: 200})
	e.addEndpoint(rcv.URL, "")
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]

	wait, again := e.work(id)
	if !again || wait != 5*time.Second {
		t.Fatalf("after attempt 1: wait %v again %v", wait, again)
	}
	e.clock.Advance(2 * time.Second)
	if wait, again = e.work(id); !again || wait != 3*time.Second || len(rcv.got()) != 1 {
		t.Fatalf("early run: wait %v, %d requests", wait, len(rcv.got()))
	}
	e.clock.Advance(3 * time.Second)
	if wait, again = e.work(id); !again || wait != 5*time.Minute {
		t.Fatalf("after attempt 2: wait %v again %v", wait, again)
	}
	e.clock.Advance(5 * time.Minute)
	if _, again = e.work(id); again {
		t.Fatal("still pending after a 200")
	}
	d := e.delivery(id)
	hits := rcv.got()
	if d.Status != store.DeliverySucceeded || d.Attempts != 3 || len(hits) != 3 {
		t.Fatalf("delivery %+v, %d requests", d, len(hits))
	}
	for _, h := range hits {
		if h.header.Get("webhook-id") != d.WebhookID || !bytes.Equal(h.body, hits[0].body) {
			t.Fatal("a retry changed the webhook-id or the body")
		}
	}
	var codes []int
	for _, a := range e.attempts(id) {
		codes = append(codes, a.StatusCode)
	}
	if !slices.Equal(codes, []int{500, 500, 200}) {
		t.Fatalf("attempts %v", codes)
	}
	// The timestamps follow the clock: attempt 3 is signed 5m5s after 1.
	t1, _ := strconv.ParseInt(hits[0].header.Get("webhook-timestamp"), 10, 64)
	t3, _ := strconv.ParseInt(hits[2].header.Get("webhook-timestamp"), 10, 64)
	if t3-t1 != 305 {
		t.Fatalf("timestamps %d, %d", t1, t3)
	}
}

// An exhausted delivery becomes a dead letter after len(schedule)+1
// attempts with jittered waits, the client hears of it on its
// notification endpoint, and a replay delivers it with the same
// webhook-id.
func TestDeadLetterThenReplay(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Jitter = 0.2 })
	rcv := newReceiver(t, reply{status: 500, body: "down"})
	notify := newReceiver(t)
	ep := e.addEndpoint(rcv.URL, "")
	nep := e.addEndpoint(notify.URL, store.EndpointNotification)
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]

	for i, base := range DefaultSchedule {
		wait, again := e.work(id)
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		if !again || wait < lo || wait > hi {
			t.Fatalf("wait after attempt %d: %v, want %v..%v", i+1, wait, lo, hi)
		}
		e.clock.Advance(wait)
	}
	if _, again := e.work(id); again {
		t.Fatal("pending after the last attempt")
	}
	d := e.delivery(id)
	if d.Status != store.DeliveryDead || d.Attempts != len(DefaultSchedule)+1 || d.LastStatusCode != 500 {
		t.Fatalf("dead letter %+v", d)
	}
	if n := len(rcv.got()); n != 10 {
		t.Fatalf("%d requests, want 10", n)
	}

	// The rejection went to the notification endpoint.
	queued := e.jobs.take()
	if len(queued) != 1 {
		t.Fatalf("queued %v", queued)
	}
	e.work(queued[0])
	nh := notify.got()
	if len(nh) != 1 {
		t.Fatalf("%d notifications", len(nh))
	}
	if err := verify(t, nep.Secret, nh[0], false); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, ep.Secret, nh[0], false); err == nil {
		t.Fatal("a notification verified with the data endpoint's secret")
	}
	ev := eventOf(t, nh[0].body)
	data, _ := ev["data"].(map[string]any)
	if ev["type"] != EventDeliveryRejected || ev["client_uuid"] != testClient || ev["user_id"] != testUser ||
		data["webhook_id"] != d.WebhookID || data["data_structure"] != "sleep_summary" || data["attempts"] != float64(10) {
		t.Fatalf("event %s", nh[0].body)
	}

	// Replay: the receiver is back.
	rcv.setScript(reply{status: 204})
	n, err := e.svc.Replay(e.ctx, "", store.ReplayQuery{ClientUUID: testClient})
	if err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	replayed := e.jobs.take()
	if !slices.Equal(replayed, []int64{id}) {
		t.Fatalf("queued after replay: %v", replayed)
	}
	if _, again := e.work(id); again {
		t.Fatal("replay not delivered")
	}
	hits := rcv.got()
	if len(hits) != 1 || hits[0].header.Get("webhook-id") != d.WebhookID {
		t.Fatalf("replayed request %+v", hits)
	}
	if err := verify(t, ep.Secret, hits[0], false); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(id); d.Status != store.DeliverySucceeded || d.Attempts != 11 || d.Replays != 1 {
		t.Fatalf("after replay %+v", d)
	}
}

// Retry-After pushes the next attempt out, up to MaxRetryAfter; a shorter
// one does not bring it forward.
func TestRetryAfter(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxRetryAfter = time.Hour })
	date := func(d time.Duration) string { return e.clock.Now().Add(d).UTC().Format(http.TimeFormat) }
	for i, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"120", 120 * time.Second},
		{"2", 5 * time.Second},
		{"999999", time.Hour},
		{date(10 * time.Minute), 10 * time.Minute},
		{"soon", 5 * time.Second},
	} {
		rcv := newReceiver(t, reply{status: 503, header: map[string]string{"Retry-After": tc.header}})
		ep := e.addEndpoint(rcv.URL, "")
		applyDocs(t, e.st, i, 1)
		id := e.pump()[0]
		if wait, again := e.work(id); !again || wait != tc.want {
			t.Errorf("Retry-After %q: wait %v, want %v", tc.header, wait, tc.want)
		}
		if _, err := e.svc.SetEnabled(e.ctx, "", ep.ID, false); err != nil {
			t.Fatal(err)
		}
	}
}

// A timeout is a failed attempt of class timeout, retried.
func TestTimeoutRetries(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	rcv := newReceiver(t, reply{status: 200, delay: 5 * time.Second}, reply{status: 200})
	e.addEndpoint(rcv.URL, "")
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]
	if wait, again := e.work(id); !again || wait != 5*time.Second {
		t.Fatalf("after timeout: %v %v", wait, again)
	}
	a := e.attempts(id)
	if len(a) != 1 || a[0].ErrorClass != store.ErrorTimeout || a[0].StatusCode != 0 {
		t.Fatalf("attempt %+v", a)
	}
	e.clock.Advance(5 * time.Second)
	if _, again := e.work(id); again || e.delivery(id).Status != store.DeliverySucceeded {
		t.Fatal("not delivered after the timeout")
	}
}

// 410 disables the endpoint at once: its other pending deliveries become
// dead letters and the client is told.
func TestGoneDisablesEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 410})
	notify := newReceiver(t)
	ep := e.addEndpoint(rcv.URL, "")
	e.addEndpoint(notify.URL, store.EndpointNotification)
	applyDocs(t, e.st, 0, 3)
	ids := e.pump()
	if _, again := e.work(ids[0]); again {
		t.Fatal("pending after 410")
	}
	got := e.endpoint(ep.ID)
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("endpoint %+v", got)
	}
	for _, id := range ids {
		if d := e.delivery(id); d.Status != store.DeliveryDead {
			t.Fatalf("delivery %d is %s", id, d.Status)
		}
	}
	// Their jobs end without posting.
	e.work(ids[1])
	if n := len(rcv.got()); n != 1 {
		t.Fatalf("%d requests to a disabled endpoint", n)
	}
	types := notifications(t, e, notify)
	if !slices.Contains(types, EventEndpointDisabled) || !slices.Contains(types, EventDeliveryRejected) {
		t.Fatalf("notifications %v", types)
	}
}

// notifications works every queued job and returns the event types the
// notification receiver got.
func notifications(t *testing.T, e *env, notify *receiver) []string {
	t.Helper()
	for _, id := range e.jobs.take() {
		e.work(id)
	}
	var types []string
	for _, h := range notify.got() {
		types = append(types, eventOf(t, h.body)["type"].(string))
	}
	return types
}

// An endpoint whose attempts have all failed for 5 days is disabled and
// the client told; a success in between resets the count.
func TestFailingFiveDaysDisables(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 500})
	notify := newReceiver(t)
	ep := e.addEndpoint(rcv.URL, "")
	e.addEndpoint(notify.URL, store.EndpointNotification)
	start := e.clock.Now()

	fail := func(first int) {
		t.Helper()
		applyDocs(t, e.st, first, 1)
		id := e.pump()[0]
		if _, again := e.work(id); !again {
			t.Fatal("a first failure killed the delivery")
		}
	}
	fail(0)
	if got := e.endpoint(ep.ID); !got.FailingSince.Equal(start) || !got.Enabled {
		t.Fatalf("after a failure %+v", got)
	}
	e.clock.Advance(4 * 24 * time.Hour)
	fail(1)
	if !e.endpoint(ep.ID).Enabled {
		t.Fatal("disabled after 4 days")
	}
	e.clock.Advance(24*time.Hour + time.Second)
	applyDocs(t, e.st, 2, 1)
	id := e.pump()[0]
	e.work(id)
	got := e.endpoint(ep.ID)
	if got.Enabled || !strings.Contains(got.DisabledReason, "failed since") {
		t.Fatalf("after 5 days %+v", got)
	}
	var disabled map[string]any
	types := notifications(t, e, notify)
	for _, h := range notify.got() {
		if ev := eventOf(t, h.body); ev["type"] == EventEndpointDisabled {
			disabled = ev
		}
	}
	if disabled == nil {
		t.Fatalf("no endpoint.disabled among %v", types)
	}
	data := disabled["data"].(map[string]any)
	if data["endpoint_id"] != ep.ID || data["failing_since"] != start.Format(time.RFC3339Nano) {
		t.Fatalf("event %v", disabled)
	}

	// Enabled again; a success clears the failure time.
	if _, err := e.svc.SetEnabled(e.ctx, "", ep.ID, true); err != nil {
		t.Fatal(err)
	}
	rcv.setScript(reply{status: 200})
	applyDocs(t, e.st, 3, 1)
	e.work(e.pump()[0])
	if got := e.endpoint(ep.ID); !got.Enabled || !got.FailingSince.IsZero() {
		t.Fatalf("after a success %+v", got)
	}
}

// After a rotation both secrets sign until the grace period ends; then
// only the new one.
func TestRotationGrace(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RotationGrace = time.Hour })
	rcv := newReceiver(t)
	old := e.addEndpoint(rcv.URL, "")
	rot, err := e.svc.RotateSecret(e.ctx, testClient, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Secret == old.Secret || rot.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotated %+v", rot)
	}
	applyDocs(t, e.st, 0, 1)
	e.work(e.pump()[0])
	h := rcv.got()[0]
	if sigs := strings.Fields(h.header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("signatures %q", sigs)
	}
	for _, s := range []string{old.Secret, rot.Secret} {
		if err := verify(t, s, h, false); err != nil {
			t.Fatalf("during grace: %v", err)
		}
	}
	if h.header.Get("X-ROOK-HASH") != RookHash(rot.Secret, testClient, testUser, h.header.Get("webhook-timestamp")) {
		t.Fatal("X-ROOK-HASH is not under the new secret")
	}

	e.clock.Advance(time.Hour)
	applyDocs(t, e.st, 1, 1)
	e.work(e.pump()[0])
	h = rcv.got()[1]
	if sigs := strings.Fields(h.header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("signatures after grace %q", sigs)
	}
	if err := verify(t, rot.Secret, h, false); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, old.Secret, h, false); err == nil {
		t.Fatal("the old secret still verifies after the grace period")
	}
	if v, _ := e.svc.GetEndpoint(e.ctx, testClient, old.ID); v.PreviousSecretExpiresAt != nil {
		t.Fatalf("grace shown after it ended: %+v", v)
	}
}

// A document superseded before it was fanned out is delivered once, at
// its newest version.
func TestSupersededVersionDeliveredOnce(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t)
	e.addEndpoint(rcv.URL, "")
	for _, n := range []int{1, 2, 3} {
		_, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: "night", Doc: sleepDoc(testClient, testUser, "2024-01-01", n)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := e.pump()
	if len(ids) != 1 {
		t.Fatalf("queued %v", ids)
	}
	e.work(ids[0])
	if !bytes.Contains(rcv.got()[0].body, []byte(`"document_version":3`)) {
		t.Fatalf("body %s", rcv.got()[0].body)
	}
}

// The data_structure filter and disabled endpoints.
func TestEndpointFilter(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t)
	if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: rcv.URL, DataStructures: []string{"physical_summary"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: rcv.URL, DataStructures: []string{"sleep_sumary"}}); health.ErrorCode(err) != health.EINVALID {
		t.Fatalf("misspelled structure: %v", err)
	}
	if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: rcv.URL, Kind: store.EndpointNotification,
		DataStructures: []string{"sleep_summary"}}); health.ErrorCode(err) != health.EINVALID {
		t.Fatalf("filter on a notification endpoint: %v", err)
	}
	applyDocs(t, e.st, 0, 2)
	if ids := e.pump(); len(ids) != 0 {
		t.Fatalf("sleep summaries queued for a physical_summary endpoint: %v", ids)
	}
}

// Each attempt keeps the first 4 KiB of the response; a redirect is not
// followed and counts as a failure.
func TestAttemptRecordAndNoRedirect(t *testing.T) {
	e := newEnv(t, nil)
	target := newReceiver(t)
	rcv := newReceiver(t,
		reply{status: 500, body: strings.Repeat("x", 10000)},
		reply{status: 302, header: map[string]string{"Location": target.URL}})
	e.addEndpoint(rcv.URL, "")
	applyDocs(t, e.st, 0, 1)
	id := e.pump()[0]
	e.work(id)
	e.clock.Advance(time.Hour)
	e.work(id)
	a := e.attempts(id)
	if len(a) != 2 || len(a[0].Response) != store.MaxResponseKept || a[0].ErrorClass != store.ErrorHTTP || a[0].Error != "HTTP 500" {
		t.Fatalf("attempt 1 %+v", a)
	}
	if a[1].StatusCode != 302 || a[1].ErrorClass != store.ErrorHTTP {
		t.Fatalf("attempt 2 %+v", a[1])
	}
	if n := len(target.got()); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
	if d := e.delivery(id); d.Status != store.DeliveryPending {
		t.Fatalf("after a redirect: %s", d.Status)
	}
}

// Lifecycle events reach the notification endpoint, signed, with their
// documented shape; data endpoints do not get them.
func TestLifecycleEvents(t *testing.T) {
	e := newEnv(t, nil)
	notify := newReceiver(t)
	data := newReceiver(t)
	nep := e.addEndpoint(notify.URL, store.EndpointNotification)
	e.addEndpoint(data.URL, "")
	conn := store.Connection{ID: 7, ClientUUID: testClient, UserID: testUser, DataSource: "oura", Status: store.StatusActive}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.svc.UserCreated(e.ctx, testClient, testUser))
	must(e.svc.DataSourceLinked(e.ctx, conn))
	must(e.svc.DataSourceUnlinked(e.ctx, conn, ByClient))
	conn.Status = store.StatusRevoked
	must(e.svc.DataSourceUnlinked(e.ctx, conn, ByUser))
	conn.Status = store.StatusReauthRequired
	e.svc.ExtractionFailed(e.ctx, conn, "token", http.ErrHandlerTimeout)
	must(e.svc.LinkFailed(e.ctx, testClient, testUser, "oura", "denied", "the person refused consent"))
	types := notifications(t, e, notify)
	want := []string{EventUserCreated, EventDataSourceLinked, EventDataSourceUnlinked, EventDataSourceRevoked, EventExtractionFailed, EventLinkFailed}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	for _, h := range notify.got() {
		if err := verify(t, nep.Secret, h, false); err != nil {
			t.Fatal(err)
		}
		ev := eventOf(t, h.body)
		for _, k := range []string{"type", "timestamp", "client_uuid", "action", "level", "message", "data"} {
			if _, ok := ev[k]; !ok {
				t.Fatalf("event without %s: %s", k, h.body)
			}
		}
		if ev["user_id"] != testUser || ev["client_uuid"] != testClient {
			t.Fatalf("event %s", h.body)
		}
		if h.header.Get("X-ROOK-HASH") != RookHash(nep.Secret, testClient, testUser, h.header.Get("webhook-timestamp")) {
			t.Fatal("X-ROOK-HASH of a notification")
		}
	}
	last := eventOf(t, notify.got()[4].body)
	d := last["data"].(map[string]any)
	if last["data_source"] != "Oura" || d["reason"] != "token" || d["status"] != store.StatusReauthRequired || d["connection_id"] != float64(7) ||
		strings.Contains(string(notify.got()[4].body), http.ErrHandlerTimeout.Error()) {
		t.Fatalf("extraction.failed %s", notify.got()[4].body)
	}
	if n := len(data.got()); n != 0 {
		t.Fatalf("%d events at the data endpoint", n)
	}
}

// ROOK's resend route replays the dead letters created on the days asked.
func TestResend(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 410})
	ep := e.addEndpoint(rcv.URL, "")
	day0 := e.clock.Now()
	applyDocs(t, e.st, 0, 2)
	ids := e.pump()
	e.clock.Advance(48 * time.Hour)
	applyDocs(t, e.st, 2, 1)
	e.pump() // pending until the 410 below disables the endpoint
	e.work(ids[0])
	if _, err := e.svc.SetEnabled(e.ctx, testClient, ep.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ResendRequest{{Start: "2024-1-1", Finish: "2024-01-02"}, {Start: "2024-01-03", Finish: "2024-01-02"}, {}} {
		if _, err := e.svc.Resend(e.ctx, testClient, bad); health.ErrorCode(err) != health.EINVALID {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	day := day0.Format(time.DateOnly)
	res, err := e.svc.Resend(e.ctx, testClient, ResendRequest{Start: day, Finish: day})
	if err != nil {
		t.Fatal(err)
	}
	if res != (ResendResponse{Message: "Success", TotalDocsToResend: 2}) {
		t.Fatalf("resend %+v", res)
	}
	if q := e.jobs.take(); !slices.Equal(q, ids) {
		t.Fatalf("queued %v, want %v", q, ids)
	}
	res, _ = e.svc.Resend(e.ctx, testClient, ResendRequest{Start: day, Finish: day0.AddDate(0, 0, 2).Format(time.DateOnly)})
	if res.TotalDocsToResend != 1 {
		t.Fatalf("second resend %+v", res)
	}
	// Another client's caller sees nothing of these.
	if _, err := e.svc.GetEndpoint(e.ctx, "client-2", ep.ID); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("another client's endpoint: %v", err)
	}
	if _, err := e.svc.Replay(e.ctx, "client-2", store.ReplayQuery{IDs: ids}); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("another client's replay: %v", err)
	}
}

// A test event is sent at once, to a disabled endpoint too, and recorded.
func TestTestEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 202, body: "thanks"})
	ep := e.addEndpoint(rcv.URL, "")
	if _, err := e.svc.SetEnabled(e.ctx, "", ep.ID, false); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.TestEndpoint(e.ctx, testClient, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded || res.StatusCode != 202 || res.Response != "thanks" || len(rcv.got()) != 1 {
		t.Fatalf("test %+v", res)
	}
	if err := verify(t, ep.Secret, rcv.got()[0], false); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, rcv.got()[0].body); ev["type"] != EventTest {
		t.Fatalf("event %v", ev)
	}
	d, atts, err := e.svc.Delivery(e.ctx, testClient, res.DeliveryID)
	if err != nil || d.Status != store.DeliverySucceeded || len(atts) != 1 || d.Kind != store.MessageTest {
		t.Fatalf("delivery %+v %+v %v", d, atts, err)
	}
	if len(e.jobs.take()) != 0 {
		t.Fatal("a test delivery was queued")
	}
	rcv.setScript(reply{status: 500})
	res, err = e.svc.TestEndpoint(e.ctx, testClient, ep.ID)
	if err != nil || res.Succeeded || res.ErrorClass != store.ErrorHTTP {
		t.Fatalf("failing test %+v %v", res, err)
	}
	if d := e.delivery(res.DeliveryID); d.Status != store.DeliveryDead {
		t.Fatalf("a failed test is %s", d.Status)
	}
}

// countingStore counts RecordAttempts calls and makes each slow, as a
// commit waiting for the disk is.
type countingStore struct {
	store.DeliveryStore
	mu      sync.Mutex
	calls   int
	records int
}

func (c *countingStore) RecordAttempts(ctx context.Context, rs []store.AttemptRecord) ([]store.AttemptResult, error) {
	c.mu.Lock()
	c.calls++
	c.records += len(rs)
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	return c.DeliveryStore.RecordAttempts(ctx, rs)
}

// Concurrent workers share commits, and each gets its own result.
func TestRecordsShareCommits(t *testing.T) {
	e := newEnv(t, nil)
	cs := &countingStore{DeliveryStore: e.st}
	svc, err := New(Config{Store: cs, Now: e.clock.Now, AllowPrivate: true, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(e.jobs)
	rcv := newReceiver(t, reply{status: 200})
	e.addEndpoint(rcv.URL, "")
	applyDocs(t, e.st, 0, 64)
	if err := svc.pump(e.ctx); err != nil {
		t.Fatal(err)
	}
	ids := e.jobs.take()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if _, again, err := svc.work(e.ctx, id); err != nil || again {
				t.Errorf("delivery %d: again %v, %v", id, again, err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if d := e.delivery(id); d.Status != store.DeliverySucceeded || d.Attempts != 1 {
			t.Fatalf("delivery %+v", d)
		}
	}
	if cs.records != 64 || cs.calls > 32 {
		t.Fatalf("%d records in %d commits", cs.records, cs.calls)
	}
	t.Logf("%d records in %d commits", cs.records, cs.calls)
}

// Maintenance deletes dead letters past their retention and queues again
// a pending delivery whose job is long overdue.
func TestMaintain(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, reply{status: 410})
	ok := newReceiver(t)
	e.addEndpoint(rcv.URL, "")
	applyDocs(t, e.st, 0, 1)
	dead := e.pump()[0]
	e.work(dead) // 410: dead, the endpoint disabled
	e.addEndpoint(ok.URL, "")
	applyDocs(t, e.st, 1, 1)
	lost := e.pump()[0] // queued, then "lost"

	e.clock.Advance(16 * time.Minute)
	if err := e.svc.maintain(e.ctx); err != nil {
		t.Fatal(err)
	}
	if q := e.jobs.take(); !slices.Equal(q, []int64{lost}) {
		t.Fatalf("requeued %v, want [%d]", q, lost)
	}
	e.delivery(dead) // still kept

	e.clock.Advance(10 * 24 * time.Hour)
	if err := e.svc.maintain(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetDelivery(e.ctx, dead); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("dead letter past retention: %v", err)
	}
	e.delivery(lost) // pending: never pruned
}

// A delivery job that ends reports what it left of its delivery through
// OnOutcome, so that counting outcomes needs no read of the delivery; a
// job due again reports nothing.
func TestJobOutcomeReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		before func(e *env, ep EndpointWithSecret)
		want   []string
	}{
		{"delivered", 200, nil, []string{store.DeliverySucceeded}},
		{"due again", 500, nil, nil},
		{"endpoint disabled", 200, func(e *env, ep EndpointWithSecret) {
			if _, err := e.st.SetEndpointEnabled(e.ctx, ep.ID, false, "test", e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}, []string{store.DeliveryDead}},
		{"endpoint deleted", 200, func(e *env, ep EndpointWithSecret) {
			if err := e.svc.DeleteEndpoint(e.ctx, testClient, ep.ID); err != nil {
				t.Fatal(err)
			}
		}, []string{OutcomeGone}},
		{"endpoint paused", 200, func(e *env, ep EndpointWithSecret) {
			if _, err := e.st.SetEndpointPaused(e.ctx, ep.ID, true); err != nil {
				t.Fatal(err)
			}
		}, []string{OutcomePaused}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			e := newEnv(t, func(c *Config) { c.OnOutcome = func(o string) { got = append(got, o) } })
			rcv := newReceiver(t, reply{status: tc.status})
			ep := e.addEndpoint(rcv.URL, "")
			applyDocs(t, e.st, 0, 1)
			id := e.pump()[0]
			if tc.before != nil {
				tc.before(e, ep)
			}
			e.work(id)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("outcomes %v, want %v", got, tc.want)
			}
		})
	}
}
