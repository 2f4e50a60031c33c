package pull_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/pull"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

type simEnv struct {
	sim    *ourasim.Server
	url    string
	client *oura.Client
	prov   *oura.Provider
}

func newSimEnv(t testing.TB, cfg ourasim.Config) *simEnv {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 1
	}
	sim, url := simtest.Simulator(t, cfg)
	// The tests read everything twice; the client's own pacing would only
	// slow them down (the benchmark keeps it).
	c, err := oura.New(oura.Config{BaseURL: url, BaseBackoff: 10 * time.Millisecond, HTTPClient: &http.Client{Timeout: 30 * time.Second},
		Limiter: oura.NewRateLimiter(oura.Limit{}, oura.Limit{})})
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{sim: sim, url: url, client: c, prov: ouraProvider(t, c)}
}

func ouraProvider(t testing.TB, c *oura.Client) *oura.Provider {
	t.Helper()
	p, err := oura.NewProvider(oura.ProviderConfig{Client: c, Normalizer: normalize.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *simEnv) user() *oura.User {
	return e.client.User(e.auth())
}

func (e *simEnv) auth() provider.Auth {
	return provider.StaticToken(e.sim.Tokens()[0].AccessToken)
}

// lastDays returns the first and last of the last n visible days.
func (e *simEnv) lastDays(n int) (string, string) {
	w := e.sim.World()
	last := w.LastDay(w.Users()[0])
	lt, _ := last.Time()
	return lt.AddDate(0, 0, -(n - 1)).Format(time.DateOnly), string(last)
}

func (e *simEnv) requests() int {
	n := 0
	for _, c := range e.sim.RequestCounts()[0] {
		n += c
	}
	return n
}

// docKey identifies a raw document as the merge does.
func docKey(coll string, raw json.RawMessage) string {
	var k struct{ ID, Timestamp string }
	_ = json.Unmarshal(raw, &k)
	if c, _ := oura.LookupCollection(coll); c.Range == oura.RangeDateTime {
		return k.Timestamp
	}
	return k.ID
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func parquetRows(t *testing.T, path string) (int64, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var cols []string
	for _, c := range pf.Schema().Fields() {
		cols = append(cols, c.Name())
	}
	return pf.NumRows(), cols
}

func TestPullYearThenOnlyTheNewDays(t *testing.T) {
	if testing.Short() {
		t.Skip("pulls a year from the simulator")
	}
	e := newSimEnv(t, ourasim.Config{})
	ctx := context.Background()
	since, until := e.lastDays(pullDays)
	out := t.TempDir()

	start := time.Now()
	sum, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Since: since, Until: until})
	t.Logf("first run took %v", time.Since(start))
	if err != nil {
		t.Fatal(err)
	}
	firstRequests := e.requests()
	t.Logf("first run: %d windows, %d requests", sum.Windows, firstRequests)

	// Every collection's file holds exactly what a direct read of the same
	// days returns, byte for byte, sorted by day and time.
	e.sim.ResetRequestCounts()
	u := e.user()
	counts := map[string]int{}
	for _, c := range oura.Collections() {
		want, err := u.Days(ctx, c.Name, oura.Date(since), oura.Date(until), time.UTC)
		if err != nil {
			t.Fatalf("direct read of %s: %v", c.Name, err)
		}
		got := testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-"+c.Name+".json"))
		counts[c.Name] = len(got)
		if len(got) != len(want) {
			t.Errorf("%s: %d documents in the file, %d from the API", c.Name, len(got), len(want))
			continue
		}
		byKey := map[string]json.RawMessage{}
		for _, g := range got {
			byKey[docKey(c.Name, g)] = g
		}
		if len(byKey) != len(got) {
			t.Errorf("%s: %d documents but %d distinct keys", c.Name, len(got), len(byKey))
		}
		for _, w := range want {
			if g, ok := byKey[docKey(c.Name, w.Raw)]; !ok {
				t.Errorf("%s: document %s missing", c.Name, w.ID)
			} else if !bytes.Equal(g, w.Raw) {
				t.Errorf("%s: document %s changed:\n got %s\nwant %s", c.Name, w.ID, g, w.Raw)
			}
		}
		checkSorted(t, c.Name, got)
	}
	for _, name := range []string{"daily_activity", "sleep", "daily_sleep", "heartrate", "workout"} {
		if counts[name] == 0 {
			t.Errorf("the simulator gave no %s documents for a year: the test proves little", name)
		}
	}

	// ROOK documents per data structure.
	for _, s := range []string{"sleep_summary", "physical_summary", "body_summary", "activity_event", "body_health.heart_rate_event", "user_info"} {
		if _, err := os.Stat(filepath.Join(out, "rook", s+".json")); err != nil {
			m, _ := filepath.Glob(filepath.Join(out, "rook", "*"))
			t.Fatalf("%v; rook files: %v", err, m)
		}
		docs := testutil.ReadJSONArray(t, filepath.Join(out, "rook", s+".json"))
		if len(docs) == 0 {
			t.Errorf("rook/%s.json is empty", s)
		}
		recs := readCSV(t, filepath.Join(out, "csv", "rook-"+s+".csv"))
		if len(recs)-1 != len(docs) {
			t.Errorf("csv/rook-%s.csv has %d rows, want %d", s, len(recs)-1, len(docs))
		}
	}
	rookFiles, _ := filepath.Glob(filepath.Join(out, "rook", "*.json"))
	for _, f := range rookFiles {
		if len(testutil.ReadJSONArray(t, f)) == 0 {
			t.Errorf("%s is empty", f)
		}
	}

	// Tables of the raw collections: one row per document, dotted names,
	// Parquet with the same rows and columns.
	for name, n := range counts {
		base := "oura-v2-" + name
		if n == 0 {
			if _, err := os.Stat(filepath.Join(out, "csv", base+".csv")); err == nil {
				t.Errorf("a table for %s, which has no documents", name)
			}
			continue
		}
		recs := readCSV(t, filepath.Join(out, "csv", base+".csv"))
		if len(recs)-1 != n {
			t.Errorf("csv/%s.csv: %d rows, want %d", base, len(recs)-1, n)
		}
		rows, cols := parquetRows(t, filepath.Join(out, "parquet", base+".parquet"))
		if rows != int64(n) {
			t.Errorf("parquet/%s.parquet: %d rows, want %d", base, rows, n)
		}
		header := slices.Clone(recs[0])
		slices.Sort(header)
		slices.Sort(cols)
		if !slices.Equal(header, cols) {
			t.Errorf("%s: CSV columns %v, Parquet columns %v", base, header, cols)
		}
	}
	for name, col := range map[string]string{"sleep": "heart_rate.interval", "daily_activity": "contributors.meet_daily_targets", "daily_sleep": "contributors.deep_sleep", "daily_readiness": "contributors.hrv_balance"} {
		header := readCSV(t, filepath.Join(out, "csv", "oura-v2-"+name+".csv"))[0]
		if !slices.Contains(header, col) {
			t.Errorf("csv/oura-v2-%s.csv has no column %s: %v", name, col, header)
		}
	}

	// Long tables: one row per sample.
	var met, hr, hrv, phases int
	for _, b := range testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-daily_activity.json")) {
		var a struct{ MET struct{ Items []any } }
		_ = json.Unmarshal(b, &a)
		if len(a.MET.Items) != 1440 {
			t.Errorf("a daily_activity with %d MET items", len(a.MET.Items))
		}
		met += len(a.MET.Items)
	}
	for _, b := range testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-sleep.json")) {
		var s struct {
			HeartRate      *struct{ Items []any } `json:"heart_rate"`
			HRV            *struct{ Items []any }
			SleepPhase5Min string `json:"sleep_phase_5_min"`
		}
		_ = json.Unmarshal(b, &s)
		if s.HeartRate != nil {
			hr += len(s.HeartRate.Items)
		}
		if s.HRV != nil {
			hrv += len(s.HRV.Items)
		}
		phases += len(s.SleepPhase5Min)
	}
	if met != 1440*counts["daily_activity"] {
		t.Errorf("%d MET items for %d days of activity", met, counts["daily_activity"])
	}
	for name, want := range map[string]int{oura.TableActivityMET: met, oura.TableSleepHeartRate: hr, oura.TableSleepHRV: hrv, oura.TableSleepPhases: phases, oura.TableHeartRate: counts["heartrate"], oura.TableInterbeat: counts["interbeat_interval"]} {
		if want == 0 {
			t.Errorf("no samples for %s", name)
			continue
		}
		recs := readCSV(t, filepath.Join(out, "csv", name+".csv"))
		if len(recs)-1 != want {
			t.Errorf("csv/%s.csv: %d rows, want %d", name, len(recs)-1, want)
		}
		if rows, _ := parquetRows(t, filepath.Join(out, "parquet", name+".parquet")); rows != int64(want) {
			t.Errorf("parquet/%s.parquet: %d rows, want %d", name, rows, want)
		}
	}

	// A second run reads only the last two days and leaves every file as it
	// was.
	before := testutil.Snapshot(t, out)
	e.sim.ResetRequestCounts()
	sum2, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	second := e.requests()
	t.Logf("second run: %d windows, %d requests", sum2.Windows, second)
	// One window of two days per collection: a request each, two for the
	// heart-rate pages.
	if second > 2*len(oura.Collections()) || second*3 > firstRequests {
		t.Errorf("the second run made %d requests, the first %d", second, firstRequests)
	}
	after := testutil.Snapshot(t, out)
	if len(after) != len(before) {
		t.Errorf("%d files after the second run, %d before", len(after), len(before))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed in the second run", name)
		}
	}

	// A new day appears: the next run (without since: it starts where the
	// first did) adds its documents, and the files still hold every day
	// once.
	newDay, err := e.sim.AddDay(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Until: string(newDay)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sleep", "daily_activity", "heartrate"} {
		want, err := u.Days(ctx, name, oura.Date(since), newDay, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		got := testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-"+name+".json"))
		if len(got) != len(want) || len(got) <= counts[name] {
			t.Errorf("%s after a new day: %d documents, the API has %d (before: %d)", name, len(got), len(want), counts[name])
		}
	}
}

