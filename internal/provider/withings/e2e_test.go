package withings_test

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
	"net/url"
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
	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	testharness "github.com/wearlink/wearlink/internal/testutil/harness"
)

// e2eStart is the simulated "now" of the end-to-end test: the simulator's
// data and the engine's days follow this clock, which only the test moves.
var e2eStart = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// e2eWait bounds every wait on a condition.
const e2eWait = 90 * time.Second

// e2e is wearlink wired around the Withings simulator as the composition
// root wires it: the registry of internal/provider/all, the ingest engine
// and delivery on one River client over SQLite, the link service and the
// REST API (with the notification routes) on one loopback server.
type e2e struct {
	t      *testing.T
	ctx    context.Context
	clock  *testutil.Clock
	sim    *sim.Server
	st     *sqlite.Store
	prov   provider.Normalizer
	p      provider.Provider
	eng    *ingest.Engine
	base   string // wearlink's public URL
	client string
	secret string
	recv   *e2eReceiver
}

func newE2E(t *testing.T, users int, faults sim.Faults) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clock := testutil.NewClock(e2eStart)
	// 80 days of history: the height typed in on the first day is inside
	// the 90-day backfill.
	s, err := sim.New(sim.Config{Seed: 5, Users: users, Now: clock.Now, RateLimit: -1, Days: 80,
		NotifyRetryDelays: []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return wireWearlink(t, ctx, &e2e{t: t, ctx: ctx, client: "withings-e2e-client", clock: clock, sim: s}, wiring{
		apiURL: s.URL(), now: clock.Now,
		// The client retries fast and often: the faults test relies on its
		// own retries, not on River's, whose backoff is seconds. Its budget
		// runs on real time (its default clock): it paces real requests, and
		// the test's clock stands still.
		client: withings.ClientConfig{PerMinute: 1 << 20, MaxAttempts: 40,
			BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, RateLimitWait: 10 * time.Millisecond},
		engine: func(c *ingest.Config) { c.BackfillDays, c.FetchSettle = 90, 10*time.Millisecond },
	})
}

// wiring is what the end-to-end test and the fleet benchmark build
// differently around the same wearlink.
type wiring struct {
	// apiURL is where wearlink reaches the simulator: it, or a meter in
	// front of it.
	apiURL string
	// now is the engine's clock, which its OAuth flow shares.
	now func() time.Time
	// client is the Withings client's configuration (BaseURL is apiURL).
	client withings.ClientConfig
	// engine sets what the test changes of the engine's defaults.
	engine func(*ingest.Config)
}

// wireWearlink builds wearlink around h.sim as the composition root wires
// it: the registry of internal/provider/all, the ingest engine (with the
// public URL and URL tokens that subscribe users to notifications) and
// delivery on one River client over SQLite, the link service and the REST
// API with the notification routes on one loopback server, a client and
// its webhook receiver. It fills in h and returns it.
func wireWearlink(t *testing.T, ctx context.Context, h *e2e, w wiring) *e2e {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	h.base = "http://" + srv.Listener.Addr().String()

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

	info := h.sim.Info()
	w.client.BaseURL = w.apiURL
	wc, err := withings.New(w.client)
	if err != nil {
		t.Fatal(err)
	}
	built, err := all.Registry(all.Config{Withings: &all.WithingsConfig{Client: wc, AuthURL: w.apiURL + sim.PathAuthorize,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret,
		RedirectURL: h.base + link.CallbackPath(withings.DataSource), Now: w.now}})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := built.Registry.Lookup(withings.DataSource)
	if !ok {
		t.Fatal("withings is not in the registry")
	}
	h.prov, h.p = p.(provider.Normalizer), p
	flow, ok := built.Flows[withings.DataSource]
	if !ok {
		t.Fatal("no OAuth flow for withings")
	}
	ecfg := ingest.Config{Store: st, Providers: built.Registry, Refreshers: built.Refreshers,
		SingleWriter: true, Now: w.now, PublicBase: h.base, URLTokens: sealer.Tokens}
	w.engine(&ecfg)
	eng, err := ingest.New(ecfg)
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
	ls, err := link.New(link.Config{DataSource: withings.DataSource, Name: p.Info().Name, Store: st, OAuth: flow, Sync: eng,
		Events: dsvc, PublicURL: h.base, RequiredScopes: p.Info().OAuth.RequiredScopes})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, Sources: httpapi.SourcesOf(built.Registry, map[string]httpapi.Linker{withings.DataSource: ls}),
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
	h.recv = &e2eReceiver{secret: ep.Secret}
	recvSrv.Config.Handler = h.recv
	recvSrv.Start()
	t.Cleanup(recvSrv.Close)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		conns, _ := st.ListConnections(context.Background(), "")
		for i, c := range conns {
			if i == 10 {
				break
			}
			t.Logf("connection %d %s: status %q, last error %q", c.ID, c.UserID, c.Status, c.LastError)
		}
		for _, f := range testharness.FailedIngestJobs(t, st.Writer()) {
			t.Logf("job with errors: %s", f)
		}
	})
	return h
}

