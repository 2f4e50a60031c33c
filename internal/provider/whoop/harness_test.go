package whoop_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/httpapi"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	testharness "github.com/wearlink/wearlink/internal/testutil/harness"
)

// simStart is the simulator's frozen "now": simulated time moves only when
// a test advances it, and the engine reads the same clock, so the days a
// backfill covers are the same on every run.
var simStart = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// waitLimit bounds every wait on a condition.
const waitLimit = 45 * time.Second

// harnessConfig varies what a test needs.
type harnessConfig struct {
	Seed         int64
	Users        int
	BackfillDays int
	Faults       sim.Faults
	// Wrap, when set, puts a handler in front of the simulator (the
	// simulator is then served by an httptest server of the test's).
	Wrap func(http.Handler) http.Handler
	// WebhookVia, when set, is given wearlink's WHOOP notification URL and
	// returns the URL the simulator posts its webhooks to instead (a
	// loopback proxy of the test's).
	WebhookVia func(target string) string
	// FetchSettle is the engine's (default 10 ms, so tests run fast;
	// negative: the engine's own default, what wearlink serve runs).
	FetchSettle time.Duration
	// EngineNow, when set, makes the engine's clock, which its OAuth flow
	// shares, from the simulator's (default: the simulator's own).
	EngineNow func(sim func() time.Time) func() time.Time
}

// harness is wearlink wired around the WHOOP simulator the way the
// composition root wires it: the registry of internal/provider/all, the
// ingest engine and delivery on one River client over SQLite, the link
// service and the REST API on one loopback server.
type harness struct {
	t      *testing.T
	ctx    context.Context
	sim    *sim.Server
	simURL string // base URL the app talks to (the simulator or its wrapper)
	st     *sqlite.Store
	reg    *provider.Registry
	prov   provider.Normalizer
	eng    *ingest.Engine
	base   string // wearlink's public URL
	client string // API client uuid
	secret string // its API secret
	recv   *receiver
}

