package ingest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/cli"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

const (
	testClient = "client-1"
	verifyTok  = "verify-me"
)

// env is one wearlink process against one simulator: a real SQLite store,
// a real River client and the webhook endpoint on a loopback server.
type env struct {
	t      *testing.T
	ctx    context.Context
	sim    *ourasim.Server
	simURL string
	st     *sqlite.Store
	eng    *ingest.Engine
	river  *river.Client[*sql.Tx]
	app    *httptest.Server
	events *recordEvents
	oura   *oura.Client
	gate   *gate
}

// envOptions change the defaults of newEnv.
type envOptions struct {
	users        int
	seed         int64
	backfillDays int
	faults       ourasim.Faults
	noWorkers    bool
	// maxRetryAfter is the longest wait (a 429's, or the limiter's) the
	// Oura client sits out; longer ones snooze the job.
	maxRetryAfter time.Duration
	// limiter replaces the Oura client's default one (to run it on a
	// clock the test moves); onRateLimited hears of the client's 429s.
	limiter       *oura.RateLimiter
	onRateLimited func(tier string)
	engine        func(*ingest.Config)
	// jobTx wraps the store's transactions the engine shares with River.
	jobTx func(jobTxFunc) jobTxFunc
}

// jobTxFunc runs a transaction of the SQLite store shared with River.
type jobTxFunc = func(ctx context.Context, fn func(*sql.Tx, store.CursorWriter) error) error

