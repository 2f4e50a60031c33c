package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// arrivals keeps when each webhook-id first arrived.
type arrivals struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if _, ok := a.first[r.Header.Get("webhook-id")]; !ok {
		a.first[r.Header.Get("webhook-id")] = time.Now()
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// last is the latest first arrival and how many webhook-ids arrived.
func (a *arrivals) last() (time.Time, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var last time.Time
	for _, t := range a.first {
		if t.After(last) {
			last = t
		}
	}
	return last, len(a.first)
}

// On PostgreSQL, documents committed by a process that runs no pump (as
// the API role or the CLI would) reach the client's webhook through two
// worker processes at once: the commit notifies their listeners, which
// wake their fan-out, and River's insert notifications bring the delivery
// jobs to whichever works them. The pump's timer and the delivery queue's
// polling are an hour here, so nothing else explains a delivery. The test
// logs the latencies from commit to webhook.
func TestPostgresWorkersDeliverOtherProcessWrites(t *testing.T) {
	const client, user, writes = "client-1", "user-1", 20
	url := testutil.PostgresSchemaURL(t, "app_wake")
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sink := &arrivals{first: map[string]time.Time{}}
	rs := httptest.NewServer(sink)
	defer rs.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: t.TempDir(), DatabaseURL: url, SecretKey: secret.EncodeKey(key), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.CreateClient(ctx, store.Client{UUID: client, Name: "wake test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.UpsertUser(ctx, store.User{ClientUUID: client, UserID: user}); err != nil {
		t.Fatal(err)
	}
	svc, err := delivery.New(delivery.Config{Store: st.Store, Logger: testLogger(), AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: client, URL: rs.URL}); err != nil {
		t.Fatal(err)
	}

	var runs sync.WaitGroup
	defer func() { cancel(); runs.Wait() }()
	for range 2 {
		cfg := config.Default()
		cfg.DatabaseURL, cfg.DataDir, cfg.Role, cfg.AllowPrivateWebhooks = url, t.TempDir(), config.RoleWorker, true
		a, err := app.New(ctx, cfg, app.Options{SecretKey: secret.EncodeKey(key), Logger: testLogger(), TestOnly: true, FanoutInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		runs.Go(func() {
			if err := a.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}

	write := func(j int) time.Duration {
		t.Helper()
		start := time.Now()
		if _, err := st.Store.ApplyHealthDocuments(ctx, []store.HealthInput{night(client, user, j)}); err != nil {
			t.Fatal(err)
		}
		var at time.Time
		testutil.WaitFor(t, 10*time.Second, "the webhook", func() bool {
			var n int
			at, n = sink.last()
			return n == j+1
		})
		return at.Sub(start)
	}
	// The first may be fanned out by a pump starting or a listener's first
	// wake; the others only by notifications.
	t.Logf("first write delivered after %s", write(0))
	var lat []time.Duration
	for j := 1; j <= writes; j++ {
		lat = append(lat, write(j))
	}
	slices.Sort(lat)
	t.Logf("commit to webhook, %d writes: min %s, median %s, max %s", writes, lat[0], lat[len(lat)/2], lat[len(lat)-1])
}
