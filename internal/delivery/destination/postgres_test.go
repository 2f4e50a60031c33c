package destination

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil"
)

func pgConnect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// withHost points dsn at another host:port.
func withHost(t testing.TB, dsn, hostport string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	return u.String()
}

func TestPostgresWritesNewestVersionAndViews(t *testing.T) {
	dsn := testutil.PostgresSchemaURL(t, "dest")
	w := newWriter(t, &PostgresSettings{DSN: dsn})
	if err := w.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	docs := goldenDocs(t, "sim-user0", "sim-user1", "real-2024-12", "seed003")
	newest := map[string]Doc{}
	id := func(d Doc) string {
		return strings.Join([]string{d.ClientUUID, d.UserID, d.Pillar, d.DataStructure, d.Key}, "|")
	}
	var v2s []Doc
	for i, d := range docs {
		newest[id(d)] = d
		if i%4 == 0 {
			v2 := bump(t, d, 2, sleepEdit)
			v2s = append(v2s, v2)
			newest[id(d)] = v2
		}
	}
	// The newer versions first, then every version 1 (a late retry or a
	// replay of an older version), then the newer ones again: neither
	// moves a row back or changes it.
	for _, batch := range [][]Doc{v2s, docs, v2s} {
		if failed, err := writeAll(t, w, batch); len(failed) > 0 {
			t.Fatalf("%d writes failed: %v", len(failed), err)
		}
	}

	c := pgConnect(t, dsn)
	ctx := context.Background()
	rows, err := c.Query(ctx, `SELECT client_uuid, user_id, pillar, data_structure, key, coalesce(day::text, ''), document_version, webhook_id, document::text FROM wearlink_documents`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for rows.Next() {
		var d Doc
		var body string
		if err := rows.Scan(&d.ClientUUID, &d.UserID, &d.Pillar, &d.DataStructure, &d.Key, &d.Day, &d.Version, &d.WebhookID, &body); err != nil {
			t.Fatal(err)
		}
		want, ok := newest[id(d)]
		if !ok {
			t.Fatalf("unexpected row %s", docID(d))
		}
		got[id(d)] = true
		if d.Version != want.Version || d.WebhookID != want.WebhookID || d.Day != want.Day {
			t.Fatalf("row %s: version %d webhook %s day %s, want %d %s %s", id(d), d.Version, d.WebhookID, d.Day, want.Version, want.WebhookID, want.Day)
		}
		if diff := jsonDiff(t, []byte(body), want.Body); diff != "" {
			t.Fatalf("row %s holds another document (-row +want):\n%s", id(d), diff)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(newest) {
		t.Fatalf("%d rows, want %d", len(got), len(newest))
	}

	checkViews(t, c, newest)
}

func jsonDiff(t testing.TB, a, b []byte) string {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(x, y)
}

// checkViews reads the views back and compares their columns with the
// fields of the typed documents.
func checkViews(t *testing.T, c *pgx.Conn, docs map[string]Doc) {
	t.Helper()
	ctx := context.Background()
	// Every view answers, with one row per summary or per event.
	wantRows := map[string]int{}
	for _, d := range docs {
		hd, err := health.Decode(health.Document{Pillar: d.Pillar, DataStructure: d.DataStructure, Body: d.Body})
		if err != nil {
			t.Fatal(err)
		}
		n := 1
		if ev, ok := eventCount(hd); ok {
			n = ev
		}
		wantRows[tablePrefix+d.Structure()] += n
	}
	for _, v := range Views() {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{v.Name}.Sanitize()).Scan(&n); err != nil {
			t.Fatalf("view %s: %v", v.Name, err)
		}
		if n != wantRows[v.Name] {
			t.Errorf("view %s has %d rows, want %d", v.Name, n, wantRows[v.Name])
		}
	}

	type check struct {
		view, cols string
		want       func(health.Doc) []any
	}
	i := func(p *int) any {
		if p == nil {
			return nil
		}
		return int64(*p)
	}
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	checks := map[string]check{
		health.SleepSummary: {"wearlink_sleep_summary",
			"sleep_duration_seconds, deep_sleep_seconds, rem_sleep_seconds, light_sleep_seconds, awake_seconds, hr_avg_bpm, hr_resting_bpm, hrv_avg_rmssd, sleep_efficiency",
			func(d health.Doc) []any {
				s := d.(*health.SleepSummaryDocument).Summary
				return []any{i(s.Duration.SleepDurationSeconds), i(s.Duration.DeepSleepDurationSeconds), i(s.Duration.REMSleepDurationSeconds),
					i(s.Duration.LightSleepDurationSeconds), i(s.Duration.TimeAwakeDuringSleepSeconds), i(s.HeartRate.HRAvgBPM),
					i(s.HeartRate.HRRestingBPM), f(s.HeartRate.HRVAvgRMSSD), i(s.Scores.SleepEfficiency1To100Score)}
			}},
		health.PhysicalSummary: {"wearlink_physical_summary",
			"steps, calories_expenditure_kcal, calories_net_active_kcal, active_seconds, hr_avg_bpm, hrv_avg_rmssd, walked_distance_meters",
			func(d health.Doc) []any {
				s := d.(*health.PhysicalSummaryDocument).Summary
				return []any{i(s.Distance.Steps), f(s.Calories.CaloriesExpenditureKcal), f(s.Calories.CaloriesNetActiveKcal),
					i(s.Activity.ActiveSeconds), i(s.HeartRate.HRAvgBPM), f(s.HeartRate.HRVAvgRMSSD), f(s.Distance.WalkedDistanceMeters)}
			}},
		health.BodySummary: {"wearlink_body_summary", "weight_kg, hr_avg_bpm, hr_resting_bpm, hrv_avg_rmssd, saturation_avg_percentage",
			func(d health.Doc) []any {
				s := d.(*health.BodySummaryDocument).Summary
				return []any{f(s.BodyMetrics.WeightKg), i(s.HeartRate.HRAvgBPM), i(s.HeartRate.HRRestingBPM), f(s.HeartRate.HRVAvgRMSSD),
					i(s.Oxygenation.SaturationAvgPercentage)}
			}},
		health.BodyMetricsEvent: {"wearlink_body_metrics_event", "weight_kg, height_cm, bmi",
			func(d health.Doc) []any {
				e := d.(*health.BodyMetricsEventDocument).Events[0]
				return []any{f(e.BodyMetrics.WeightKg), i(e.BodyMetrics.HeightCm), f(e.BodyMetrics.BMI)}
			}},
		health.HeartRateEvent: {"wearlink_body_heart_rate_event", "hr_avg_bpm, hr_min_bpm, hr_max_bpm, hrv_avg_rmssd, hrv_avg_sdnn",
			func(d health.Doc) []any {
				e := d.(*health.BodyHeartRateEventDocument).Events[0]
				return []any{i(e.HeartRate.HRAvgBPM), i(e.HeartRate.HRMinimumBPM), i(e.HeartRate.HRMaximumBPM),
					f(e.HeartRate.HRVAvgRMSSD), f(e.HeartRate.HRVAvgSDNN)}
			}},
		health.ActivityEvent: {"wearlink_activity_event", "activity_duration_seconds, activity_type, steps, calories_expenditure_kcal, hr_avg_bpm",
			func(d health.Doc) []any {
				e := d.(*health.ActivityEventDocument).Events[0]
				var typ any
				if e.Activity.ActivityTypeName != nil {
					typ = *e.Activity.ActivityTypeName
				}
				return []any{i(e.Activity.ActivityDurationSeconds), typ, i(e.Distance.Steps), f(e.Calories.CaloriesExpenditureKcal), i(e.HeartRate.HRAvgBPM)}
			}},
	}
	checked := map[string]int{}
	nonNull := map[string]int{}
	for _, d := range docs {
		ck, ok := checks[d.DataStructure]
		if !ok || d.Pillar == health.PillarPhysical && d.DataStructure == health.HeartRateEvent {
			continue
		}
		hd, err := health.Decode(health.Document{Pillar: d.Pillar, DataStructure: d.DataStructure, Body: d.Body})
		if err != nil {
			t.Fatal(err)
		}
		want := ck.want(hd)
		got := make([]any, len(want))
		ptrs := make([]any, len(want))
		for k := range got {
			ptrs[k] = &got[k]
		}
		q := fmt.Sprintf("SELECT %s FROM %s WHERE client_uuid = $1 AND user_id = $2 AND key = $3", ck.cols, ck.view)
		if err := c.QueryRow(ctx, q, d.ClientUUID, d.UserID, d.Key).Scan(ptrs...); err != nil {
			t.Fatalf("%s of %s: %v", ck.view, docID(d), err)
		}
		for k := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
				t.Errorf("%s of %s: column %d (%s) is %v, want %v", ck.view, docID(d), k, strings.Split(ck.cols, ", ")[k], got[k], want[k])
			}
			if want[k] != nil {
				nonNull[d.DataStructure]++
			}
		}
		checked[d.DataStructure]++
	}
	for ds := range checks {
		if checked[ds] == 0 || nonNull[ds] == 0 {
			t.Errorf("no %s document with values was checked", ds)
		}
	}
	t.Logf("checked view columns of %v", checked)
}

