package withings_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
	testharness "github.com/wearlink/wearlink/internal/testutil/harness"
)

// TestBenchWithingsFleet measures Withings' request budget under
// wearlink's production sync settings: WEARLINK_BENCH_USERS simulated
// users (default 60, about 4 minutes on 2 shared cores; at most
// sim.MaxUsers) link through the real OAuth redirects, are subscribed to
// notifications at the deployment's tokened callback URL and backfilled 3
// days; then WEARLINK_BENCH_DAYS simulated days (default 7) pass in 1-hour
// steps. After each step the simulator notifies the subscribed callbacks
// of the data that appeared (weigh-ins, blood pressures, nights, workouts,
// finished days of activity), the jobs the notifications start run, then
// the poll check the periodic job would run (gap reads, reconciliation,
// the weekly device read) and its jobs. The simulator's rate limit is off
// and the client's budget too: requests are counted, not waited for.
//
// It reports requests per user per day (mean and heaviest user), by
// action, token refreshes apart, the requests refused, the busiest
// simulated hour, the documents missing or different compared with a
// clean read of the simulator right after the last step and after one
// poll check with the engine's clock 6 h and 42 h ahead (no new data
// appears), and how many users one application's 120 requests a minute
// serve.
//
//	WEARLINK_BENCH=1 go test ./internal/provider/withings -run TestBenchWithingsFleet -v -count=1 -timeout 40m
func TestBenchWithingsFleet(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") == "" {
		t.Skip("set WEARLINK_BENCH=1 to run")
	}
	users := min(fleetEnvInt("WEARLINK_BENCH_USERS", 60), sim.MaxUsers)
	days := fleetEnvInt("WEARLINK_BENCH_DAYS", 7)
	benchWithingsFleet(t, users, days)
}

func fleetEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// withingsPerMinute is the application's limit (NOTES.md, rate limit):
// 120 requests a minute, and no daily cap is published.
const withingsPerMinute = 120

// fleetStart is the simulated instant the fleet links at.
var fleetStart = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// fleet is wearlink wired around the Withings simulator as the
// composition root wires it, with a meter in front of the simulator.
type fleet struct {
	*e2e
	ahead *atomic.Int64 // how far the engine's clock runs ahead of the simulator's
	front string        // the meter's URL: the simulator as wearlink sees it
}

func newFleet(t *testing.T, users int, m *fleetMeter) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clock := testutil.NewClock(fleetStart)
	f := &fleet{ahead: new(atomic.Int64)}
	engineNow := func() time.Time { return clock.Now().Add(time.Duration(f.ahead.Load())) }

	// Ten days of history cover the 3-day backfill. Notifications retry
	// fast: a failed one shows in the counts, not in the wall time.
	s, err := sim.New(sim.Config{Seed: 43, Users: users, Now: clock.Now, RateLimit: -1, Days: 10,
		NotifyRetryDelays: []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond},
		HTTPClient:        &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	m.learn(s.Info().Users)
	front := httptest.NewServer(m.wrap(s))
	f.front = front.URL
	// Cleanups run in reverse: the simulator stops notifying last.
	t.Cleanup(func() { _ = s.Close() })
	t.Cleanup(front.Close)

	// As internal/app builds it (its budget on real time), but with no
	// budget to speak of: a measurement that runs days in minutes would
	// otherwise wait for it. The engine keeps its defaults (fetch settle
	// 200 ms, gap grace 2 h, reconciliation 14 days, 6 h when silent for
	// 36 h), as wearlink serve runs it.
	f.e2e = wireWearlink(t, ctx, &e2e{t: t, ctx: ctx, client: "withings-fleet-client", clock: clock, sim: s}, wiring{
		apiURL: f.front, now: engineNow,
		client: withings.ClientConfig{PerMinute: 1 << 20, MaxRetryAfter: 5 * time.Second},
		engine: func(c *ingest.Config) { c.BackfillDays = 3 },
	})
	return f
}