// envStart is when the simulated clock of every env starts: a Wednesday
// afternoon in UTC, morning in the Americas.
var envStart = time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.users == 0 {
		o.users = 3
	}
	if o.seed == 0 {
		o.seed = 7
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := testLogger(t)

	// The simulated clock starts at a fixed instant, so that what the
	// seed's users have recorded and synced does not depend on the day or
	// the hour the tests run.
	sim, err := ourasim.New(ourasim.Config{Seed: o.seed, Users: o.users, RevealInterval: -1, Faults: o.faults, Logger: logger.With("sim", true),
		WebhookBackoff: 20 * time.Millisecond, Clock: ourasim.NewClock(envStart, 1, nil)})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	simHTTP := httptest.NewServer(g.wrap(sim))
	t.Cleanup(func() { g.release(); simHTTP.Close(); sim.Close() })

	// The store keeps the engine's clock, as in the composition root.
	st := harness.SQLite(t, harness.StoreOptions{Logger: logger, Now: sim.Clock().Now})

	if o.maxRetryAfter == 0 {
		o.maxRetryAfter = 300 * time.Millisecond
	}
	oc, err := oura.New(oura.Config{BaseURL: simHTTP.URL, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MaxRetryAfter: o.maxRetryAfter, MaxLimiterWait: o.maxRetryAfter, Logger: logger, HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Limiter: o.limiter, OnRateLimited: o.onRateLimited})
	if err != nil {
		t.Fatal(err)
	}
	// The engine and the OAuth flow run on the simulator's clock: the
	// flow computes the token expiries the engine compares with it.
	now := sim.Clock().Now
	oauth, err := oura.NewOAuth(oura.OAuthConfig{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		AuthURL: simHTTP.URL + "/oauth/authorize", TokenURL: simHTTP.URL + "/oauth/token", RevokeURL: simHTTP.URL + "/oauth/revoke", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	app := httptest.NewUnstartedServer(mux)
	app.Start()
	t.Cleanup(app.Close)

	ev := &recordEvents{}
	built, err := all.Registry(all.Config{Oura: &all.OuraConfig{Client: oc, OAuth: oauth, ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		VerificationToken: verifyTok, Now: now}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{
		Store: st, Providers: built.Registry, Refreshers: built.Refreshers, CallbackURL: app.URL + "/oura/webhook", Logger: logger,
		Now: now, Events: ev, BackfillDays: o.backfillDays,
		FetchWorkers: 8, SingleWriter: true,
	}
	if o.engine != nil {
		o.engine(&cfg)
	}
	eng, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oura/webhook", notificationHandler(eng, "oura"))
	// The engine gets its client before the client starts, as in the
	// composition root: the periodic poll job runs at once and enqueues.
	rc, err := jobs.NewClient(riversqlite.New(st.Writer()), jobs.Config{Services: []jobs.Registrar{eng.Jobs(ingest.JobOptions{})},
		Work: !o.noWorkers, FetchPollInterval: 500 * time.Millisecond, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	begin := jobTxFunc(st.JobTx)
	if o.jobTx != nil {
		begin = o.jobTx(begin)
	}
	ingest.AttachTx(eng, rc, begin)
	if !o.noWorkers {
		if err := rc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	return &env{t: t, ctx: ctx, sim: sim, simURL: simHTTP.URL, st: st, eng: eng, river: rc, app: app, events: ev, oura: oc, gate: g}
}

// gate holds the simulator's requests whose path contains a pattern until
// released, so a test can know a read is in flight instead of guessing
// from timing.
type gate struct {
	mu    gosync.Mutex
	match func(*http.Request) bool
	open  chan struct{}
	held  chan string
}

// hold makes requests whose path contains pattern wait; it returns a
// channel that receives each held request's path and query.
func (g *gate) hold(pattern string) <-chan string {
	return g.holdIf(func(r *http.Request) bool { return strings.Contains(r.URL.Path, pattern) })
}

// holdIf is hold for the requests match accepts.
func (g *gate) holdIf(match func(*http.Request) bool) <-chan string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.match, g.open, g.held = match, make(chan struct{}), make(chan string, 64)
	return g.held
}

// release lets every held and later request through.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open != nil {
		close(g.open)
		g.match, g.open = nil, nil
	}
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		open, held := g.open, g.held
		match := open != nil && g.match(r)
		g.mu.Unlock()
		if match {
			select {
			case held <- r.URL.RequestURI():
			default:
			}
			select {
			case <-open:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// testLogger writes to stderr with WEARLINK_TEST_LOG set; otherwise it
// keeps the last lines and prints them if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("WEARLINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r := &ring{max: 400}
	t.Cleanup(func() {
		if t.Failed() {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Logf("last %d log lines:\n%s", len(r.lines), strings.Join(r.lines, ""))
		}
	})
	return slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ring keeps the last max lines written to it.
type ring struct {
	mu    gosync.Mutex
	max   int
	lines []string
}

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, string(p))
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
	return len(p), nil
}

type recordEvents struct {
	mu     gosync.Mutex
	failed []string
}

func (r *recordEvents) ExtractionFailed(_ context.Context, c store.Connection, reason string, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, fmt.Sprintf("%d:%s", c.ID, reason))
}

func (r *recordEvents) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failed...)
}

// link links simulated user i as user-<i> with its ready token.
func (e *env) link(i int) store.Connection {
	e.t.Helper()
	tok := e.sim.Tokens()[i]
	res, err := e.eng.Link(e.ctx, ingest.LinkParams{ClientUUID: testClient, UserID: fmt.Sprintf("user-%d", i), DataSource: "oura", CreateClient: true,
		TimeZone: tok.TimeZone, Tokens: store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.ExpiresAt, Scopes: tok.Scopes}})
	if err != nil {
		e.t.Fatalf("link user %d: %v", i, err)
	}
	return res.Connection
}

// waitBackfill waits until every connection's backfill has finished.
func (e *env) waitBackfill(timeout time.Duration, conns ...store.Connection) {
	e.t.Helper()
	defer e.dumpJobsIfFailed()
	for _, c := range conns {
		var got store.Connection
		testutil.WaitFor(e.t, timeout, fmt.Sprintf("the backfill of connection %d", c.ID), func() bool {
			var err error
			if got, err = e.st.GetConnection(e.ctx, c.ID); err != nil {
				e.t.Fatal(err)
			}
			return got.Cursors["backfill_done"] != ""
		})
	}
}

var busyStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable,
	rivertype.JobStateScheduled, rivertype.JobStatePending}

