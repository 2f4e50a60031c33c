package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// webhookSink answers 200 at once, so the test measures wearlink rather
// than the receiver, and keeps every distinct webhook-id with the first
// request that carried it.
type webhookSink struct {
	mu    sync.Mutex
	first map[string]sinkHit
	hits  int
}

type sinkHit struct {
	header http.Header
	body   []byte
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	s.mu.Lock()
	s.hits++
	if _, ok := s.first[id]; !ok {
		s.first[id] = sinkHit{header: r.Header.Clone(), body: body}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *webhookSink) counts() (distinct, hits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first), s.hits
}

// night is the user's sleep summary of the jth day from 2000-01-01.
func night(client, user string, j int) store.HealthInput {
	day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j).Format(time.DateOnly)
	d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
	dt, n := day+"T00:00:00.000000Z", j
	d.Summary.Metadata.Datetime = &dt
	d.Summary.Metadata.SourcesOfData = []string{"Oura"}
	d.Summary.Duration.SleepDurationSeconds = &n
	return store.HealthInput{Key: fmt.Sprint("night-", j), Doc: d}
}

// TestKillMidDelivery runs the real binary with 10,000 deliveries queued,
// kills it with SIGKILL once a few hundred have arrived, starts it again,
// and checks that the receiver gets every webhook-id: at least once, so
// repeats are allowed, but nothing lost.
func TestKillMidDelivery(t *testing.T) {
	const docs, client, user = 10000, "client-1", "user-1"
	bin := binary(t)
	sink := &webhookSink{first: map[string]sinkHit{}}
	rs := httptest.NewServer(sink)
	defer rs.Close()

	ctx := context.Background()
	dir := t.TempDir()
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.CreateClient(ctx, store.Client{UUID: client, Name: "kill test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.UpsertUser(ctx, store.User{ClientUUID: client, UserID: user}); err != nil {
		t.Fatal(err)
	}
	ds := st.Store
	svc, err := delivery.New(delivery.Config{Store: ds, Logger: testLogger(), AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := svc.AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: client, URL: rs.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Stored before the server starts, as a backfill leaves them: the
	// whole outbox is waiting when the first process is killed.
	for i := 0; i < docs; i += 500 {
		var in []store.HealthInput
		for j := i; j < i+500; j++ {
			in = append(in, night(client, user, j))
		}
		if _, err := st.Store.ApplyHealthDocuments(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{"WEARLINK_DATA=" + dir, "WEARLINK_ALLOW_PRIVATE_WEBHOOKS=true", "WEARLINK_OURA_MANAGE_WEBHOOKS=false"}
	start := time.Now()
	first := startServe(t, bin, env)
	defer func() { _ = first.cmd.Process.Kill(); _ = first.cmd.Wait() }()
	testutil.WaitFor(t, 5*time.Minute, "the first deliveries", func() bool { n, _ := sink.counts(); return n >= 300 })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	before, _ := sink.counts()
	t.Logf("killed the server after %s with %d of %d webhook-ids received", time.Since(start).Round(time.Millisecond), before, docs)
	if before >= docs {
		t.Fatal("every delivery arrived before the kill; the test killed nothing in flight")
	}

	restart := time.Now()
	second := startServe(t, bin, env)
	defer func() { _ = second.cmd.Process.Signal(syscall.SIGTERM); _ = second.cmd.Wait() }()
	deadline := time.Now().Add(120 * time.Second)
	for {
		n, _ := sink.counts()
		if n >= docs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d webhook-ids after the restart\n%s", n, docs, second.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	distinct, hits := sink.counts()
	t.Logf("restarted server delivered the rest in %s: %d distinct webhook-ids, %d requests (%d repeats)",
		time.Since(restart).Round(time.Millisecond), distinct, hits, hits-distinct)

	// The receiver's ids are exactly the stored deliveries' ids, and each
	// delivery is recorded as succeeded once the server has written it.
	sink.mu.Lock()
	got := make(map[string]sinkHit, len(sink.first))
	for k, v := range sink.first {
		got[k] = v
	}
	sink.mu.Unlock()
	var ids []string
	testutil.WaitFor(t, 5*time.Minute, "every delivery recorded as succeeded", func() bool {
		ids = ids[:0]
		ok := true
		for after := int64(0); ; {
			page, err := ds.ListDeliveries(ctx, store.DeliveryQuery{AfterID: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, d := range page {
				ids = append(ids, d.WebhookID)
				ok = ok && d.Status == store.DeliverySucceeded
			}
			after = page[len(page)-1].ID
		}
		return ok && len(ids) == docs
	})
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Fatalf("delivery %s is stored but never arrived", id)
		}
	}
	if len(got) != docs {
		t.Fatalf("the receiver has %d webhook-ids, %d deliveries stored", len(got), docs)
	}

	// Signatures on a sample spread over both processes' deliveries.
	wh, err := standardwebhooks.NewWebhook(ep.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); i += 97 {
		h := got[ids[i]]
		if err := wh.Verify(h.body, h.header); err != nil {
			t.Fatalf("delivery %s: %v", ids[i], err)
		}
		ts := h.header.Get("webhook-timestamp")
		if want := delivery.RookHash(ep.Secret, client, user, ts); h.header.Get("X-ROOK-HASH") != want {
			t.Fatalf("delivery %s: X-ROOK-HASH %q, want %q", ids[i], h.header.Get("X-ROOK-HASH"), want)
		}
	}
}