// checkSorted checks the documents come by day, then time.
func checkSorted(t *testing.T, coll string, docs []json.RawMessage) {
	t.Helper()
	prev := ""
	for i, b := range docs {
		var k struct {
			Day, Timestamp string
			BedtimeStart   string `json:"bedtime_start"`
		}
		_ = json.Unmarshal(b, &k)
		key := k.Day + "|" + k.Timestamp + "|" + k.BedtimeStart
		if coll == oura.CollHeartRate || coll == oura.CollRingBatteryLevel {
			key = k.Timestamp // UTC rows: the text sorts
		}
		if i > 0 && key < prev && k.Day != "" {
			t.Errorf("%s: document %d (%s) comes after %s", coll, i, key, prev)
			return
		}
		prev = key
	}
}

func TestPullRefusedToken(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{})
	since, until := e.lastDays(40)
	out := t.TempDir()
	_, err := pull.Run(context.Background(), pull.Options{Provider: e.prov, Auth: provider.StaticToken("not-a-token"), Out: out, Since: since, Until: until})
	if !errors.Is(err, pull.ErrUnauthorized) {
		t.Fatalf("got %v, want the token refused", err)
	}
	if !strings.Contains(err.Error(), "OURA_TOKEN") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if left, _ := os.ReadDir(out); len(left) > 0 {
		t.Errorf("a refused token left %d files behind", len(left))
	}
}

