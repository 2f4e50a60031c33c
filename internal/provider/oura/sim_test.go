package oura_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// simEnv is a simulator on loopback plus a client pointed at it.
type simEnv struct {
	sim    *ourasim.Server
	url    string
	client *oura.Client
	// requests records every URL the client sent, for checking what went
	// over the wire.
	mu       sync.Mutex
	requests []*url.URL
	bearers  []string // Authorization header of each request
}

func (e *simEnv) RoundTrip(r *http.Request) (*http.Response, error) {
	e.mu.Lock()
	u := *r.URL
	e.requests = append(e.requests, &u)
	e.bearers = append(e.bearers, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	e.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (e *simEnv) sent(pathSuffix string) []*url.URL {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*url.URL
	for _, u := range e.requests {
		if strings.HasSuffix(u.Path, pathSuffix) {
			out = append(out, u)
		}
	}
	return out
}

func newSimEnv(t *testing.T, cfg ourasim.Config, ccfg oura.Config) *simEnv {
	t.Helper()
	sim, url := simtest.Simulator(t, cfg)
	e := &simEnv{sim: sim, url: url}
	ccfg.BaseURL = url
	var err error
	ccfg.HTTPClient = &http.Client{Transport: e, Timeout: 20 * time.Second}
	if ccfg.BaseBackoff == 0 {
		ccfg.BaseBackoff = 10 * time.Millisecond
	}
	e.client, err = oura.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *simEnv) user(i int) *oura.User {
	return e.client.User(oura.StaticToken(e.sim.Tokens()[i].AccessToken))
}

// lastDays returns the last n visible days of user i.
func (e *simEnv) lastDays(i, n int) (oura.Date, oura.Date) {
	w := e.sim.World()
	last := w.LastDay(w.Users()[i])
	lt, _ := last.Time()
	return oura.Date(lt.AddDate(0, 0, -(n - 1)).Format(time.DateOnly)), last
}

type listCall struct {
	coll string
	call func(ctx context.Context, u *oura.User, d1, d2 oura.Date) ([]json.RawMessage, error)
}

func raws[T any](docs []oura.Document[T], err error) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		out[i] = d.Raw
	}
	return out, err
}

// every typed list method of the client.
var listCalls = []listCall{
	{oura.CollDailyActivity, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailyActivity(ctx, a, b))
	}},
	{oura.CollDailyCardiovascularAge, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailyCardiovascularAge(ctx, a, b))
	}},
	{oura.CollDailyReadiness, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailyReadiness(ctx, a, b))
	}},
	{oura.CollDailyResilience, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailyResilience(ctx, a, b))
	}},
	{oura.CollDailySleep, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailySleep(ctx, a, b))
	}},
	{oura.CollDailySpO2, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailySpO2(ctx, a, b))
	}},
	{oura.CollDailyStress, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.DailyStress(ctx, a, b))
	}},
	{oura.CollEnhancedTag, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.EnhancedTags(ctx, a, b))
	}},
	{oura.CollRestModePeriod, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.RestModePeriods(ctx, a, b))
	}},
	{oura.CollRingConfiguration, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.RingConfigurations(ctx))
	}},
	{oura.CollSession, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.Sessions(ctx, a, b))
	}},
	{oura.CollSleep, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.Sleep(ctx, a, b))
	}},
	{oura.CollSleepTime, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.SleepTime(ctx, a, b))
	}},
	{oura.CollTag, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.Tags(ctx, a, b))
	}},
	{oura.CollVO2Max, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.VO2Max(ctx, a, b))
	}},
	{oura.CollWorkout, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		return raws(u.Workouts(ctx, a, b))
	}},
	{oura.CollHeartRate, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		s, _ := a.Time()
		e, _ := b.Time()
		return raws(u.HeartRate(ctx, s, e.AddDate(0, 0, 1)))
	}},
	{oura.CollInterbeatInterval, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		s, _ := a.Time()
		e, _ := b.Time()
		return raws(u.InterbeatInterval(ctx, s, e.AddDate(0, 0, 1)))
	}},
	{oura.CollRingBatteryLevel, func(ctx context.Context, u *oura.User, a, b oura.Date) ([]json.RawMessage, error) {
		s, _ := a.Time()
		e, _ := b.Time()
		return raws(u.RingBatteryLevel(ctx, s, e.AddDate(0, 0, 1)))
	}},
}

