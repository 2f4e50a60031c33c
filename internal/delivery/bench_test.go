package delivery

// Throughput and latency of deliveries to a local receiver, with the two
// baselines that bound them on the same database and receiver:
//
//	go test ./internal/delivery -run '^$' -bench . -benchtime 3000x
//	WEARLINK_TEST_POSTGRES_URL=postgres://... go test ./internal/delivery -run '^$' -bench . -benchtime 3000x
//
// BenchmarkLatency ignores b.N: each run stores 200 documents a second
// for 10 seconds and reports p50/p99 from storing to receiving (run it
// alone with -bench Latency -benchtime 1x).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
)

// benchDB is one database to measure on: its store and a way to start
// River on it.
type benchDB struct {
	name string
	st   interface {
		store.Store
		store.DeliveryStore
	}
	start func(tb testing.TB, w *river.Workers, setup RiverSetup) (Inserter, func())
}

type benchDBMaker struct {
	name string
	make func(b *testing.B) benchDB
}

// benchDBs are SQLite, and PostgreSQL when WEARLINK_TEST_POSTGRES_URL is
// set; each run of a benchmark gets a fresh database.
func benchDBs() []benchDBMaker {
	out := []benchDBMaker{{"sqlite", func(b *testing.B) benchDB {
		st := openStore(b, newDB(b))
		return benchDB{name: "sqlite", st: st, start: func(tb testing.TB, w *river.Workers, setup RiverSetup) (Inserter, func()) {
			return startBenchRiver(tb, riversqlite.New(st.Writer()), w, setup)
		}}
	}}}
	if url := os.Getenv("WEARLINK_TEST_POSTGRES_URL"); url != "" {
		out = append(out, benchDBMaker{"postgres", func(b *testing.B) benchDB {
			st := openPostgres(b, url)
			return benchDB{name: "postgres", st: st, start: func(tb testing.TB, w *river.Workers, setup RiverSetup) (Inserter, func()) {
				return startBenchRiver(tb, riverpgxv5.New(st.Pool()), w, setup)
			}}
		}})
	}
	return out
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func openPostgres(b *testing.B, url string) *postgres.Store {
	buf := make([]byte, 6)
	rand.Read(buf)
	schema := "wearlink_bench_" + hex.EncodeToString(buf)
	st, err := postgres.New(context.Background(), postgres.Options{URL: url, Schema: schema, Sealer: testSealer(b), Logger: quiet, MaxConns: 24})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			conn.Exec(context.Background(), `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			conn.Close(context.Background())
		}
	})
	if err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st
}

// noopArgs is the baseline job: River's own cost per job.
type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

func (noopArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueDeliver} }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

func startBenchRiver[TTx any](tb testing.TB, driver riverdriver.Driver[TTx], w *river.Workers, setup RiverSetup) (Inserter, func()) {
	c, err := river.NewClient(driver, &river.Config{Workers: w, Queues: setup.Queues, PeriodicJobs: setup.PeriodicJobs, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	}
	return c, stop
}

func benchService(tb testing.TB, st store.DeliveryStore) *Service {
	svc, err := New(Config{Store: st, Logger: quiet, AllowPrivate: true, Jitter: -1, FanoutInterval: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

func benchSetup(b *testing.B, st store.Store) {
	ctx := context.Background()
	if err := st.CreateClient(ctx, store.Client{UUID: testClient, Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.UpsertUser(ctx, store.User{ClientUUID: testClient, UserID: testUser}); err != nil {
		b.Fatal(err)
	}
}

// countingReceiver answers 200 at once and counts distinct webhook-ids.
type countingReceiver struct {
	mu   sync.Mutex
	ids  map[string]time.Time
	hits atomic.Int64
}

func (r *countingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	if _, ok := r.ids[id]; !ok {
		r.ids[id] = time.Now()
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *countingReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func newCountingReceiver(b *testing.B) (*countingReceiver, string) {
	r := &countingReceiver{ids: map[string]time.Time{}}
	srv := newReceiverServer(b, r)
	return r, srv
}

func newReceiverServer(b *testing.B, h http.Handler) string {
	srv := &http.Server{Handler: h}
	ln, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func waitCount(b *testing.B, what string, limit time.Duration, n int, count func() int) {
	deadline := time.Now().Add(limit)
	for count() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d after %v", what, count(), n, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkDeliveries: b.N documents already stored, then River started:
// deliveries/s from the outbox to the receiver, fan-out included.
func BenchmarkDeliveries(b *testing.B) {
	for _, mk := range benchDBs() {
		b.Run(mk.name, func(b *testing.B) {
			db := mk.make(b)
			benchSetup(b, db.st)
			rcv, url := newCountingReceiver(b)
			svc := benchService(b, db.st)
			if _, err := svc.AddEndpoint(context.Background(), EndpointInput{ClientUUID: testClient, URL: url}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i += 500 {
				applyDocs(b, db.st, i, min(500, b.N-i))
			}
			w := river.NewWorkers()
			setup := svc.Register(w)
			b.ResetTimer()
			c, stop := db.start(b, w, setup)
			svc.Attach(c)
			waitCount(b, "deliveries", 10*time.Minute, b.N, rcv.count)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			stop()
		})
	}
}

// BenchmarkRiverNoop: b.N no-op jobs through River's queue on the same
// database with as many workers: River's ceiling.
func BenchmarkRiverNoop(b *testing.B) {
	for _, mk := range benchDBs() {
		b.Run(mk.name, func(b *testing.B) {
			db := mk.make(b)
			var done atomic.Int64
			w := river.NewWorkers()
			river.AddWorker(w, &noopWorker{done: &done})
			setup := RiverSetup{Queues: map[string]river.QueueConfig{QueueDeliver: {MaxWorkers: 16, FetchPollInterval: 100 * time.Millisecond, FetchCooldown: 5 * time.Millisecond}}}
			jobs, stop := db.start(b, w, setup)
			defer stop()
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				p := make([]river.InsertManyParams, min(1000, b.N-i))
				for j := range p {
					p[j] = river.InsertManyParams{Args: noopArgs{}}
				}
				if _, err := jobs.InsertMany(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
			waitCount(b, "jobs", 10*time.Minute, b.N, func() int { return int(done.Load()) })
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// BenchmarkPlainPOST: b.N signed POSTs of a stored document from 16
// goroutines with the delivery HTTP client: the receiver's and the
// network stack's ceiling.
func BenchmarkPlainPOST(b *testing.B) {
	rcv, url := newCountingReceiver(b)
	client := NewHTTPClient(ClientOptions{AllowPrivate: true})
	body := []byte(strings.Repeat(`{"x":1}`, 200))
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
				req.Header.Set("webhook-id", NewSecret())
				req.Header.Set("webhook-signature", sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, body))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if rcv.count() != b.N {
		b.Fatalf("%d of %d", rcv.count(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchmarkLatency stores 200 documents a second for 10 s (in batches of
// 10 every 50 ms, as sync writes them) with River running, and reports
// p50 and p99 of the time from the store's commit to the receiver.
func BenchmarkLatency(b *testing.B) {
	for _, mk := range benchDBs() {
		b.Run(mk.name, func(b *testing.B) {
			db := mk.make(b)
			const rate, seconds, batch = 200, 10, 10
			benchSetup(b, db.st)
			rcv, url := newCountingReceiver(b)
			svc := benchService(b, db.st)
			if _, err := svc.AddEndpoint(context.Background(), EndpointInput{ClientUUID: testClient, URL: url}); err != nil {
				b.Fatal(err)
			}
			w := river.NewWorkers()
			setup := svc.Register(w)
			c, stop := db.start(b, w, setup)
			defer stop()
			svc.Attach(c)
			time.Sleep(time.Second) // River elects its leader and starts the pump

			stored := map[string]time.Time{} // day -> commit time
			total := rate * seconds
			tick := time.NewTicker(time.Second * batch / rate)
			for i := 0; i < total; i += batch {
				<-tick.C
				applyDocs(b, db.st, i, batch)
				now := time.Now()
				for j := i; j < i+batch; j++ {
					stored[time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j%3000).Format(time.DateOnly)] = now
				}
			}
			tick.Stop()
			waitCount(b, "deliveries", time.Minute, total, rcv.count)

			var lat []time.Duration
			for after := int64(0); ; {
				page, err := db.st.ListDeliveries(context.Background(), store.DeliveryQuery{AfterID: after, Limit: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				rcv.mu.Lock()
				for _, d := range page {
					lat = append(lat, rcv.ids[d.WebhookID].Sub(stored[d.Day]))
				}
				rcv.mu.Unlock()
				after = page[len(page)-1].ID
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		})
	}
}
