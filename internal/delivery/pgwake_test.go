package delivery

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/testutil"
)

// timedJobs is fakeJobs that remembers when deliveries were last queued.
type timedJobs struct {
	fakeJobs
	last atomic.Int64 // unix nanoseconds
}

func (j *timedJobs) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	out, err := j.fakeJobs.InsertMany(ctx, params)
	j.last.Store(time.Now().UnixNano())
	return out, err
}

// twoProcesses opens two stores on one fresh, migrated schema, as two
// processes would, and returns its URL.
func twoProcesses(t *testing.T) (url string, a, b *postgres.Store) {
	t.Helper()
	url = testutil.PostgresSchemaURL(t, "wearlink_wake")
	open := func() *postgres.Store {
		st, err := postgres.New(t.Context(), postgres.Options{URL: url, Sealer: testSealer(t), Logger: testLogger(t), MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b = open(), open()
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return url, a, b
}

// On PostgreSQL a commit in one process wakes the fan-out of the others:
// process B fans out a record committed through A's store although its
// pump's timer (an hour) never fires and nothing in B wrote. After B's
// listening connection is killed, it listens again and the next commit
// wakes B too.
func TestPostgresCommitWakesOtherProcess(t *testing.T) {
	url, stA, stB := twoProcesses(t)
	setupClient(t, stA)
	svcB, err := New(Config{Store: stB, AllowPrivate: true, Logger: testLogger(t), FanoutInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	jobs := &timedJobs{}
	svcB.Attach(jobs)
	if _, err := svcB.AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: "https://receiver.example/hook"}); err != nil {
		t.Fatal(err)
	}

	var wakes atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { stB.ListenOutbox(ctx, func() { wakes.Add(1); svcB.Wake() }) })
	wg.Go(func() { svcB.RunWoken(ctx) })
	// The listener wakes once when it starts listening (for what it
	// missed); a commit before that would not show the notification.
	testutil.WaitFor(t, 10*time.Second, "B's listener to listen", func() bool { return wakes.Load() >= 1 })

	commitWakesB := func(first int) {
		t.Helper()
		start := time.Now()
		applyDocs(t, stA, first, 1)
		var got []int64
		testutil.WaitFor(t, 5*time.Second, "B to fan out A's record", func() bool {
			got = append(got, jobs.take()...)
			return len(got) > 0
		})
		if len(got) != 1 {
			t.Fatalf("B queued deliveries %v, want one", got)
		}
		t.Logf("commit through A to delivery queued by B: %s", time.Unix(0, jobs.last.Load()).Sub(start))
	}
	commitWakesB(0)

	before := wakes.Load()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Listeners of other tests sharing the database may go too: they
	// listen again as this one does. (Selected first: in one WHERE the
	// server may terminate before it filters.)
	rows, _ := conn.Query(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, postgres.ListenerAppName)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		t.Fatalf("listening connections %v, %v", pids, err)
	}
	for _, pid := range pids {
		if _, err := conn.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 10*time.Second, "B's listener to listen again", func() bool { return wakes.Load() > before })
	commitWakesB(1)
}

// probeArgs is a job on the delivery queue that records when it ran.
type probeArgs struct{ N int }

func (probeArgs) Kind() string { return "test_probe" }

func (probeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueDeliver} }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	mu  sync.Mutex
	ran map[int]time.Time
}

func (w *probeWorker) Work(_ context.Context, job *river.Job[probeArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ran[job.Args.N] = time.Now()
	return nil
}

func (w *probeWorker) at(n int) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.ran[n]
	return t, ok
}

// On PostgreSQL, delivery jobs one process queues are worked by another at
// once, one after the other: River's insert notifications, not its polling
// (an hour here), bring them.
func TestPostgresDeliveryJobsOfOtherProcess(t *testing.T) {
	_, stA, stB := twoProcesses(t)
	probe := &probeWorker{ran: map[int]time.Time{}}
	client := func(st *postgres.Store, work bool) *river.Client[pgx.Tx] {
		svc, err := New(Config{Store: st, AllowPrivate: true, Logger: testLogger(t), FanoutInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c, err := jobs.NewClient(riverpgxv5.New(st.Pool()), jobs.Config{Work: work, TestOnly: true, Logger: testLogger(t),
			Services: []jobs.Registrar{func(w *river.Workers) jobs.Setup {
				// The delivery queues as the app configures them, without
				// the pump.
				rs := svc.Register(w)
				river.AddWorker(w, probe)
				return jobs.Setup{Queues: rs.Queues}
			}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := client(stA, true), client(stB, false)
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	}()
	// Start returns once the producers listen for insert notifications.

	var inserted time.Time
	for n := range 5 {
		// River sends no notification for an insert within the client's
		// cooldown of the last one it sent (that job waits for the poll),
		// so each job is queued after the cooldown has passed.
		time.Sleep(time.Until(inserted.Add(2 * deliverCooldown)))
		start := time.Now()
		if _, err := b.Insert(t.Context(), probeArgs{N: n}, nil); err != nil {
			t.Fatal(err)
		}
		inserted = time.Now()
		var ran time.Time
		testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("A to work B's job %d", n), func() bool {
			var ok bool
			ran, ok = probe.at(n)
			return ok
		})
		t.Logf("job %d queued by B, worked by A after %s", n, ran.Sub(start))
	}
}
