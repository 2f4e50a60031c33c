package whoop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
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

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// TestBenchWhoopFleet measures WHOOP's request budget under wearlink's
// production sync settings: WEARLINK_BENCH_USERS simulated members
// (default 100, about 5 minutes a run on 2 shared cores; at most 1000)
// link through OAuth and are backfilled 3
// days, then live WEARLINK_BENCH_DAYS simulated days (default 7) in 1-hour
// steps. After each step the simulator sends the webhooks of the scores
// that appeared (sleep, recovery, workout), the jobs they start run, then
// the poll check the periodic job would run (cycles every 6 h, the
// singletons, gap reads, reconciliation) and its jobs. Twice: every webhook
// delivered, and 5% of them lost on purpose (a loopback proxy drops the
// ones whose body hashes into the lowest 5%, answering 200 as if WHOOP had
// never sent them). The simulator's rate limits are off: requests are
// counted, not waited for.
//
// It reports requests per user per day (mean and heaviest user), the
// documents missing or different compared with a clean read of the
// simulator right after the last step, then with the engine's clock moved
// 6 h and 36 h on (the simulator's stays, so no new data appears) and one
// poll check each, and how many users one application's 10,000 requests a
// day serve.
//
//	WEARLINK_BENCH=1 go test ./internal/provider/whoop -run TestBenchWhoopFleet -v -count=1 -timeout 30m
func TestBenchWhoopFleet(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") == "" {
		t.Skip("set WEARLINK_BENCH=1 to run")
	}
	users := min(benchEnvInt("WEARLINK_BENCH_USERS", 100), sim.MaxUsers)
	days := benchEnvInt("WEARLINK_BENCH_DAYS", 7)
	for _, run := range []struct {
		name string
		loss float64
	}{{"all-delivered", 0}, {"5pct-lost", 0.05}} {
		t.Run(run.name, func(t *testing.T) { benchWhoopFleet(t, users, days, run.loss) })
	}
}

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// whoopAppPerDay is WHOOP's daily request limit per application.
const whoopAppPerDay = 10000