func TestListMethodsPaginateToTheEnd(t *testing.T) {
	// Documents come two to a page; time series 300 rows to a page, since
	// a day holds about a thousand.
	small := newSimEnv(t, ourasim.Config{PageSize: 2, TimeSeriesPageSize: 300}, oura.Config{})
	large := newSimEnv(t, ourasim.Config{}, oura.Config{})
	if len(listCalls) != len(oura.Collections())-1 {
		t.Fatalf("list table covers %d collections, want every list collection", len(listCalls))
	}
	ctx := context.Background()
	d1, d2 := small.lastDays(0, 21)
	for _, lc := range listCalls {
		t.Run(lc.coll, func(t *testing.T) {
			a, err := lc.call(ctx, small.user(0), d1, d2)
			if err != nil {
				t.Fatalf("page size 2: %v", err)
			}
			b, err := lc.call(ctx, large.user(0), d1, d2)
			if err != nil {
				t.Fatalf("default page size: %v", err)
			}
			if len(a) != len(b) {
				t.Fatalf("page size 2 gave %d documents, default page size %d", len(a), len(b))
			}
			for i := range a {
				if string(a[i]) != string(b[i]) {
					t.Fatalf("document %d differs between page sizes", i)
				}
			}
			mustHaveDocs := lc.coll != oura.CollTag && lc.coll != oura.CollRestModePeriod && lc.coll != oura.CollVO2Max &&
				lc.coll != oura.CollEnhancedTag && lc.coll != oura.CollRingConfiguration
			if mustHaveDocs && len(a) < 3 {
				t.Fatalf("only %d documents in 21 days: pagination is not exercised", len(a))
			}
			pages := small.sent("/" + lc.coll)
			if len(a) > 2 && len(pages) < 2 {
				t.Errorf("%d documents came in %d requests with page size 2", len(a), len(pages))
			}
			for _, u := range pages[1:] {
				if u.Query().Get("next_token") != "" && len(u.Query()) != 1 {
					t.Errorf("a follow-up page sent %q; only next_token belongs there", u.RawQuery)
				}
			}
		})
	}
}

func TestTimeSeriesChunksOf30Days(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	_, last := e.lastDays(0, 1)
	lt, _ := last.Time()
	end := lt.AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -75)
	rows, err := e.user(0).HeartRate(context.Background(), start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 75*100 {
		t.Fatalf("%d heart-rate rows for 75 days; the simulator makes hundreds a day", len(rows))
	}
	var prev time.Time
	for i, r := range rows {
		ts, err := r.Value.Timestamp.Time()
		if err != nil {
			t.Fatal(err)
		}
		if ts.Before(start) || !ts.Before(end) {
			t.Fatalf("row %d at %s is outside [%s, %s)", i, ts, start, end)
		}
		if i > 0 && ts.Before(prev) {
			t.Fatalf("row %d goes back in time", i)
		}
		prev = ts
	}
	var chunks int
	for _, u := range e.sent("/heartrate") {
		q := u.Query()
		if q.Get("start_datetime") == "" {
			continue
		}
		chunks++
		s, err1 := time.Parse(time.RFC3339, q.Get("start_datetime"))
		en, err2 := time.Parse(time.RFC3339, q.Get("end_datetime"))
		if err1 != nil || err2 != nil || en.Sub(s) > oura.MaxTimeSeriesSpan {
			t.Errorf("chunk %s .. %s is not a valid range of at most 30 days", q.Get("start_datetime"), q.Get("end_datetime"))
		}
	}
	if chunks != 3 {
		t.Errorf("75 days went out in %d chunks, want 3", chunks)
	}
}

