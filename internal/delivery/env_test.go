package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil/loopback"
)

var quiet = slog.New(slog.DiscardHandler)

// testLogger logs to the test when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return quiet
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// template is a migrated, empty database file that tests copy.
var template struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	loopback.Guard()
	code := m.Run()
	if template.path != "" {
		os.RemoveAll(filepath.Dir(template.path))
	}
	os.Exit(code)
}

var testKey = func() []byte {
	k, err := secret.NewKey()
	if err != nil {
		panic(err)
	}
	return k
}()

func testSealer(t testing.TB) *secret.Sealer {
	s, err := secret.NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func templatePath(t testing.TB) string {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "wearlink-delivery-template-")
		if err != nil {
			template.err = err
			return
		}
		template.path = filepath.Join(dir, sqlite.FileName)
		s, err := sqlite.New(context.Background(), sqlite.Options{Path: template.path, Sealer: testSealer(t), Logger: quiet})
		if err != nil {
			template.err = err
			return
		}
		template.err = s.Migrate(context.Background())
		if err := s.Close(); template.err == nil {
			template.err = err
		}
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	return template.path
}

// newDB copies the migrated template into a fresh directory.
func newDB(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.New(context.Background(), sqlite.Options{Path: path, Sealer: testSealer(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeJobs records the delivery jobs the service queues.
type fakeJobs struct {
	mu  sync.Mutex
	ids []int64
}

func (f *fakeJobs) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := args.(DeliverArgs); ok {
		f.ids = append(f.ids, a.DeliveryID)
	}
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

func (f *fakeJobs) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	out := make([]*rivertype.JobInsertResult, len(params))
	for i, p := range params {
		out[i], _ = f.Insert(ctx, p.Args, p.InsertOpts)
	}
	return out, nil
}

func (f *fakeJobs) take() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.ids
	f.ids = nil
	return ids
}

const (
	testClient = "client-1"
	testUser   = "user-1"
)

// env is a service on a fresh SQLite store with one client and user, a
// settable clock and a recording job queue.
type env struct {
	t     *testing.T
	ctx   context.Context
	st    *sqlite.Store
	clock *clock
	jobs  *fakeJobs
	svc   *Service
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	st := openStore(t, newDB(t))
	e := &env{t: t, ctx: t.Context(), st: st, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, jobs: &fakeJobs{}}
	cfg := Config{Store: st, SourceName: ouraName, Logger: testLogger(t), Now: e.clock.Now, AllowPrivate: true, Jitter: -1, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(e.jobs)
	e.svc = svc
	if err := st.CreateClient(e.ctx, store.Client{UUID: testClient, Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertUser(e.ctx, store.User{ClientUUID: testClient, UserID: testUser}); err != nil {
		t.Fatal(err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

// sleepDoc is a sleep_summary of day whose content is n.
func sleepDoc(client, user, day string, n int) *health.SleepSummaryDocument {
	d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
	d.Summary.Metadata.Datetime = ptr(day + "T00:00:00.000000Z")
	d.Summary.Metadata.SourcesOfData = []string{"Oura"}
	d.Summary.Duration.SleepDurationSeconds = ptr(n)
	return d
}

// applyDocs stores n sleep summaries (distinct keys from first), which
// writes an outbox record each.
func applyDocs(t testing.TB, st store.Store, first, n int) {
	t.Helper()
	var in []store.HealthInput
	for i := first; i < first+n; i++ {
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%3000).Format(time.DateOnly)
		in = append(in, store.HealthInput{Key: fmt.Sprint("night-", i), Doc: sleepDoc(testClient, testUser, day, i)})
	}
	w, err := st.ApplyHealthDocuments(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if w.Inserted+w.Updated != n {
		t.Fatalf("applied %+v, want %d written", w, n)
	}
}

func (e *env) addEndpoint(url string, kind string) EndpointWithSecret {
	e.t.Helper()
	ep, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: url, Kind: kind})
	if err != nil {
		e.t.Fatal(err)
	}
	return ep
}

// pump fans the outbox out and returns the delivery ids queued.
func (e *env) pump() []int64 {
	e.t.Helper()
	if err := e.svc.pump(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return e.jobs.take()
}

// work runs one delivery job as River would and returns its wait.
func (e *env) work(id int64) (time.Duration, bool) {
	e.t.Helper()
	wait, again, err := e.svc.work(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return wait, again
}

func (e *env) delivery(id int64) store.Delivery {
	e.t.Helper()
	d, err := e.st.GetDelivery(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) attempts(id int64) []store.DeliveryAttempt {
	e.t.Helper()
	a, err := e.st.ListAttempts(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) endpoint(id string) store.WebhookEndpoint {
	e.t.Helper()
	ep, err := e.st.GetEndpoint(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// reply is a receiver's answer; delay holds it back.
type reply struct {
	status int
	header map[string]string
	body   string
	delay  time.Duration
}

// receiver is a webhook receiver on loopback that answers with script
// (by request number from 0; the last entry repeats) and records every
// request.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	script []reply
}

func newReceiver(t testing.TB, script ...reply) *receiver {
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.hits)
		r.hits = append(r.hits, hit{header: req.Header.Clone(), body: body})
		rep := reply{status: 200}
		if len(r.script) > 0 {
			rep = r.script[min(n, len(r.script)-1)]
		}
		r.mu.Unlock()
		if rep.delay > 0 {
			select {
			case <-time.After(rep.delay):
			case <-req.Context().Done():
				return
			}
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setScript(script ...reply) {
	r.mu.Lock()
	r.script = script
	r.hits = r.hits[:0:0]
	r.mu.Unlock()
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

// verify checks a request's signature with the Standard Webhooks
// reference library, ignoring the timestamp's age when the test clock is
// not the real one.
func verify(t testing.TB, secret string, h hit, checkAge bool) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if checkAge {
		return wh.Verify(h.body, h.header)
	}
	return wh.VerifyIgnoringTimestamp(h.body, h.header)
}

// eventOf decodes a lifecycle event body.
func eventOf(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("event body %s: %v", body, err)
	}
	return m
}

// ouraName names data sources as the registry does with Oura registered.
func ouraName(ds string) string {
	if ds == "oura" {
		return "Oura"
	}
	return ""
}