func newHarness(t *testing.T, cfg harnessConfig) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if cfg.Users == 0 {
		cfg.Users = 3
	}
	h := &harness{t: t, ctx: ctx, client: "whoop-e2e-client"}

	// wearlink's listener first: the simulator needs its webhook URL.
	srv := httptest.NewUnstartedServer(nil)
	h.base = "http://" + srv.Listener.Addr().String()

	hookURL := h.base + "/webhooks/" + whoop.DataSource
	if cfg.WebhookVia != nil {
		hookURL = cfg.WebhookVia(hookURL)
	}
	s, err := sim.New(sim.Config{Seed: cfg.Seed, Users: cfg.Users, Clock: sim.NewClock(simStart, 0, nil),
		WebhookURL: hookURL, ScanInterval: -1, DisableRateLimit: true,
		// Tokens last WHOOP's hour of simulated time, and wearlink
		// computes their expiry on the same clock: after the simulated
		// days a test advances, the fetches of one notification find
		// the token expired together and must share one refresh (the
		// simulator, as WHOOP, revokes the tokens a refresh replaces).
		WebhookBackoff: 20 * time.Millisecond, Faults: cfg.Faults})
	if err != nil {
		t.Fatal(err)
	}
	h.sim = s
	if cfg.Wrap == nil {
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		h.simURL = s.Info().BaseURL
	} else {
		front := httptest.NewServer(cfg.Wrap(s))
		t.Cleanup(front.Close)
		h.simURL = front.URL
	}
	// Closed last (cleanups run in reverse): nothing may still post to
	// wearlink or read the simulator while the rest stops.
	t.Cleanup(func() { _ = s.Close() })

	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.New(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), sqlite.FileName), Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h.st = st

	// The client retries fast and often: the faults test relies on the
	// client's own retries, not on River's (whose backoff is seconds).
	wc, err := whoop.New(whoop.ClientConfig{BaseURL: h.simURL + sim.APIPrefix, PerMinute: 1 << 20, PerDay: 1 << 30,
		MaxAttempts: 40, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		HTTPClient: &http.Client{Timeout: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	// One clock for the engine and the OAuth flow: the flow computes the
	// expiries the engine compares with it.
	now := s.Clock().Now
	if cfg.EngineNow != nil {
		now = cfg.EngineNow(now)
	}
	info := s.Info()
	built, err := all.Registry(all.Config{Whoop: &all.WhoopConfig{Client: wc, OAuthBaseURL: h.simURL,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret,
		RedirectURL: h.base + link.CallbackPath(whoop.DataSource), Now: now}})
	if err != nil {
		t.Fatal(err)
	}
	h.reg = built.Registry
	p, ok := built.Registry.Lookup(whoop.DataSource)
	if !ok {
		t.Fatal("whoop is not in the registry")
	}
	h.prov = p.(provider.Normalizer)
	flow, ok := built.Flows[whoop.DataSource]
	if !ok {
		t.Fatal("no OAuth flow for whoop")
	}

	days := cfg.BackfillDays
	if days == 0 {
		days = 90
	}
	settle := cfg.FetchSettle
	switch {
	case settle == 0:
		settle = 10 * time.Millisecond
	case settle < 0:
		settle = 0 // the engine's default
	}
	eng, err := ingest.New(ingest.Config{Store: st, Providers: built.Registry, Refreshers: built.Refreshers,
		BackfillDays: days, SingleWriter: true, FetchSettle: settle, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	dsvc, err := delivery.New(delivery.Config{Store: st, SourceName: built.Registry.Name, AllowPrivate: true, Jitter: -1,
		FanoutInterval: 50 * time.Millisecond, Schedule: []time.Duration{100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := jobs.NewClient(riversqlite.New(st.Writer()), jobs.Config{Work: true, TestOnly: true,
		FetchPollInterval: 100 * time.Millisecond,
		Services: []jobs.Registrar{
			eng.Jobs(ingest.JobOptions{}),
			func(w *river.Workers) jobs.Setup {
				rs := dsvc.Register(w)
				return jobs.Setup{Queues: rs.Queues, PeriodicJobs: rs.PeriodicJobs}
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	eng.Attach(rc)
	dsvc.Attach(rc)
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = rc.Stop(sctx)
	})
	ls, err := link.New(link.Config{DataSource: whoop.DataSource, Name: p.Info().Name, Store: st, OAuth: flow, Sync: eng,
		Events: dsvc, PublicURL: h.base, RequiredScopes: p.Info().OAuth.RequiredScopes})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, Sources: httpapi.SourcesOf(built.Registry, map[string]httpapi.Linker{whoop.DataSource: ls}),
		Notifications: eng, Webhooks: dsvc, PublicURL: h.base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = api
	srv.Start()
	t.Cleanup(srv.Close)

	sec, err := secret.NewAPISecret()
	if err != nil {
		t.Fatal(err)
	}
	h.secret = sec
	if err := st.CreateClient(ctx, store.Client{UUID: h.client, Name: "app", SecretHash: secret.HashAPISecret(sec)}); err != nil {
		t.Fatal(err)
	}
	recvSrv := httptest.NewUnstartedServer(nil)
	ep, err := dsvc.AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: h.client, URL: "http://" + recvSrv.Listener.Addr().String() + "/rook"})
	if err != nil {
		t.Fatal(err)
	}
	h.recv = &receiver{secret: ep.Secret}
	recvSrv.Config.Handler = h.recv
	recvSrv.Start()
	t.Cleanup(recvSrv.Close)
	// Runs first: on failure, what the engine and the simulator saw.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		conns, _ := st.ListConnections(context.Background(), "")
		for _, c := range conns {
			t.Logf("connection %d %s: status %q, last error %q", c.ID, c.UserID, c.Status, c.LastError)
		}
		for _, f := range h.failedIngestJobs() {
			t.Logf("job with errors: %s", f)
		}
		t.Logf("simulator webhooks %+v, faults %+v", s.WebhookStats(), s.FaultsInjected())
	})
	return h
}

// get calls wearlink's REST API as the client.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, h.base+path, nil)
	req.SetBasicAuth(h.client, h.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// link links userID to simulated member simUser the way a person does:
// the app asks wearlink for the authorization URL, the browser follows it
// to WHOOP's consent (the simulator approves as simUser, chosen by its
// X-Whoopsim-User header) and back to wearlink's callback. It returns the
// final page's status and body.
func (h *harness) link(userID string, simUser int) (int, string) {
	h.t.Helper()
	code, body := h.get("/api/v1/user_id/" + userID + "/data_source/" + whoop.Name + "/authorizer")
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := json.Unmarshal([]byte(body), &az); code != 200 || err != nil || !strings.HasPrefix(az.AuthorizationURL, h.base+"/connect/"+whoop.DataSource+"?") {
		h.t.Fatalf("authorizer: %d %s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	var hops []string
	browser := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
		return nil
	}}
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, az.AuthorizationURL, nil)
	// Custom headers follow redirects: the simulator's consent reads it.
	req.Header.Set(sim.HeaderAuthorizeUser, strconv.Itoa(simUser))
	resp, err := browser.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The browser went through WHOOP's authorize endpoint and came back
	// to wearlink's callback: the real redirects, not a shortcut.
	if want := []string{h.simURL + "/oauth/oauth2/auth", h.base + link.CallbackPath(whoop.DataSource)}; !containsInOrder(hops, want) {
		h.t.Fatalf("redirects %v do not go through %v", hops, want)
	}
	return resp.StatusCode, string(page)
}

func containsInOrder(have, want []string) bool {
	i := 0
	for _, x := range have {
		if i < len(want) && x == want[i] {
			i++
		}
	}
	return i == len(want)
}

// mustLink links and checks the success page and the active connection.
func (h *harness) mustLink(userID string, simUser int) store.Connection {
	h.t.Helper()
	code, page := h.link(userID, simUser)
	if code != 200 || !strings.Contains(page, "Your "+whoop.Name+" account is connected") {
		h.t.Fatalf("linking %s ended with %d: %s", userID, code, page)
	}
	conn, err := h.st.FindConnection(h.ctx, h.client, userID, whoop.DataSource)
	want := strconv.FormatInt(h.sim.Info().Users[simUser].UserID, 10)
	if err != nil || conn.ExternalUserID != want || conn.Status != store.StatusActive {
		h.t.Fatalf("connection of %s: %+v %v (want WHOOP user %s)", userID, conn, err, want)
	}
	return conn
}

// pendingIngestJobs counts the engine's jobs not finished yet.
func (h *harness) pendingIngestJobs() int { return testharness.PendingIngestJobs(h.t, h.st.Writer()) }

// failedIngestJobs lists the engine's jobs that gave up or recorded an
// error on some attempt.
func (h *harness) failedIngestJobs() []string {
	return testharness.FailedIngestJobs(h.t, h.st.Writer())
}

// ingestJobs counts the engine's jobs of these kinds, finished or not.
func (h *harness) ingestJobs(kinds ...string) int {
	h.t.Helper()
	total := 0
	for _, k := range kinds {
		var n int
		if err := h.st.Writer().QueryRowContext(h.ctx, `SELECT count(*) FROM river_job WHERE kind = ?`, k).Scan(&n); err != nil {
			h.t.Fatal(err)
		}
		total += n
	}
	return total
}

// The kinds a notification enqueues, and every kind a connection's sync
// runs (the periodic check for due polls is left out: River runs it when
// it starts, whatever the tests do).
var (
	notifiedKinds = []string{"ingest_fetch", "ingest_delete"}
	syncKinds     = []string{"ingest_backfill", "ingest_fetch", "ingest_delete", "ingest_poll", "ingest_resync"}
)

// waitBackfilled waits until every connection's backfill finished and no
// engine job is left.
func (h *harness) waitBackfilled(userIDs ...string) {
	h.t.Helper()
	testutil.WaitFor(h.t, waitLimit, "the backfills of "+strings.Join(userIDs, ", "), func() bool {
		for _, u := range userIDs {
			conn, err := h.st.FindConnection(h.ctx, h.client, u, whoop.DataSource)
			if err != nil || !ingest.CursorsOf(conn).Backfilled() {
				return false
			}
		}
		return h.pendingIngestJobs() == 0
	})
}

// waitIdle waits until no engine job is left.
func (h *harness) waitIdle(what string) {
	h.t.Helper()
	testutil.WaitFor(h.t, waitLimit, what, func() bool { return h.pendingIngestJobs() == 0 })
}

// rawKey names a raw record independently of the connection holding it.
type rawKey struct{ Collection, ID, Day string }

// rawRecords reads a connection's raw records: key to body hash.
func (h *harness) rawRecords(connID int64) map[rawKey]string {
	h.t.Helper()
	docs, err := h.st.RawDocuments(h.ctx, connID, nil, "", "")
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(map[rawKey]string, len(docs))
	for _, d := range docs {
		k := rawKey{d.Collection, d.ExternalID, d.Day}
		if _, dup := out[k]; dup {
			h.t.Fatalf("raw record %+v stored twice", k)
		}
		out[k] = fmt.Sprintf("%x", sha256.Sum256(d.Body))
	}
	return out
}

// offline normalizes a connection's stored raw records all at once, with
// the provider's own Normalizer and the options the engine uses
// (testharness.Offline).
func (h *harness) offline(conn store.Connection) map[string]health.Doc {
	h.t.Helper()
	return testharness.Offline(h.t, h.ctx, h.st, h.prov, conn)
}

var docKey = testharness.DocKey

// stored reads a user's health documents by key.
func (h *harness) stored(userID string) map[string]store.HealthDocument {
	h.t.Helper()
	docs, err := h.st.GetHealthDocuments(h.ctx, store.HealthQuery{ClientUUID: h.client, UserID: userID})
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(map[string]store.HealthDocument, len(docs))
	for _, d := range docs {
		out[docKey(d.DataStructure, d.Pillar, d.Key)] = d
	}
	return out
}

// encodeAt is the body a normalized document has when stored at version v.
func encodeAt(t *testing.T, d health.Doc, v int) []byte {
	t.Helper()
	d.Envelope().DocumentVersion = v
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sleepSummary is the stored sleep_summary of a user's day.
func (h *harness) sleepSummary(userID, day string) (store.HealthDocument, bool) {
	h.t.Helper()
	docs, err := h.st.GetHealthDocuments(h.ctx, store.HealthQuery{ClientUUID: h.client, UserID: userID, DataStructure: "sleep_summary", Day: day})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(docs) != 1 {
		return store.HealthDocument{}, false
	}
	return docs[0], true
}

// notify posts a notification to wearlink's WHOOP webhook route, signed
// with secret at the given time.
func (h *harness) notify(body []byte, secret string, at time.Time) int {
	h.t.Helper()
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+"/webhooks/"+whoop.DataSource, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sim.HeaderSignatureTimestamp, ts)
	req.Header.Set(sim.HeaderSignature, sim.Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// delivered is one webhook delivery the app received.
type delivered struct {
	Body     []byte
	Verified bool
	Doc      struct {
		DataStructure   string `json:"data_structure"`
		UserID          string `json:"user_id"`
		DocumentVersion int    `json:"document_version"`
	}
}

// receiver is the app's webhook endpoint. It checks each delivery's
// Standard Webhooks signature (HMAC-SHA256 of "id.timestamp.body" under
// the base64 key after "whsec_") and keeps every body.
type receiver struct {
	secret string
	mu     sync.Mutex
	got    []delivered
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	d := delivered{Body: b, Verified: r.verify(req.Header, b)}
	_ = json.Unmarshal(b, &d.Doc)
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	if !d.Verified {
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func (r *receiver) verify(hd http.Header, body []byte) bool {
	id, ts := hd.Get("webhook-id"), hd.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.", id, ts)
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, s := range strings.Fields(hd.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// all returns what arrived so far.
func (r *receiver) all() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// find returns a verified delivery with exactly this body.
func (r *receiver) has(body []byte) bool {
	for _, d := range r.all() {
		if d.Verified && bytes.Equal(d.Body, body) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