func TestSingleDocumentsAndNotFound(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	ctx := context.Background()
	u := e.user(0)
	d1, d2 := e.lastDays(0, 120)
	for _, c := range oura.Collections() {
		if !c.Single {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			docs, err := oura.List[json.RawMessage](ctx, u, c.Name, oura.Query{StartDate: d1, EndDate: d2})
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) == 0 {
				t.Skipf("no %s documents in 120 days for this seed", c.Name)
			}
			var key struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(docs[len(docs)-1].Raw, &key)
			one, err := oura.Get[json.RawMessage](ctx, u, c.Name, key.ID)
			if err != nil {
				t.Fatalf("get %s: %v", key.ID, err)
			}
			if string(one.Raw) != string(docs[len(docs)-1].Raw) {
				t.Errorf("single document differs from the listed one")
			}
			_, err = oura.Get[json.RawMessage](ctx, u, c.Name, "8c0f5e57-0000-4000-8000-000000000000")
			var oe *oura.Error
			if !errors.As(err, &oe) || oe.Kind != oura.KindNotFound || oe.Detail != "Document not found." {
				t.Errorf("unknown id: got %v, want 404 Document not found.", err)
			}
			// Another user's document is not found either.
			_, err = oura.Get[json.RawMessage](ctx, e.user(1), c.Name, key.ID)
			if !oura.IsNotFound(err) {
				t.Errorf("user 1 reading user 0's %s: %v, want not found", c.Name, err)
			}
		})
	}
}

func TestPersonalInfo(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	pi, err := e.user(1).PersonalInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pi.Value.ID != e.sim.World().Users()[1].OuraID || pi.Value.Age == nil || pi.Value.Email == nil {
		t.Errorf("personal info %+v does not describe simulated user 1", pi.Value)
	}
}

// TestDaysReturnsExactlyTheLocalDays checks the day-range call against the
// simulator's own record of what belongs to each day, for users in several
// time zones and every collection.
func TestDaysReturnsExactlyTheLocalDays(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{Users: 3}, oura.Config{})
	ctx := context.Background()
	w := e.sim.World()
	for ui, su := range w.Users() {
		d1, last := e.lastDays(ui, 10)
		lt, _ := last.Time()
		d2 := oura.Date(lt.AddDate(0, 0, -3).Format(time.DateOnly)) // an inner window: neighbours exist on both sides
		want := map[string][]string{}
		for d := d1; d <= d2; {
			day := w.Day(su, d)
			add := func(coll string, v any) {
				b, _ := json.Marshal(v)
				var k struct {
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
				}
				_ = json.Unmarshal(b, &k)
				id := k.ID
				if coll == oura.CollHeartRate || coll == oura.CollRingBatteryLevel || coll == oura.CollInterbeatInterval {
					id = k.Timestamp
				}
				want[coll] = append(want[coll], id)
			}
			for _, v := range day.Sleep {
				add(oura.CollSleep, v)
			}
			for _, v := range day.Workouts {
				add(oura.CollWorkout, v)
			}
			for _, v := range day.Sessions {
				add(oura.CollSession, v)
			}
			for _, v := range day.EnhancedTags {
				add(oura.CollEnhancedTag, v)
			}
			for _, v := range day.HeartRate {
				add(oura.CollHeartRate, v)
			}
			for _, v := range day.Battery {
				add(oura.CollRingBatteryLevel, v)
			}
			for _, v := range day.Interbeat {
				add(oura.CollInterbeatInterval, v)
			}
			if day.DailyActivity != nil {
				add(oura.CollDailyActivity, day.DailyActivity)
			}
			if day.DailyReadiness != nil {
				add(oura.CollDailyReadiness, day.DailyReadiness)
			}
			if day.DailySleep != nil {
				add(oura.CollDailySleep, day.DailySleep)
			}
			if day.DailyStress != nil {
				add(oura.CollDailyStress, day.DailyStress)
			}
			if day.DailySpO2 != nil {
				add(oura.CollDailySpO2, day.DailySpO2)
			}
			t0, _ := d.Time()
			d = oura.Date(t0.AddDate(0, 0, 1).Format(time.DateOnly))
		}
		for _, coll := range []string{oura.CollSleep, oura.CollWorkout, oura.CollSession, oura.CollEnhancedTag, oura.CollHeartRate,
			oura.CollRingBatteryLevel, oura.CollInterbeatInterval, oura.CollDailyActivity, oura.CollDailyReadiness, oura.CollDailySleep, oura.CollDailyStress, oura.CollDailySpO2} {
			got, err := e.user(ui).Days(ctx, coll, d1, d2, su.Location)
			if err != nil {
				t.Fatalf("user %d %s: %v", ui, coll, err)
			}
			var ids []string
			for _, r := range got {
				if r.Day < d1 || r.Day > d2 {
					t.Errorf("user %d %s: document of day %s outside %s..%s", ui, coll, r.Day, d1, d2)
				}
				ids = append(ids, r.ID)
			}
			sort.Strings(ids)
			w := slices.Clone(want[coll])
			sort.Strings(w)
			if len(w) == 0 && (coll == oura.CollSleep || coll == oura.CollHeartRate || coll == oura.CollInterbeatInterval || coll == oura.CollDailyActivity) {
				t.Fatalf("user %d: the simulator has no %s in %s..%s; the comparison would be empty", ui, coll, d1, d2)
			}
			if !slices.Equal(ids, w) {
				t.Errorf("user %d (%s) %s %s..%s: got %d documents, want %d", ui, su.TimeZone, coll, d1, d2, len(ids), len(w))
			}
			// Rows are stored under their timestamp: two rows must never
			// share one (beats come less than a second apart).
			if n := len(slices.Compact(ids)); n != len(ids) {
				t.Errorf("user %d %s: %d documents share an id with another", ui, coll, len(ids)-n)
			}
		}
	}
}