// get calls wearlink's REST API as the client.
func (h *e2e) get(path string) (int, string) {
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

// mustLink links userID the way a person does: the app asks for the
// authorization URL, the browser follows it to Withings' consent (the
// simulator approves as the next simulated user not linked yet) and back
// to wearlink's callback. It checks the page and the active connection.
func (h *e2e) mustLink(userID string, simUser int) store.Connection {
	h.t.Helper()
	code, body := h.get("/api/v1/user_id/" + userID + "/data_source/" + withings.Name + "/authorizer")
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := json.Unmarshal([]byte(body), &az); code != 200 || err != nil || !strings.HasPrefix(az.AuthorizationURL, h.base+"/connect/"+withings.DataSource+"?") {
		h.t.Fatalf("authorizer: %d %s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	var hops []string
	browser := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)
		return nil
	}}
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, az.AuthorizationURL, nil)
	resp, err := browser.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	info := h.sim.Info()
	if want := []string{info.AuthorizeURL, h.base + link.CallbackPath(withings.DataSource)}; !inOrder(hops, want) {
		h.t.Fatalf("redirects %v do not go through %v", hops, want)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Your "+withings.Name+" account is connected") {
		h.t.Fatalf("linking %s ended with %d: %s", userID, resp.StatusCode, page)
	}
	conn, err := h.st.FindConnection(h.ctx, h.client, userID, withings.DataSource)
	want := strconv.FormatInt(info.Users[simUser].UserID, 10)
	if err != nil || conn.ExternalUserID != want || conn.Status != store.StatusActive {
		h.t.Fatalf("connection of %s: %+v %v (want Withings user %s)", userID, conn, err, want)
	}
	return conn
}

func inOrder(have, want []string) bool {
	i := 0
	for _, x := range have {
		if i < len(want) && x == want[i] {
			i++
		}
	}
	return i == len(want)
}

func (h *e2e) pending() int { return testharness.PendingIngestJobs(h.t, h.st.Writer()) }

// waitBackfilled waits until every connection's backfill finished and no
// engine job is left.
func (h *e2e) waitBackfilled(userIDs ...string) {
	h.t.Helper()
	testutil.WaitFor(h.t, e2eWait, "the backfills of "+strings.Join(userIDs, ", "), func() bool {
		for _, u := range userIDs {
			conn, err := h.st.FindConnection(h.ctx, h.client, u, withings.DataSource)
			if err != nil || !ingest.CursorsOf(conn).Backfilled() {
				return false
			}
		}
		return h.pending() == 0
	})
}