func benchWhoopFleet(t *testing.T, users, days int, loss float64) {
	const seed = 41
	m := newMeter()
	var drop *dropper
	var engineAhead atomic.Int64 // how far the engine's clock runs ahead of the simulator's
	cfg := harnessConfig{Seed: seed, Users: users, BackfillDays: 3, Wrap: m.wrap,
		FetchSettle: -1, // the engine's default, as wearlink serve runs it
		EngineNow: func(simNow func() time.Time) func() time.Time {
			return func() time.Time { return simNow().Add(time.Duration(engineAhead.Load())) }
		}}
	if loss > 0 {
		cfg.WebhookVia = func(target string) string {
			drop = &dropper{target: target, rate: loss, client: &http.Client{Timeout: 30 * time.Second}}
			srv := httptest.NewServer(drop)
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	h := newHarness(t, cfg)

	t0 := time.Now()
	conns := make([]store.Connection, users)
	for i := range conns {
		conns[i] = h.mustLink("fleet-"+strconv.Itoa(i), i)
	}
	testutil.WaitFor(t, 20*time.Minute, "every backfill", func() bool {
		cs, err := h.st.ListConnections(h.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.DataSource == whoop.DataSource && c.Cursors["backfill_done"] == "" {
				return false
			}
		}
		return h.pendingIngestJobs() == 0
	})
	if f := h.failedIngestJobs(); len(f) > 0 {
		t.Fatalf("engine jobs failed during the backfill: %d, first %s", len(f), f[0])
	}
	t.Logf("linked and backfilled %d users in %s (%d API requests, %d token calls)", users, time.Since(t0).Round(time.Millisecond), m.apiTotal(), m.tokenCalls())
	m.reset()
	hooks0 := h.sim.WebhookStats()

	idle := func(what string) {
		t.Helper()
		testutil.WaitFor(t, 10*time.Minute, what, func() bool { return h.pendingIngestJobs() == 0 })
	}
	pollCheck := func() {
		t.Helper()
		if _, err := h.eng.EnqueueDuePolls(h.ctx); err != nil {
			t.Fatal(err)
		}
		idle("the poll check's jobs")
	}
	// Simulated time moves an hour at a time (the scores of members in
	// eight time zones appear at different hours); each step delivers the
	// webhooks due, works their jobs, then runs the poll check.
	const step = time.Hour
	wall0 := time.Now()
	announced := 0
	for i := 0; i < days*int(24*time.Hour/step); i++ {
		m.setStep(i)
		announced += len(h.sim.AdvanceClock(step))
		h.sim.WaitWebhooks()
		idle("the notifications' jobs")
		pollCheck()
	}
	wall := time.Since(wall0)
	m.setStep(-1)
	live := m.snapshot()
	hooks := h.sim.WebhookStats()
	dropped := 0
	if drop != nil {
		dropped = drop.count()
	}
	failed := h.failedIngestJobs()
	t.Logf("%d simulated days in %s real; webhooks %d announced, stats %+v, %d lost on purpose; %d jobs with errors",
		days, wall.Round(time.Millisecond), announced, statsDiff(hooks, hooks0), dropped, len(failed))
	for i, f := range failed {
		if i == 5 {
			break
		}
		t.Logf("job with errors: %.300s", f)
	}

	// The clean read: every collection of every member straight from the
	// simulator (not through the meter), from the first backfilled day to
	// two days past the simulated now.
	cleanSrv := httptest.NewServer(h.sim)
	t.Cleanup(cleanSrv.Close)
	cc, err := whoop.New(whoop.ClientConfig{BaseURL: cleanSrv.URL + sim.APIPrefix, PerMinute: 1 << 20, PerDay: 1 << 30,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := whoop.NewProvider(whoop.Config{Client: cc, OAuthBaseURL: cleanSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	to := h.sim.Clock().Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	want := make([]map[rawKey]string, users)
	wanted := 0
	for i, c := range conns {
		c, err := h.st.GetConnection(h.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		from, _, _ := strings.Cut(c.Cursors["backfill"], "/")
		want[i] = cleanRead(t, h.ctx, cp, provider.StaticToken(h.sim.Tokens()[i].AccessToken), from, to)
		wanted += len(want[i])
	}
	check := func() (missing, different int, byColl map[string]int) {
		byColl = map[string]int{}
		for i, c := range conns {
			got := h.rawRecords(c.ID)
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
	// does not. 6 h: the gap reads and the next cycle poll.
	engineAhead.Store(int64(6 * time.Hour))
	pollCheck()
	missing6, diff6, by6 := check()
	// 36 h more: the webhooks count as silent and every collection not read
	// for 6 h is read.
	engineAhead.Store(int64(42 * time.Hour))
	pollCheck()
	missing42, diff42, by42 := check()

	userDays := float64(users * days)
	perUserDay := float64(live.total) / userDays
	heaviest := 0
	for u := 0; u < users; u++ {
		heaviest = max(heaviest, live.perUser[u])
	}
	busiest := slices.Max(live.perStep)

	t.Logf("RESULT whoop fleet: %d users x %d days, webhook loss %.0f%%", users, days, loss*100)
	t.Logf("RESULT webhooks: %d announced, %d lost on purpose (%.1f%%), %d delivery attempts, %d failed",
		announced, dropped, pct(dropped, announced), hooks.Attempts-hooks0.Attempts, hooks.Failed-hooks0.Failed)
	t.Logf("RESULT API requests, all users, %d days: %d, of them %d answered 401; %d token refreshes; %d requests of no known user",
		days, live.total, live.unauthorized, live.tokens, live.unknown)
	t.Logf("RESULT requests per user per day: %.2f mean (heaviest user %.2f); token refreshes %.2f",
		perUserDay, float64(heaviest)/float64(days), float64(live.tokens)/userDays)
	t.Logf("RESULT by route: %s", formatCounts(live.byRoute, userDays))
	// Every member links at the same simulated instant, so their 6-hourly
	// cycle polls fall in the same hours: a peak no real fleet has.
	t.Logf("RESULT busiest simulated hour: %d requests = %.3f per user; 100 a minute (6,000 an hour) would serve %.0f users at that rate",
		busiest, float64(busiest)/float64(users), 6000/(float64(busiest)/float64(users)))
	t.Logf("RESULT documents missing / different right after the last step: %d / %d of %d %v", missing0, diff0, wanted, by0)
	t.Logf("RESULT documents missing / different 6 h later (no new data, one poll check): %d / %d %v", missing6, diff6, by6)
	t.Logf("RESULT documents missing / different 42 h later (webhooks silent, one poll check): %d / %d %v", missing42, diff42, by42)
	t.Logf("RESULT users per WHOOP application (10,000 requests a day): %d / %.2f = %.0f",
		whoopAppPerDay, perUserDay, whoopAppPerDay/perUserDay)
	// Every collection has been read after the last one: what is still
	// missing or different is lost for good (see BENCHMARKS.md on cycles).
	if missing42+diff42 > 0 {
		t.Errorf("%d documents missing and %d different after every collection was read: %v", missing42, diff42, by42)
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func statsDiff(a, b sim.WebhookStats) sim.WebhookStats {
	return sim.WebhookStats{Queued: a.Queued - b.Queued, Attempts: a.Attempts - b.Attempts, Delivered: a.Delivered - b.Delivered, Failed: a.Failed - b.Failed}
}

func formatCounts(m map[string]int, per float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s %d (%.2f); ", k, m[k], float64(m[k])/per)
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// cleanRead reads every document of one member the way the provider does,
// over days from..to, and the account's singletons: key to body hash.
func cleanRead(t *testing.T, ctx context.Context, p *whoop.Provider, a provider.Auth, from, to string) map[rawKey]string {
	t.Helper()
	out := map[rawKey]string{}
	add := func(docs []provider.Document) {
		for _, d := range docs {
			k := rawKey{d.Collection, d.ID, string(d.Day)}
			if k.ID == "" {
				k.ID = "day:" + k.Day // how the engine stores a document without an id
			}
			if _, dup := out[k]; dup {
				t.Fatalf("clean read: %+v twice", k)
			}
			out[k] = fmt.Sprintf("%x", sha256.Sum256(d.Raw))
		}
	}
	for _, coll := range []string{whoop.CollCycle, whoop.CollSleep, whoop.CollRecovery, whoop.CollWorkout} {
		docs, err := p.Fetch(ctx, a, coll, provider.Window{From: from, To: to})
		if err != nil {
			t.Fatalf("clean read of %s: %v", coll, err)
		}
		add(docs)
	}
	acc, err := p.Identify(ctx, a)
	if err != nil {
		t.Fatalf("clean read of the account: %v", err)
	}
	add(acc.Documents)
	return out
}

// dropper stands between the simulator and wearlink's notification route:
// a webhook whose body hashes into the lowest rate of the range is answered
// 200 and never passed on, as if WHOOP had not sent it; the others are
// forwarded with their signature headers.
type dropper struct {
	target string
	rate   float64
	client *http.Client

	mu      sync.Mutex
	dropped int
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	if float64(binary.BigEndian.Uint64(sum[:8]))/(1<<64) < d.rate {
		d.mu.Lock()
		d.dropped++
		d.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, d.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, k := range []string{"Content-Type", sim.HeaderSignature, sim.HeaderSignatureTimestamp} {
		req.Header.Set(k, r.Header.Get(k))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
}

func (d *dropper) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// meter stands in front of the simulator and counts API requests per
// simulated member. It learns whose a token is from the OAuth traffic
// itself: the member an authorization approves (the simulator's
// X-Whoopsim-User header) owns the code in its redirect, a code's or a
// refresh token's owner owns the tokens the token endpoint returns for it.
type meter struct {
	mu    sync.Mutex
	owner map[string]int // authorization code, access or refresh token -> member
	step  int
	c     meterCounts
}

type meterCounts struct {
	total, unauthorized, tokens, unknown int
	perUser                              map[int]int
	byRoute                              map[string]int
	perStep                              []int
}

func newMeter() *meter {
	m := &meter{owner: map[string]int{}, step: -1}
	m.reset()
	return m
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c = meterCounts{perUser: map[int]int{}, byRoute: map[string]int{}}
}

// setStep attributes the requests from now on to simulated step i (-1:
// none).
func (m *meter) setStep(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.step = i
	for i >= len(m.c.perStep) && i >= 0 {
		m.c.perStep = append(m.c.perStep, 0)
	}
}

func (m *meter) snapshot() meterCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.c
	c.perUser, c.byRoute = maps.Clone(c.perUser), maps.Clone(c.byRoute)
	c.perStep = slices.Clone(c.perStep)
	return c
}

func (m *meter) apiTotal() int   { return m.snapshot().total }
func (m *meter) tokenCalls() int { return m.snapshot().tokens }

// statusWriter keeps the status and, when asked, the body of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	keep   bool
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.keep {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (m *meter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, sim.APIPrefix)
		switch {
		case path == "/oauth/oauth2/auth":
			next.ServeHTTP(w, r)
			u, err := strconv.Atoi(r.Header.Get(sim.HeaderAuthorizeUser))
			loc, lerr := url.Parse(w.Header().Get("Location"))
			if err == nil && lerr == nil && loc.Query().Get("code") != "" {
				m.mu.Lock()
				m.owner[loc.Query().Get("code")] = u
				m.mu.Unlock()
			}
		case path == "/oauth/oauth2/token":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			out := rec.Body.Bytes()
			var tok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if rec.Code == http.StatusOK {
				_ = json.Unmarshal(out, &tok)
			}
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(out)
			m.mu.Lock()
			defer m.mu.Unlock()
			var u int
			var ok bool
			switch form.Get("grant_type") {
			case "authorization_code":
				u, ok = m.owner[form.Get("code")]
			case "refresh_token":
				u, ok = m.owner[form.Get("refresh_token")]
				m.c.tokens++
			}
			if ok && tok.AccessToken != "" {
				m.owner[tok.AccessToken] = u
				if tok.RefreshToken != "" {
					m.owner[tok.RefreshToken] = u
				}
			}
		case strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/"):
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			m.mu.Lock()
			defer m.mu.Unlock()
			u, ok := m.owner[tok]
			m.c.total++
			if !ok {
				m.c.unknown++
			}
			m.c.perUser[u]++
			if sw.status == http.StatusUnauthorized {
				m.c.unauthorized++
			}
			m.c.byRoute[routeOf(path, r.URL.Query().Has("nextToken"), sw.status)]++
			if m.step >= 0 {
				m.c.perStep[m.step]++
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// routeOf names an API request by its route: ids become {id}, a page after
// the first and an answer other than 200 are marked.
func routeOf(path string, next bool, status int) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if _, err := strconv.ParseInt(p, 10, 64); err == nil || len(p) == 36 && strings.Count(p, "-") == 4 {
			parts[i] = "{id}"
		}
	}
	s := strings.Join(parts, "/")
	if next {
		s += " (next page)"
	}
	if status != http.StatusOK {
		s += " " + strconv.Itoa(status)
	}
	return s
}