func TestRecoversFromA429Burst(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	e := newSimEnv(t, ourasim.Config{}, oura.Config{Sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	e.sim.ForceRateLimit(3, time.Second)
	d1, d2 := e.lastDays(0, 7)
	start := time.Now()
	docs, err := e.user(0).DailyReadiness(context.Background(), d1, d2)
	if err != nil {
		t.Fatalf("a burst of three 429s should be absorbed: %v", err)
	}
	if len(docs) != 7 {
		t.Errorf("got %d readiness documents for 7 days", len(docs))
	}
	if len(waits) != 3 {
		t.Fatalf("waited %d times, want 3 (one per 429)", len(waits))
	}
	for _, w := range waits {
		if w != time.Second {
			t.Errorf("waited %v, want the Retry-After of 1s", w)
		}
	}
	if el := time.Since(start); el < 3*time.Second {
		t.Errorf("finished after %v: Retry-After was not honoured", el)
	}
}

func TestFaultyUpstreamStillYieldsEveryDocument(t *testing.T) {
	clean := newSimEnv(t, ourasim.Config{PageSize: 5}, oura.Config{})
	// The forced faults make the first three requests fail whatever the
	// random draws do; the rates add more on top.
	faulty := newSimEnv(t, ourasim.Config{PageSize: 5, Faults: ourasim.Faults{ErrorRate: 0.15, TruncateRate: 0.1, ResetRate: 0.05,
		Force5xx: 2, ForceTruncate: 1, Latency: 5 * time.Millisecond}},
		oura.Config{MaxAttempts: 10})
	d1, d2 := clean.lastDays(0, 30)
	want, err := clean.user(0).Sleep(context.Background(), d1, d2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := faulty.user(0).Sleep(context.Background(), d1, d2)
	if err != nil {
		t.Fatalf("faults should be retried away: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("faulty upstream gave %d sleep documents, clean %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i].Raw) != string(want[i].Raw) {
			t.Fatalf("document %d differs", i)
		}
	}
	injected := faulty.sim.FaultsInjected()
	if injected.ServerError < 2 || injected.Truncated < 1 {
		t.Errorf("injected %+v, want at least the 2 forced 5xx and 1 truncation", injected)
	}
	if n, c := len(faulty.sent("/sleep")), len(clean.sent("/sleep")); n < c+injected.Total() {
		t.Errorf("faulty run sent %d requests, clean %d, with %d faults injected: a fault was not retried", n, c, injected.Total())
	}
}

func TestSandboxAcceptsAnyToken(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	sb := e.client.Sandbox(oura.StaticToken("anything-at-all"))
	docs, err := oura.List[oura.DailySleep](context.Background(), sb, oura.CollDailySleep, oura.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("the sandbox returned no daily_sleep with its default range")
	}
	for _, u := range e.sent("/daily_sleep") {
		if !strings.HasPrefix(u.Path, "/v2/sandbox/usercollection/") {
			t.Errorf("sandbox call went to %s", u.Path)
		}
	}
	// The same token is worthless on the live routes.
	_, err = e.client.User(oura.StaticToken("anything-at-all")).PersonalInfo(context.Background())
	if oura.KindOf(err) != oura.KindInvalidToken {
		t.Errorf("live route with a made-up token: %v, want 401", err)
	}
}