// stored reads a user's health documents by key.
func (h *e2e) stored(userID string) map[string]store.HealthDocument {
	h.t.Helper()
	docs, err := h.st.GetHealthDocuments(h.ctx, store.HealthQuery{ClientUUID: h.client, UserID: userID})
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(map[string]store.HealthDocument, len(docs))
	for _, d := range docs {
		out[testharness.DocKey(d.DataStructure, d.Pillar, d.Key)] = d
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

// post sends a form to wearlink as Withings would, unsigned.
func (h *e2e) post(path string, form url.Values) int {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// e2eReceiver is the app's webhook endpoint: it checks each delivery's
// Standard Webhooks signature and keeps every body.
type e2eReceiver struct {
	secret string
	mu     sync.Mutex
	got    [][]byte
	bad    int
}

func (r *e2eReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	ok := r.verify(req.Header, b)
	r.mu.Lock()
	if ok {
		r.got = append(r.got, b)
	} else {
		r.bad++
	}
	r.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func (r *e2eReceiver) verify(hd http.Header, body []byte) bool {
	id, ts := hd.Get("webhook-id"), hd.Get("webhook-timestamp")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if id == "" || ts == "" || err != nil {
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

// has reports whether a verified delivery with exactly this body arrived.
func (r *e2eReceiver) has(body []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.got {
		if bytes.Equal(b, body) {
			return true
		}
	}
	return false
}

// TestWithingsEndToEnd runs Withings the whole way against its simulator:
//
//  1. three people link through the real OAuth redirects, each is
//     subscribed to the notification categories of the granted scopes at
//     a callback URL carrying the deployment's token, each is backfilled
//     90 days, and every stored health document is byte for byte what the
//     provider's Normalizer makes offline from the stored raw records;
//  2. a new weigh-in reaches the app as a signed ROOK body_summary, through
//     Withings' unsigned notification to that URL;
//  3. a notification to any other URL is 404; one for an unknown user or
//     category is 200 and changes nothing.
func TestWithingsEndToEnd(t *testing.T) {
	h := newE2E(t, 3, sim.Faults{})
	users := []string{"withings-user-0", "withings-user-1", "withings-user-2"}
	conns := make([]store.Connection, len(users))
	for i, u := range users {
		conns[i] = h.mustLink(u, i)
	}
	h.waitBackfilled(users...)
	if f := testharness.FailedIngestJobs(t, h.st.Writer()); len(f) > 0 {
		t.Fatalf("engine jobs failed on a clean run: %v", f)
	}
	callback := h.eng.UserCallbackURL(withings.DataSource)
	if !strings.HasPrefix(callback, h.base+"/webhooks/withings/") || len(callback) < len(h.base+"/webhooks/withings/")+32 {
		t.Fatalf("callback URL %q carries no token", callback)
	}

	t.Run("subscribed per user at the tokened URL", func(t *testing.T) {
		got := map[int][]int{}
		for _, s := range h.sim.Subscriptions() {
			if s.URL != callback {
				t.Errorf("user %d subscribed appli %d at %q, want %q", s.UserIndex, s.Appli, s.URL, callback)
			}
			got[s.UserIndex] = append(got[s.UserIndex], s.Appli)
		}
		for i := range users {
			sort.Ints(got[i])
			for _, appli := range []int{withings.AppliWeight, withings.AppliPressure, withings.AppliActivity, withings.AppliSleep} {
				if !contains(got[i], appli) {
					t.Errorf("user %d is not subscribed to appli %d: %v", i, appli, got[i])
				}
			}
		}
	})

	t.Run("backfill equals offline normalization", func(t *testing.T) {
		for i, u := range users {
			conn, err := h.st.FindConnection(h.ctx, h.client, u, withings.DataSource)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = conn
			raws, err := h.st.RawDocuments(h.ctx, conn.ID, nil, "", "")
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int{}
			for _, r := range raws {
				counts[r.Collection]++
			}
			for _, c := range []string{withings.CollMeasure, withings.CollActivity, withings.CollSleepSummary, withings.CollSleep, withings.CollDevice} {
				if counts[c] == 0 {
					t.Errorf("%s: no raw %s records after a 90-day backfill (%v)", u, c, counts)
				}
			}
			want := testharness.Offline(t, h.ctx, h.st, h.prov, conn)
			got := h.stored(u)
			if len(got) == 0 {
				t.Fatalf("%s: no health documents stored", u)
			}
			structures := map[string]bool{}
			for _, k := range sortedKeys(want) {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s: %s made offline, not stored", u, k)
					continue
				}
				structures[g.DataStructure] = true
				if w := encodeAt(t, want[k], g.Version); !bytes.Equal(w, g.Body) {
					t.Errorf("%s: %s differs from offline normalization\nstored:  %s\noffline: %s", u, k, g.Body, w)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: %s stored, not made offline", u, k)
				}
			}
			// The height has no day and is read with every day: weigh-ins
			// after it have a BMI.
			bmi := 0
			for _, g := range got {
				if g.DataStructure == "body_summary" && bytes.Contains(g.Body, []byte(`"bmi_float":`)) && !bytes.Contains(g.Body, []byte(`"bmi_float":null`)) {
					bmi++
				}
			}
			if bmi == 0 {
				t.Errorf("%s: no body_summary with a BMI", u)
			}
			heights := 0
			for _, r := range raws {
				if r.Collection == withings.CollMeasure && r.Day == "" {
					heights++
				}
			}
			if heights != 1 {
				t.Errorf("%s: %d measure groups stored without a day, want the one height", u, heights)
			}
			for _, ds := range []string{"body_summary", "sleep_summary", "physical_summary"} {
				if !structures[ds] {
					t.Errorf("%s: no %s stored (%v)", u, ds, structures)
				}
			}
			t.Logf("%s: %d raw records %v, %d health documents equal", u, len(raws), counts, len(got))
		}
		if code, body := h.get("/api/v2/user_id/" + users[0] + "/data_sources/authorized"); code != 200 || !strings.Contains(body, `{"data_source":"Withings","status":true`) {
			t.Errorf("authorized: %d %s", code, body)
		}
	})

	t.Run("a new weigh-in arrives by notification", func(t *testing.T) {
		const who = 1
		before := len(h.sim.Notifications())
		at := h.clock.Now().Add(-10 * time.Minute)
		g, err := h.sim.AddWeighIn(who, at)
		if err != nil {
			t.Fatal(err)
		}
		h.sim.WaitNotifications()
		if n := h.sim.Notifications(); len(n) <= before {
			t.Fatalf("the simulator sent no notification for the weigh-in")
		}
		grp := strconv.FormatInt(g.GrpID, 10)
		testutil.WaitFor(t, e2eWait, "the notified weigh-in in the store", func() bool {
			_, err := h.st.RawDocument(h.ctx, conns[who].ID, withings.CollMeasure, grp)
			return err == nil
		})
		testutil.WaitFor(t, e2eWait, "the notification's jobs", func() bool { return h.pending() == 0 })
		want := testharness.Offline(t, h.ctx, h.st, h.prov, conns[who])
		var body store.HealthDocument
		for k, d := range h.stored(users[who]) {
			if d.DataStructure != "body_summary" || want[k] == nil || !bytes.Contains(d.Body, []byte(grp)) {
				continue
			}
			body = d
			if w := encodeAt(t, want[k], d.Version); !bytes.Equal(w, d.Body) {
				t.Fatalf("body summary\nstored:  %s\noffline: %s", d.Body, w)
			}
		}
		if body.Body == nil {
			t.Fatalf("no stored body_summary carries measure group %s", grp)
		}
		testutil.WaitFor(t, e2eWait, "the weigh-in's body_summary at the app", func() bool { return h.recv.has(body.Body) })
	})

	t.Run("reconciliation reads what changed", func(t *testing.T) {
		// User 2 misses a notification (its subscriptions are gone) of a
		// weigh-in entered now for a day three weeks back, which no read
		// of recent days would see.
		const who = 2
		tok := h.sim.Info().Users[who].AccessToken
		if err := h.p.(provider.UserSubscriber).UnsubscribeUser(h.ctx, provider.StaticToken(tok), ""); err != nil {
			t.Fatal(err)
		}
		g, err := h.sim.AddWeighIn(who, h.clock.Now().AddDate(0, 0, -21))
		if err != nil {
			t.Fatal(err)
		}
		h.sim.WaitNotifications()
		grp := strconv.FormatInt(g.GrpID, 10)
		if _, err := h.st.RawDocument(h.ctx, conns[who].ID, withings.CollMeasure, grp); err == nil {
			t.Fatal("the weigh-in was read without a notification or a poll")
		}
		// Two silent days later the engine's reconciliation is due.
		h.clock.Advance(48 * time.Hour)
		if _, err := h.eng.EnqueueDuePolls(h.ctx); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, e2eWait, "the reconciliation's jobs", func() bool { return h.pending() == 0 })
		if _, err := h.st.RawDocument(h.ctx, conns[who].ID, withings.CollMeasure, grp); err != nil {
			t.Fatalf("the weigh-in of three weeks back is not stored after the reconciliation: %v", err)
		}
	})

	t.Run("bad notifications", func(t *testing.T) {
		uid := strconv.FormatInt(h.sim.Info().Users[0].UserID, 10)
		form := url.Values{"userid": {uid}, "appli": {"1"}, "startdate": {"1749980000"}, "enddate": {"1749980001"}}
		path := strings.TrimPrefix(callback, h.base)
		for _, tc := range []struct {
			path string
			form url.Values
			want int
		}{
			{"/webhooks/withings", form, 404},
			{"/webhooks/withings/" + strings.Repeat("A", 32), form, 404},
			{path + "x", form, 404},
			{path, url.Values{"userid": {"999999999"}, "appli": {"1"}, "startdate": {"1749980000"}, "enddate": {"1749980001"}}, 200},
			{path, url.Values{"userid": {uid}, "appli": {"77"}, "startdate": {"1749980000"}, "enddate": {"1749980001"}}, 200},
		} {
			jobsBefore := h.pending()
			if code := h.post(tc.path, tc.form); code != tc.want {
				t.Errorf("POST %s %s: %d, want %d", tc.path, tc.form.Encode(), code, tc.want)
			}
			if n := h.pending(); n != jobsBefore {
				t.Errorf("POST %s %s enqueued %d jobs", tc.path, tc.form.Encode(), n-jobsBefore)
			}
		}
	})
}

// TestWithingsFaults: with 5xx answers, truncated bodies and bursts of
// status 601 all through the backfill, every document of the window is
// stored once, and the health documents are what the normalizer makes of
// them.
func TestWithingsFaults(t *testing.T) {
	h := newE2E(t, 1, sim.Faults{ErrorRate: 0.05, TruncateRate: 0.05, BurstRate: 0.02, BurstLength: 3})
	conn := h.mustLink("withings-faults", 0)
	h.waitBackfilled("withings-faults")
	injected := h.sim.FaultsInjected()
	if injected.RateLimited == 0 || injected.ServerError == 0 || injected.Truncated == 0 {
		t.Fatalf("faults injected %+v: want some of each", injected)
	}
	if err := h.sim.SetFaults(sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	// What a clean read of the same window gives.
	tok := h.sim.Info().Users[0].AccessToken
	loc, err := time.LoadLocation(h.sim.Info().Users[0].Timezone)
	if err != nil {
		t.Fatal(err)
	}
	w := provider.Window{From: e2eStart.AddDate(0, 0, -89).Format(time.DateOnly), To: e2eStart.Format(time.DateOnly), Loc: loc}
	want := map[string]bool{}
	for _, c := range h.p.Collections() {
		docs, err := h.p.Fetch(h.ctx, provider.StaticToken(tok), c.Name, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			want[d.Collection+"/"+d.ID] = true
		}
	}
	raws, err := h.st.RawDocuments(h.ctx, conn.ID, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range raws {
		k := r.Collection + "/" + r.ExternalID
		if got[k] {
			t.Errorf("%s stored twice", k)
		}
		got[k] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s lost", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s stored, not in a clean read of the window", k)
		}
	}
	conn, _ = h.st.FindConnection(h.ctx, h.client, "withings-faults", withings.DataSource)
	offline := testharness.Offline(t, h.ctx, h.st, h.prov, conn)
	stored := h.stored("withings-faults")
	if len(stored) != len(offline) {
		t.Errorf("%d health documents stored, %d made offline", len(stored), len(offline))
	}
	for k, d := range offline {
		g, ok := stored[k]
		if !ok {
			t.Errorf("%s made offline, not stored", k)
			continue
		}
		if w := encodeAt(t, d, g.Version); !bytes.Equal(w, g.Body) {
			t.Errorf("%s differs from offline normalization", k)
		}
	}
	t.Logf("faults injected %+v; %d raw documents, %d health documents", injected, len(raws), len(stored))
}

// TestWithingsRevokeUnsubscribes: revoking a user's authorization ends
// their notification subscriptions at Withings, and only theirs.
func TestWithingsRevokeUnsubscribes(t *testing.T) {
	h := newE2E(t, 2, sim.Faults{})
	h.mustLink("withings-a", 0)
	h.mustLink("withings-b", 1)
	h.waitBackfilled("withings-a", "withings-b")
	count := func() map[int]int {
		n := map[int]int{}
		for _, s := range h.sim.Subscriptions() {
			n[s.UserIndex]++
		}
		return n
	}
	if n := count(); n[0] == 0 || n[1] == 0 {
		t.Fatalf("subscriptions before the revocation: %v", n)
	}
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+"/api/v1/user_id/withings-a/data_sources/revoke_auth",
		strings.NewReader(`{"data_source":"Withings"}`))
	req.SetBasicAuth(h.client, h.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, b)
	}
	if n := count(); n[0] != 0 || n[1] == 0 {
		t.Fatalf("subscriptions after revoking user 0: %v", n)
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
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