func (f *fleet) pending() int { return testharness.PendingIngestJobs(f.t, f.st.Writer()) }

func (f *fleet) idle(what string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 10*time.Minute, what, func() bool { return f.pending() == 0 })
}

func (f *fleet) pollCheck() {
	f.t.Helper()
	if _, err := f.eng.EnqueueDuePolls(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.idle("the poll check's jobs")
}

// fleetKey names a raw record apart from the connection holding it.
type fleetKey struct{ Collection, ID, Day string }

func (f *fleet) rawRecords(connID int64) map[fleetKey]string {
	f.t.Helper()
	docs, err := f.st.RawDocuments(f.ctx, connID, nil, "", "")
	if err != nil {
		f.t.Fatal(err)
	}
	out := make(map[fleetKey]string, len(docs))
	for _, d := range docs {
		k := fleetKey{d.Collection, d.ExternalID, d.Day}
		if _, dup := out[k]; dup {
			f.t.Fatalf("raw record %+v stored twice", k)
		}
		out[k] = fmt.Sprintf("%x", sha256.Sum256(d.Body))
	}
	return out
}

func benchWithingsFleet(t *testing.T, users, days int) {
	m := newFleetMeter()
	f := newFleet(t, users, m)
	m.now = f.clock.Now
	h := f.e2e

	t0 := time.Now()
	conns := make([]store.Connection, users)
	ids := make([]string, users)
	for i := range conns {
		ids[i] = "fleet-" + strconv.Itoa(i)
		conns[i] = h.mustLinkVia(ids[i], i, f.front+sim.PathAuthorize)
	}
	testutil.WaitFor(t, 20*time.Minute, "every backfill", func() bool {
		cs, err := f.st.ListConnections(f.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.DataSource == withings.DataSource && !ingest.CursorsOf(c).Backfilled() {
				return false
			}
		}
		return f.pending() == 0
	})
	if fl := testharness.FailedIngestJobs(t, f.st.Writer()); len(fl) > 0 {
		t.Fatalf("engine jobs failed during the link and backfill: %d, first %.300s", len(fl), fl[0])
	}
	subs := len(f.sim.Subscriptions())
	linked := m.snapshot()
	t.Logf("linked, subscribed (%d subscriptions) and backfilled %d users in %s: %d API requests (%s), %d token calls",
		subs, users, time.Since(t0).Round(time.Millisecond), linked.total, fleetCounts(linked.byAction, float64(users)), linked.tokens+linked.codes)
	m.reset()
	notes0 := len(f.sim.Notifications())

	// Simulated time moves an hour at a time (users in eight zones weigh
	// in, sleep and finish their days at different hours); each step
	// announces what appeared, works the notifications' jobs, then runs
	// the poll check.
	wall0 := time.Now()
	steps := days * 24
	announced := 0
	for i := range steps {
		m.setStep(i)
		m.setPhase("notified")
		f.clock.Advance(time.Hour)
		announced += f.sim.Scan()
		f.sim.WaitNotifications()
		f.idle("the notifications' jobs")
		m.setPhase("poll check")
		f.pollCheck()
	}
	m.setPhase("")
	wall := time.Since(wall0)
	m.setStep(-1)
	live := m.snapshot()
	var attempts, failedNotes, undelivered int
	for _, n := range f.sim.Notifications()[notes0:] {
		attempts += n.Attempts
		if n.Attempts > 1 || !n.Delivered {
			failedNotes++
		}
		if !n.Delivered {
			undelivered++
		}
	}
	failed := testharness.FailedIngestJobs(t, f.st.Writer())
	t.Logf("%d simulated days in %s real; %d notifications, %d attempts, %d not delivered at the first attempt, %d never; %d jobs with errors",
		days, wall.Round(time.Millisecond), announced, attempts, failedNotes, undelivered, len(failed))
	for i, fl := range failed {
		if i == 5 {
			break
		}
		t.Logf("job with errors: %.300s", fl)
	}

	// The clean read: every collection of every user straight from the
	// simulator (not through the meter) with its ready token, from the
	// first backfilled day to two days past the simulated now.
	cleanSrv := httptest.NewServer(f.sim)
	t.Cleanup(cleanSrv.Close)
	cc, err := withings.New(withings.ClientConfig{BaseURL: cleanSrv.URL, PerMinute: 1 << 20, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := withings.NewProvider(withings.Config{Client: cc, AuthURL: cleanSrv.URL + sim.PathAuthorize})
	if err != nil {
		t.Fatal(err)
	}
	to := f.clock.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	want := make([]map[fleetKey]string, users)
	wanted := 0
	for i, c := range conns {
		c, err := f.st.GetConnection(f.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		from, _, _ := strings.Cut(c.Cursors["backfill"], "/")
		want[i] = fleetCleanRead(t, f.ctx, cp, provider.StaticToken(f.sim.Tokens()[i].AccessToken), from, to)
		wanted += len(want[i])
	}
	check := func() (missing, different int, byColl map[string]int) {
		byColl = map[string]int{}
		for i, c := range conns {
			got := f.rawRecords(c.ID)
			for k, hash := range want[i] {
				g, ok := got[k]
				switch {
				case !ok:
					missing++
					byColl[k.Collection+" missing"]++
				case g != hash:
					different++
					byColl[k.Collection+" different"]++
				}
			}
		}
		return missing, different, byColl
	}
	missing0, diff0, by0 := check()
	// No new data from here on: the engine's clock moves, the simulator's
	// does not. 6 h: the gap reads.
	m.setStep(-1)
	before := m.snapshot().total
	f.ahead.Store(int64(6 * time.Hour))
	f.pollCheck()
	missing6, diff6, by6 := check()
	after6 := m.snapshot().total
	// 36 h more: the notifications count as silent and every notified
	// collection not read for 6 h is read.
	f.ahead.Store(int64(42 * time.Hour))
	f.pollCheck()
	missing42, diff42, by42 := check()
	after42 := m.snapshot().total

	userDays := float64(users * days)
	perUserDay := float64(live.total) / userDays
	tokPerUserDay := float64(live.tokens) / userDays
	heaviest, heaviestAll := 0, 0
	for u := range users {
		heaviest = max(heaviest, live.perUser[u])
		heaviestAll = max(heaviestAll, live.perUser[u]+live.tokensPerUser[u])
	}
	busiest, busiestAll := 0, 0
	for i := range live.perStep {
		busiest = max(busiest, live.perStep[i])
		busiestAll = max(busiestAll, live.perStep[i]+live.tokensPerStep[i])
	}
	userHour := 0
	for _, n := range live.perUserStep {
		userHour = max(userHour, n)
	}
	// A fleet in one zone: the busiest hour of the users of each zone,
	// whose mornings and nights coincide.
	zoneOf := map[int]string{}
	zoneUsers := map[string]int{}
	for _, u := range f.sim.Info().Users {
		zoneOf[u.Index] = u.Timezone
		zoneUsers[u.Timezone]++
	}
	zonePeak, zonePeakAll, peakZone := 0.0, 0.0, ""
	for z, n := range zoneUsers {
		for i := range live.perStep {
			api, all := 0, 0
			for u := range users {
				if zoneOf[u] == z {
					api += live.perUserStep[[2]int{u, i}]
					all += live.perUserStep[[2]int{u, i}] + live.tokensPerUserStep[[2]int{u, i}]
				}
			}
			if r := float64(all) / float64(n); r > zonePeakAll {
				zonePeakAll, zonePeak, peakZone = r, float64(api)/float64(n), z
			}
		}
	}
	perDay := float64(withingsPerMinute * 60 * 24)
	perHour := float64(withingsPerMinute * 60)
	allPerUserDay := perUserDay + tokPerUserDay

	t.Logf("RESULT withings fleet: %d users x %d days", users, days)
	t.Logf("RESULT link and backfill (3 days): %.2f API requests per user (%s), %.2f token calls per user; %.2f per user start after the simulated now",
		float64(linked.total)/float64(users), fleetCounts(linked.byAction, float64(users)), float64(linked.tokens+linked.codes)/float64(users),
		float64(linked.future)/float64(users))
	t.Logf("RESULT notifications: %d sent, %.2f per user per day; %d attempts, %d retried or lost, %d never delivered",
		announced, float64(announced)/userDays, attempts, failedNotes, undelivered)
	t.Logf("RESULT API requests, all users, %d days: %d; %d token refreshes; %d of no known user", days, live.total, live.tokens, live.unknown)
	t.Logf("RESULT refused: %d %v", live.refused, live.refusedBy)
	t.Logf("RESULT requests per user per day: %.2f mean (heaviest user %.2f); token refreshes %.2f; both %.2f (heaviest %.2f)",
		perUserDay, float64(heaviest)/float64(days), tokPerUserDay, allPerUserDay, float64(heaviestAll)/float64(days))
	t.Logf("RESULT by action, per user per day: %s", fleetCounts(live.byAction, userDays))
	t.Logf("RESULT by phase and action, per user per day: %s", fleetCounts(live.byPhase, userDays))
	t.Logf("RESULT requests whose window starts after the simulated now: %d (%.2f per user per day): %s",
		live.future, float64(live.future)/userDays, fleetCounts(live.futureBy, userDays))
	t.Logf("RESULT busiest simulated hour: %d API requests = %.3f per user (%d = %.3f with token refreshes); one user's busiest hour %d",
		busiest, float64(busiest)/float64(users), busiestAll, float64(busiestAll)/float64(users), userHour)
	t.Logf("RESULT documents missing / different right after the last step: %d / %d of %d %v", missing0, diff0, wanted, by0)
	t.Logf("RESULT 6 h later (no new data, one poll check, %d requests): %d / %d %v", after6-before, missing6, diff6, by6)
	t.Logf("RESULT 42 h later (notifications silent, one poll check, %d requests): %d / %d %v", after42-after6, missing42, diff42, by42)
	t.Logf("RESULT users per Withings application, daily mean: %.0f / %.2f = %.0f (%.0f / %.2f = %.0f with token refreshes)",
		perDay, perUserDay, perDay/perUserDay, perDay, allPerUserDay, perDay/allPerUserDay)
	t.Logf("RESULT users per Withings application, busiest hour: %.0f / %.3f = %.0f (with token refreshes: %.0f)",
		perHour, float64(busiest)/float64(users), perHour/(float64(busiest)/float64(users)), perHour/(float64(busiestAll)/float64(users)))
	t.Logf("RESULT busiest simulated hour of the users of one zone (%s): %.3f API requests per user, %.3f with token refreshes: 7200 / %.3f = %.0f users",
		peakZone, zonePeak, zonePeakAll, zonePeakAll, perHour/zonePeakAll)
	t.Logf("RESULT wall: %s for the %d days", wall.Round(time.Second), days)

	// Devices are read weekly and their last session moves every day: a
	// stale device is the schedule, not a loss. Anything else still
	// missing or different once every notified collection was read is.
	lost := 0
	for k, n := range by42 {
		if !strings.HasPrefix(k, withings.CollDevice+" ") {
			lost += n
		}
	}
	if lost > 0 {
		t.Errorf("%d documents missing or different after every notified collection was read: %v", lost, by42)
	}
	if live.refused > 0 {
		t.Errorf("%d requests refused during the live days: %v", live.refused, live.refusedBy)
	}
}

// mustLinkVia links as mustLink does, through the authorize page at
// authorizeURL (the meter's, which the end-to-end test's does not name).
func (h *e2e) mustLinkVia(userID string, simUser int, authorizeURL string) store.Connection {
	h.t.Helper()
	code, body := h.get("/api/v1/user_id/" + userID + "/data_source/" + withings.Name + "/authorizer")
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := json.Unmarshal([]byte(body), &az); code != 200 || err != nil {
		h.t.Fatalf("authorizer: %d %s", code, body)
	}
	var hops []string
	jar, _ := cookiejar.New(nil)
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
	if want := []string{authorizeURL, h.base + link.CallbackPath(withings.DataSource)}; !inOrder(hops, want) {
		h.t.Fatalf("redirects %v do not go through %v", hops, want)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Your "+withings.Name+" account is connected") {
		h.t.Fatalf("linking %s ended with %d: %s", userID, resp.StatusCode, page)
	}
	conn, err := h.st.FindConnection(h.ctx, h.client, userID, withings.DataSource)
	want := strconv.FormatInt(h.sim.Info().Users[simUser].UserID, 10)
	if err != nil || conn.ExternalUserID != want || conn.Status != store.StatusActive {
		h.t.Fatalf("connection of %s: %+v %v (want Withings user %s)", userID, conn, err, want)
	}
	return conn
}

// fleetCleanRead reads every collection of one user the way the provider
// does over days from..to: key to body hash.
func fleetCleanRead(t *testing.T, ctx context.Context, p *withings.Provider, a provider.Auth, from, to string) map[fleetKey]string {
	t.Helper()
	out := map[fleetKey]string{}
	for _, c := range p.Collections() {
		docs, err := p.Fetch(ctx, a, c.Name, provider.Window{From: from, To: to})
		if err != nil {
			t.Fatalf("clean read of %s: %v", c.Name, err)
		}
		for _, d := range docs {
			k := fleetKey{d.Collection, d.ID, string(d.Day)}
			if _, dup := out[k]; dup {
				t.Fatalf("clean read: %+v twice", k)
			}
			out[k] = fmt.Sprintf("%x", sha256.Sum256(d.Raw))
		}
	}
	return out
}

func fleetCounts(m map[string]int, per float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s %d (%.2f); ", k, m[k], float64(m[k])/per)
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// fleetMeter stands in front of the simulator and counts its requests per
// simulated user. It learns whose a token is from the token endpoint's
// answers, which name the user (userid) they were issued to.
type fleetMeter struct {
	mu    sync.Mutex
	index map[string]int // Withings userid -> simulated user
	owner map[string]int // access token -> simulated user
	now   func() time.Time
	step  int
	phase string // what the requests from now on answer: notifications or the poll check
	c     fleetCountsT
}

type fleetCountsT struct {
	total, tokens, codes, unknown, refused int
	// future counts the requests whose window starts after the
	// simulator's now: nothing can be there yet.
	future                         int
	futureBy                       map[string]int
	perUser, tokensPerUser         map[int]int
	byAction, refusedBy            map[string]int
	byPhase                        map[string]int // phase and action
	perStep, tokensPerStep         []int
	perUserStep, tokensPerUserStep map[[2]int]int
}

func newFleetMeter() *fleetMeter {
	m := &fleetMeter{index: map[string]int{}, owner: map[string]int{}, step: -1}
	m.reset()
	return m
}

func (m *fleetMeter) learn(us []sim.UserInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range us {
		m.index[strconv.FormatInt(u.UserID, 10)] = u.Index
	}
}

func (m *fleetMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c = fleetCountsT{perUser: map[int]int{}, tokensPerUser: map[int]int{}, byAction: map[string]int{},
		refusedBy: map[string]int{}, perUserStep: map[[2]int]int{}, tokensPerUserStep: map[[2]int]int{}, byPhase: map[string]int{}, futureBy: map[string]int{}}
}

// setStep attributes the requests from now on to simulated hour i (-1:
// none).
func (m *fleetMeter) setStep(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.step = i
	for i >= len(m.c.perStep) && i >= 0 {
		m.c.perStep = append(m.c.perStep, 0)
		m.c.tokensPerStep = append(m.c.tokensPerStep, 0)
	}
}

func (m *fleetMeter) setPhase(p string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phase = p
}

func (m *fleetMeter) snapshot() fleetCountsT {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.c
	c.perUser, c.tokensPerUser = maps.Clone(c.perUser), maps.Clone(c.tokensPerUser)
	c.byAction, c.refusedBy = maps.Clone(c.byAction), maps.Clone(c.refusedBy)
	c.perStep, c.tokensPerStep = slices.Clone(c.perStep), slices.Clone(c.tokensPerStep)
	c.perUserStep, c.tokensPerUserStep = maps.Clone(c.perUserStep), maps.Clone(c.tokensPerUserStep)
	c.futureBy, c.byPhase = maps.Clone(c.futureBy), maps.Clone(c.byPhase)
	return c
}

// fleetWriter keeps a response's HTTP status and its first bytes, where
// Withings' body status is.
type fleetWriter struct {
	http.ResponseWriter
	status int
	head   []byte
}

func (w *fleetWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *fleetWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if n := 64 - len(w.head); n > 0 {
		w.head = append(w.head, p[:min(n, len(p))]...)
	}
	return w.ResponseWriter.Write(p)
}

// bodyStatus is the status of a Withings answer ({"status":N,...}), -1
// when the body does not start with one.
func (w *fleetWriter) bodyStatus() int {
	rest, ok := bytes.CutPrefix(w.head, []byte(`{"status":`))
	if !ok {
		return -1
	}
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return -1
	}
	n, _ := strconv.Atoi(string(rest[:end]))
	return n
}

func (m *fleetMeter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == sim.PathAuthorize || strings.HasPrefix(r.URL.Path, "/_sim/") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		for k, v := range r.URL.Query() {
			if !form.Has(k) {
				form[k] = v
			}
		}
		if r.URL.Path == sim.PathOAuth2 {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			out := rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(out)
			var tok struct {
				Status int `json:"status"`
				Body   struct {
					UserID      string `json:"userid"`
					AccessToken string `json:"access_token"`
				} `json:"body"`
			}
			_ = json.Unmarshal(out, &tok)
			m.mu.Lock()
			defer m.mu.Unlock()
			u, known := m.index[tok.Body.UserID]
			if known && tok.Body.AccessToken != "" {
				m.owner[tok.Body.AccessToken] = u
			}
			switch form.Get("grant_type") {
			case "refresh_token":
				m.c.tokens++
				if known {
					m.c.tokensPerUser[u]++
					if m.step >= 0 {
						m.c.tokensPerUserStep[[2]int{u, m.step}]++
					}
				}
				if m.step >= 0 {
					m.c.tokensPerStep[m.step]++
				}
			default:
				m.c.codes++
			}
			if tok.Status != 0 || rec.Code != http.StatusOK {
				m.c.refused++
				m.c.refusedBy["token "+strconv.Itoa(rec.Code)+"/"+strconv.Itoa(tok.Status)]++
			}
			return
		}
		fw := &fleetWriter{ResponseWriter: w}
		next.ServeHTTP(fw, r)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		action := strings.TrimPrefix(r.URL.Path, "/") + " " + form.Get("action")
		if off := form.Get("offset"); off != "" && off != "0" {
			action += " (next page)"
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		u, ok := m.owner[tok]
		m.c.total++
		if !ok {
			m.c.unknown++
		} else {
			m.c.perUser[u]++
			if m.step >= 0 {
				m.c.perUserStep[[2]int{u, m.step}]++
			}
		}
		m.c.byAction[action]++
		if m.phase != "" {
			m.c.byPhase[m.phase+": "+action]++
		}
		if start, err := strconv.ParseInt(form.Get("startdate"), 10, 64); err == nil && m.now != nil && start > m.now().Unix() {
			m.c.future++
			m.c.futureBy[action]++
		}
		if m.step >= 0 {
			m.c.perStep[m.step]++
		}
		if st := fw.bodyStatus(); fw.status != http.StatusOK || st != 0 {
			m.c.refused++
			m.c.refusedBy[action+" "+strconv.Itoa(fw.status)+"/"+strconv.Itoa(st)]++
		}
	})
}
