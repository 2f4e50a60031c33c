package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
)

// fastSchedule keeps River tests short: the logic is the same as with
// hours.
var fastSchedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}

// startRiver runs a River client with the service's workers on the
// store's writer, as the composition root does.
func startRiver(t testing.TB, st *sqlite.Store, svc *Service) *river.Client[*sql.Tx] {
	t.Helper()
	w := river.NewWorkers()
	setup := svc.Register(w)
	c, err := river.NewClient(riversqlite.New(st.Writer()), &river.Config{
		Workers: w, Queues: setup.Queues, PeriodicJobs: setup.PeriodicJobs,
		Logger: quiet, TestOnly: true, RescueStuckJobsAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(c)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func stopRiver(t testing.TB, c *river.Client[*sql.Tx]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Errorf("stop river: %v", err)
	}
}

func riverService(t testing.TB, st *sqlite.Store) *Service {
	t.Helper()
	svc, err := New(Config{Store: st, Logger: testLogger(t), AllowPrivate: true, Schedule: fastSchedule, Jitter: -1,
		FanoutInterval: 50 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func setupClient(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateClient(ctx, store.Client{UUID: testClient, Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertUser(ctx, store.User{ClientUUID: testClient, UserID: testUser}); err != nil {
		t.Fatal(err)
	}
}

func (r *receiver) distinct() (ids map[string]int, ok int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids = map[string]int{}
	for _, h := range r.hits {
		ids[h.header.Get("webhook-id")]++
	}
	return ids, len(r.hits)
}

// Through real River jobs: 500, 500, 200 is delivered on the third
// attempt under one webhook-id, verified with the reference library
// (timestamps checked against the real clock); then a batch arrives
// complete.
func TestRiverDelivers(t *testing.T) {
	st := openStore(t, newDB(t))
	setupClient(t, st)
	svc := riverService(t, st)
	rcv := newReceiver(t, reply{status: 500}, reply{status: 500}, reply{status: 200})
	ep, err := svc.AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := startRiver(t, st, svc)
	defer stopRiver(t, c)

	applyDocs(t, st, 0, 1)
	testutil.WaitFor(t, 20*time.Second, "three attempts", func() bool { return len(rcv.got()) >= 3 })
	hits := rcv.got()
	for _, h := range hits {
		if err := verify(t, ep.Secret, h, true); err != nil {
			t.Fatal(err)
		}
		if h.header.Get("webhook-id") != hits[0].header.Get("webhook-id") {
			t.Fatal("webhook-id changed between attempts")
		}
	}
	ds, err := st.ListDeliveries(t.Context(), store.DeliveryQuery{})
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	testutil.WaitFor(t, 10*time.Second, "the record of the third attempt", func() bool {
		d, _ := st.GetDelivery(t.Context(), ds[0].ID)
		return d.Status == store.DeliverySucceeded && d.Attempts == 3
	})

	rcv.setScript(reply{status: 200})
	const n = 100
	applyDocs(t, st, 1, n)
	testutil.WaitFor(t, 30*time.Second, "the batch", func() bool { ids, _ := rcv.distinct(); return len(ids) == n })
}

// deliveredAll waits until every delivery succeeded and the receiver
// holds all their webhook-ids, and returns how many requests it got.
func deliveredAll(t *testing.T, st *sqlite.Store, rcv *receiver, n int, limit time.Duration) int {
	t.Helper()
	testutil.WaitFor(t, limit, fmt.Sprintf("%d distinct webhook-ids", n), func() bool { ids, _ := rcv.distinct(); return len(ids) >= n })
	ids, total := rcv.distinct()
	var all []store.Delivery
	for after := int64(0); ; {
		page, err := st.ListDeliveries(t.Context(), store.DeliveryQuery{AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != n || len(ids) != n {
		t.Fatalf("%d deliveries, %d distinct webhook-ids, want %d", len(all), len(ids), n)
	}
	for _, d := range all {
		if ids[d.WebhookID] == 0 {
			t.Fatalf("delivery %d (%s) never arrived", d.ID, d.WebhookID)
		}
	}
	return total
}

// Stopping River in the middle of deliveries (in-flight POSTs cancelled)
// and starting again loses nothing.
func TestRiverStopRestartLosesNothing(t *testing.T) {
	st := openStore(t, newDB(t))
	setupClient(t, st)
	rcv := newReceiver(t, reply{status: 200, delay: 2 * time.Millisecond})
	svc := riverService(t, st)
	if _, err := svc.AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: rcv.URL}); err != nil {
		t.Fatal(err)
	}
	const n = 400
	applyDocs(t, st, 0, n)
	c := startRiver(t, st, svc)
	testutil.WaitFor(t, 30*time.Second, "the first deliveries", func() bool { return len(rcv.got()) >= n/4 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := c.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if got := len(rcv.got()); got >= n {
		t.Skipf("all %d delivered before the stop; nothing to check", got)
	}
	c2 := startRiver(t, st, riverService(t, st))
	defer stopRiver(t, c2)
	total := deliveredAll(t, st, rcv, n, 60*time.Second)
	t.Logf("%d requests for %d deliveries", total, n)
}

const (
	envHelperDB  = "WEARLINK_DELIVERY_HELPER_DB"
	envHelperKey = "WEARLINK_DELIVERY_HELPER_KEY"
)

// TestHelperDeliveryProcess is the process TestCrashLosesNothing kills:
// it runs the delivery jobs on the database it is given until killed.
func TestHelperDeliveryProcess(t *testing.T) {
	path := os.Getenv(envHelperDB)
	if path == "" {
		t.Skip("run by TestCrashLosesNothing")
	}
	key, err := os.ReadFile(os.Getenv(envHelperKey))
	if err != nil {
		t.Fatal(err)
	}
	copy(testKey, key)
	st := openStore(t, path)
	c := startRiver(t, st, riverService(t, st))
	defer stopRiver(t, c)
	time.Sleep(2 * time.Minute)
}

// killHelper runs TestHelperDeliveryProcess on the database at path in a
// second process and kills it with SIGKILL once started() holds (what
// names it for the wait).
func killHelper(t *testing.T, st *sqlite.Store, path, what string, started func() bool) {
	t.Helper()
	keyFile := t.TempDir() + "/key"
	if err := os.WriteFile(keyFile, testKey, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperDeliveryProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelperDB+"="+path, envHelperKey+"="+keyFile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	testutil.WaitFor(t, 60*time.Second, what, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("the helper process exited: %v", err)
		default:
		}
		return started()
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
}

// freeOrphans makes the jobs a killed process was running available
// again, as the composition root does on SQLite, and returns how many.
func freeOrphans(t *testing.T, st *sqlite.Store) int64 {
	t.Helper()
	res, err := st.Writer().ExecContext(t.Context(), `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.RowsAffected()
	return n
}

// A process killed with SIGKILL while deliveries are in flight loses none
// of them: after a restart (with the orphaned running jobs made available
// again, as the composition root does on SQLite) the receiver has every
// webhook-id.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	path := newDB(t)
	st := openStore(t, path)
	setupClient(t, st)
	rcv := newReceiver(t, reply{status: 200, delay: time.Millisecond})
	if _, err := riverService(t, st).AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: rcv.URL}); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	applyDocs(t, st, 0, n)

	delivered := func() int { return len(rcv.got()) }
	killHelper(t, st, path, "deliveries from the helper process", func() bool { return delivered() >= n/4 })
	before := delivered()
	if before >= n {
		t.Skipf("all %d delivered before the kill; nothing to check", before)
	}
	orphans := freeOrphans(t, st)
	c := startRiver(t, st, riverService(t, st))
	defer stopRiver(t, c)
	total := deliveredAll(t, st, rcv, n, 90*time.Second)
	t.Logf("killed after %d requests with %d jobs running; %d requests in all for %d deliveries", before, orphans, total, n)
}

// A failed pump pass retries its delay after now even when the pass ran
// longer than the delay: River replaces a time before now with its default
// policy.
func TestPumpRetryAfterNow(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		attempt int
		started time.Time
		want    time.Time
	}{
		{"failed at once", 2, now, now.Add(2 * time.Second)},
		{"ran ten minutes", 2, now.Add(-10 * time.Minute), now.Add(2 * time.Second)},
		{"capped delay", 90, now.Add(-time.Hour), now.Add(30 * time.Second)},
		{"database clock ahead", 1, now.Add(time.Second), now.Add(2 * time.Second)},
	} {
		started := tc.started
		job := &rivertype.JobRow{Attempt: tc.attempt, CreatedAt: started, AttemptedAt: &started}
		if got := pumpRetry(job, now); !got.Equal(tc.want) {
			t.Errorf("%s: retry at %v, want %v", tc.name, got, tc.want)
		}
	}
}