func TestPullBadRange(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{})
	for _, o := range []pull.Options{
		{Since: "2024-02-01", Until: "2024-01-01"},
		{Since: "yesterday"},
		{},
	} {
		o.Provider, o.Auth, o.Out = e.prov, e.auth(), t.TempDir()
		if _, err := pull.Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// A token without some scopes still pulls what it may read; the other
// collections are named, not fatal.
func TestPullSkipsCollectionsOutsideTheScopes(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{})
	tok, err := e.sim.IssueToken(0, []string{"daily", "personal"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	since, until := e.lastDays(5)
	out := t.TempDir()
	sum, err := pull.Run(context.Background(), pull.Options{Provider: e.prov, Auth: provider.StaticToken(tok.AccessToken), Out: out, Since: since, Until: until,
		Collections: []string{"daily_activity", "heartrate", "workout"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sum.Skipped["heartrate"]; !ok {
		t.Errorf("heartrate not reported as skipped: %v", sum.Skipped)
	}
	if _, ok := sum.Skipped["workout"]; !ok {
		t.Errorf("workout not reported as skipped: %v", sum.Skipped)
	}
	if n := len(testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-daily_activity.json"))); n != 5 {
		t.Errorf("%d daily_activity documents for 5 days", n)
	}
}

// A pull that fails part-way keeps what it got, says why, and the next run
// ends with the same files as a pull that never failed.
func TestPullResumesAfterAFailure(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{})
	since, until := e.lastDays(120)
	colls := []string{"daily_activity", "sleep", "heartrate", "personal_info"}
	ctx := context.Background()
	clean := t.TempDir()
	if _, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: clean, Since: since, Until: until, Collections: colls}); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	// Longer than the client waits for: these requests fail at once.
	e.sim.ForceRateLimit(3, 10*time.Minute)
	_, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Since: since, Until: until, Collections: colls, Workers: 2})
	if err == nil || oura.KindOf(err) != oura.KindRateLimited {
		t.Fatalf("got %v, want the rate limit", err)
	}
	if _, err := pull.Run(ctx, pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Since: since, Until: until, Collections: colls}); err != nil {
		t.Fatal(err)
	}
	want, got := testutil.Snapshot(t, clean), testutil.Snapshot(t, out)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from the pull that never failed", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d files, want %d", len(got), len(want))
	}
}

// Derived files an earlier run wrote that the raw files no longer give are
// removed; anything else in the directory stays.
func TestPullRemovesStaleDerivedFiles(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{})
	since, until := e.lastDays(3)
	out := t.TempDir()
	stale := []string{filepath.Join("rook", "gone.json"), filepath.Join("csv", "rook-gone.csv"), filepath.Join("parquet", "rook-gone.parquet")}
	other := filepath.Join("rook", "notes.txt")
	for _, name := range append(stale, other) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(out, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := pull.Run(context.Background(), pull.Options{Provider: e.prov, Auth: e.auth(), Out: out, Since: since, Until: until, Collections: []string{"daily_activity"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(out, name)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it removed", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, other)); err != nil {
		t.Errorf("%s: %v, want it kept", other, err)
	}
	for _, name := range sum.Files {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("written %s: %v", name, err)
		}
	}
	if len(sum.Files) == 0 {
		t.Error("no files written")
	}
}