// jobs lists the jobs of a kind in the given states (all busy states when
// none are given).
func (e *env) jobs(kind string, states ...rivertype.JobState) []*rivertype.JobRow {
	e.t.Helper()
	if len(states) == 0 {
		states = busyStates
	}
	p := river.NewJobListParams().States(states...).First(10000)
	if kind != "" {
		p = p.Kinds(kind)
	}
	res, err := e.river.JobList(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Jobs
}

// waitIdle waits until no job waits or runs.
func (e *env) waitIdle(timeout time.Duration) {
	e.t.Helper()
	defer e.dumpJobsIfFailed()
	testutil.WaitFor(e.t, timeout, "no job to wait or run", func() bool { return len(e.jobs("")) == 0 })
}

// dumpJobsIfFailed logs the busy jobs once the test has failed:
// deferred, it shows what a wait that timed out was waiting on.
func (e *env) dumpJobsIfFailed() {
	if e.t.Failed() {
		e.dumpJobs()
	}
}

func (e *env) dumpJobs() {
	for _, j := range e.jobs("") {
		e.t.Logf("job %d %s %s attempt %d/%d scheduled %s meta %s args %s errors %v", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts, j.ScheduledAt.Format(time.RFC3339Nano), j.Metadata, j.EncodedArgs, j.Errors)
	}
}

// offline runs `wearlink normalize` over the connection's raw documents,
// written out one file per collection, and returns the documents it
// prints.
func (e *env) offline(conn store.Connection, tz, asOf string) []string {
	e.t.Helper()
	raws, err := e.st.RawDocuments(e.ctx, conn.ID, nil, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	by := map[string][]json.RawMessage{}
	for _, r := range raws {
		by[r.Collection] = append(by[r.Collection], r.Body)
	}
	dir := e.t.TempDir()
	for coll, docs := range by {
		b, _ := json.Marshal(docs)
		if err := os.WriteFile(filepath.Join(dir, coll+".json"), b, 0o600); err != nil {
			e.t.Fatal(err)
		}
	}
	args := []string{"normalize", "--client-uuid", conn.ClientUUID, "--user-id", conn.UserID, "--as-of", asOf}
	if tz != "" {
		args = append(args, "--time-zone", tz)
	}
	var out, errb bytes.Buffer
	if code := cli.Main(e.ctx, append(args, dir), &out, &errb); code != 0 {
		e.t.Fatalf("wearlink normalize: exit %d: %s", code, errb.String())
	}
	var docs []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line != "" {
			docs = append(docs, canonical(e.t, []byte(line)))
		}
	}
	sort.Strings(docs)
	return docs
}

// stored returns the connection's health documents, canonicalized.
func (e *env) stored(conn store.Connection) []string {
	e.t.Helper()
	hd, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID})
	if err != nil {
		e.t.Fatal(err)
	}
	docs := make([]string, 0, len(hd))
	for _, d := range hd {
		docs = append(docs, canonical(e.t, d.Body))
	}
	sort.Strings(docs)
	return docs
}

// canonical re-encodes a document with sorted keys and without
// document_version, which counts writes and differs by design.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	stripVersion(v)
	out, _ := json.Marshal(v)
	return string(out)
}

func stripVersion(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "document_version")
		for _, c := range x {
			stripVersion(c)
		}
	case []any:
		for _, c := range x {
			stripVersion(c)
		}
	}
}

// asOf applies the engine's rule for undated documents: the local day
// their content last changed.
func (e *env) asOf(conn store.Connection, tz string) string {
	e.t.Helper()
	raws, err := e.st.RawDocuments(e.ctx, conn.ID, []string{oura.CollPersonalInfo, oura.CollRingConfiguration}, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	loc := time.UTC
	if tz != "" {
		loc, _ = time.LoadLocation(tz)
	}
	var newest time.Time
	for _, r := range raws {
		if r.UpdatedAt.After(newest) {
			newest = r.UpdatedAt
		}
	}
	return newest.In(loc).Format(time.DateOnly)
}

// diff describes the first differences between two sorted lists.
func diff(want, got []string) string {
	w, g := map[string]int{}, map[string]int{}
	for _, s := range want {
		w[s]++
	}
	for _, s := range got {
		g[s]++
	}
	var b strings.Builder
	n := 0
	for s, c := range w {
		if g[s] != c && n < 3 {
			fmt.Fprintf(&b, "offline only (%d vs %d): %.400s\n", c, g[s], s)
			n++
		}
	}
	n = 0
	for s, c := range g {
		if w[s] != c && n < 3 {
			fmt.Fprintf(&b, "stored only (%d vs %d): %.400s\n", c, w[s], s)
			n++
		}
	}
	return b.String()
}

// notificationHandler serves a provider's notifications as the API does
// (internal/httpapi), with only the status codes the tests look at.
func notificationHandler(eng *ingest.Engine, dataSource string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out any
		var err error
		if r.Method == http.MethodGet {
			out, err = eng.Challenge(r, dataSource)
		} else {
			var body []byte
			body, err = io.ReadAll(io.LimitReader(r.Body, ingest.MaxNotificationBytes))
			if err == nil {
				var n int
				n, err = eng.HandleNotification(r, dataSource, r.PathValue("token"), body)
				out = map[string]int{"connections": n}
			}
		}
		status := http.StatusOK
		switch health.ErrorCode(err) {
		case "":
		case health.EUNAUTHORIZED:
			status = http.StatusUnauthorized
		case health.EINVALID:
			status = http.StatusBadRequest
		case health.ENOTFOUND:
			status = http.StatusNotFound
		default:
			status = http.StatusInternalServerError
		}
		if err != nil {
			out = map[string]string{"message": health.ErrorMessage(err)}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	})
}