// eventCount is the number of events in an event document.
func eventCount(d health.Doc) (int, bool) {
	b, _ := json.Marshal(d)
	var top map[string]json.RawMessage
	_ = json.Unmarshal(b, &top)
	var p struct {
		Events map[string][]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(top[d.Pillar()], &p); err != nil || p.Events == nil {
		return 0, false
	}
	return len(p.Events[d.DataStructure()]), true
}

func TestPostgresOwnSchemaAndConcurrentMigrations(t *testing.T) {
	base := testutil.PostgresSchemaURL(t, "dest")
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "wl_dest_" + hex.EncodeToString(b[:])
	c := pgConnect(t, base)
	t.Cleanup(func() { _, _ = c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	set := &PostgresSettings{DSN: base, Schema: schema}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		w := newWriter(t, set)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.Test(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var versions []int32
	rows, _ := c.Query(context.Background(), "SELECT version FROM "+schema+".wearlink_schema_version ORDER BY version")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("schema versions %v", versions)
	}
	// The table dropped behind the writer's back is made again.
	w := newWriter(t, set)
	doc := goldenDocs(t, "sim-user0")[0]
	if err := w.Write(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		t.Fatal(err)
	}
	err = w.Write(context.Background(), doc)
	wantClass(t, err, ClassNotFound, "does not exist")
	if err := w.Write(context.Background(), doc); err != nil {
		t.Fatalf("after the schema went missing: %v", err)
	}
}

func TestPostgresRestartLosesNothing(t *testing.T) {
	dsn := testutil.PostgresSchemaURL(t, "dest")
	u, _ := url.Parse(dsn)
	p := desttest.NewProxy(t, u.Host)
	w := newWriter(t, &PostgresSettings{DSN: withHost(t, dsn, p.Addr)})
	docs := goldenDocs(t, "sim-user0")
	wantClass(t, outage(t, w, docs, p.Stop, p.Start), ClassConnect, "connection refused")
	var n int
	if err := pgConnect(t, dsn).QueryRow(context.Background(), "SELECT count(*) FROM wearlink_documents").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(docs) {
		t.Fatalf("%d rows, want %d", n, len(docs))
	}
}

func TestPostgresRejections(t *testing.T) {
	dsn := testutil.PostgresSchemaURL(t, "dest")
	ctx := context.Background()
	c := pgConnect(t, dsn)
	var schema string
	if err := c.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// A role that may log in but not create anything in the schema.
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := "wl_nogrant_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	// Roles belong to the cluster, not to the test's schema: the grant
	// below must go (DROP OWNED) before the role can, or every run leaves
	// one behind. This runs before pgConnect closes c.
	t.Cleanup(func() {
		_, _ = c.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	if _, err := c.Exec(ctx, "GRANT USAGE ON SCHEMA "+schema+" TO "+role); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	as := func(user, db string) string {
		v := *u
		v.User = url.UserPassword(user, "db-secret-password")
		if db != "" {
			v.Path = "/" + db
		}
		return v.String()
	}
	doc := goldenDocs(t, "sim-user0")[0]
	for _, tc := range []struct {
		name  string
		dsn   string
		class Class
		want  string
	}{
		{"unknown role", as("wl_nobody_at_all", ""), ClassAuth, `role "wl_nobody_at_all" does not exist`},
		{"no create grant", as(role, ""), ClassPermission, "permission denied"},
		{"missing database", as("postgres", "wl_no_such_db"), ClassNotFound, `database "wl_no_such_db" does not exist`},
		{"unreachable", withHost(t, dsn, closedAddr(t)), ClassConnect, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWriter(t, &PostgresSettings{DSN: tc.dsn})
			err := w.Test(ctx)
			t.Logf("test: %v", err)
			wantClass(t, err, tc.class, tc.want, "db-secret-password")
			wantClass(t, w.Write(ctx, doc), tc.class, tc.want, "db-secret-password")
		})
	}
}
