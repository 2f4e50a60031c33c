package sim

import (
	"encoding/json"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

func dt(s string) oura.DateTime { return oura.DateTime(s) }

func dtp(s string) *oura.DateTime { v := oura.DateTime(s); return &v }

// craftedDay is one user's day with documents placed on the edges of the
// filters: each test names the ids it expects back.
func craftedDay() *Day {
	return &Day{
		Date: "2024-11-12",
		// daily_activity: day T04:00 local (+02:00) = 02:00Z, after the
		// end-date midnight, so end_date=D leaves it out.
		DailyActivity: &oura.DailyActivity{ID: "act", Day: "2024-11-12", Timestamp: dt("2024-11-12T04:00:00+02:00")},
		// readiness and daily_sleep: day T00:00+00:00, exactly on the end.
		DailyReadiness: &oura.DailyReadiness{ID: "rdy", Day: "2024-11-12", Timestamp: dt("2024-11-12T00:00:00+00:00")},
		DailySleep:     &oura.DailySleep{ID: "dsl", Day: "2024-11-12", Timestamp: dt("2024-11-12T00:00:00+00:00")},
		DailyStress:    &oura.DailyStress{ID: "str", Day: "2024-11-12"},
		Sleep: []oura.Sleep{
			// The night of day 11-12 began 11-11 23:30 local = 22:30Z.
			{ID: "night", Day: "2024-11-12", BedtimeStart: dt("2024-11-11T23:30:00+01:00"), BedtimeEnd: dt("2024-11-12T07:00:00+01:00")},
			// A nap at 14:00 local.
			{ID: "nap", Day: "2024-11-12", BedtimeStart: dt("2024-11-12T14:00:00+01:00"), BedtimeEnd: dt("2024-11-12T14:30:00+01:00")},
		},
		Workouts: []oura.Workout{
			// 00:30 local is 23:30Z the day before.
			{ID: "early-run", Day: "2024-11-12", StartDatetime: dt("2024-11-12T00:30:00+01:00"), EndDatetime: dt("2024-11-12T01:00:00+01:00")},
			{ID: "run", Day: "2024-11-12", StartDatetime: dt("2024-11-12T18:00:00+01:00"), EndDatetime: dt("2024-11-12T19:00:00+01:00")},
		},
		EnhancedTags: []oura.EnhancedTag{
			{ID: "tag-late", StartDay: "2024-11-12", StartTime: dt("2024-11-12T00:44:30+01:00")},
		},
		RestModePeriods: []oura.RestModePeriod{
			{ID: "rest", StartDay: "2024-11-12", StartTime: dtp("2024-11-12T09:00:00+01:00")},
		},
		HeartRate: []oura.HeartRate{
			{BPM: 60, Source: "rest", Timestamp: dt("2024-11-12T00:00:00+00:00")},
			{BPM: 61, Source: "rest", Timestamp: dt("2024-11-12T00:05:00+00:00")},
			{BPM: 62, Source: "rest", Timestamp: dt("2024-11-12T00:10:00+00:00")},
		},
	}
}

func ids(es []listEntry, w dateWindow) []string {
	var out []string
	for _, e := range es {
		if w.match(e) {
			id := e.id
			if id == "" {
				id = string(e.at.UTC().Format("15:04"))
			}
			out = append(out, id)
		}
	}
	return out
}

func TestFilterKinds(t *testing.T) {
	day := craftedDay()
	srv := &Server{clock: NewClock(time.Date(2024, 11, 20, 12, 0, 0, 0, time.UTC), 0, nil)}
	user := &User{Location: time.FixedZone("CET", 3600)}
	sandboxWorld := newSandboxWorld()
	tests := []struct {
		name    string
		coll    string
		query   string
		sandbox bool
		want    []string
	}{
		// FilterDay: day in [start, end], inclusive.
		{"day: end inclusive", "daily_stress", "start_date=2024-11-12&end_date=2024-11-12", false, []string{"str"}},
		{"day: before start", "daily_stress", "start_date=2024-11-13&end_date=2024-11-14", false, nil},
		{"day: datetime end keeps its date", "daily_stress", "start_date=2024-11-11&end_date=2024-11-12T23:59:59", false, []string{"str"}},
		{"rest_mode_period on start_day", "rest_mode_period", "start_date=2024-11-12&end_date=2024-11-12", false, []string{"rest"}},
		// FilterInstantInclusive: instant in [start 00:00Z, end 00:00Z].
		{"readiness: end inclusive at midnight", "daily_readiness", "start_date=2024-11-11&end_date=2024-11-12", false, []string{"rdy"}},
		{"daily_sleep: start=end=D", "daily_sleep", "start_date=2024-11-12&end_date=2024-11-12", false, []string{"dsl"}},
		{"activity: end-exclusive in effect", "daily_activity", "start_date=2024-11-11&end_date=2024-11-12", false, nil},
		{"activity: next day includes it", "daily_activity", "start_date=2024-11-12&end_date=2024-11-13", false, []string{"act"}},
		{"activity: datetime end 23:59:59", "daily_activity", "start_date=2024-11-12&end_date=2024-11-12T23:59:59", false, []string{"act"}},
		{"sleep: start=end=D finds nothing", "sleep", "start_date=2024-11-12&end_date=2024-11-12", false, nil},
		{"sleep: night counted on the evening before", "sleep", "start_date=2024-11-11&end_date=2024-11-12", false, []string{"night"}},
		{"sleep: both with the next day", "sleep", "start_date=2024-11-11&end_date=2024-11-13", false, []string{"night", "nap"}},
		{"enhanced_tag: UTC start time", "enhanced_tag", "start_date=2024-11-10&end_date=2024-11-12", false, []string{"tag-late"}},
		// FilterInstantExclusive: [start 00:00Z, end 00:00Z).
		{"workout: end exclusive", "workout", "start_date=2024-11-12&end_date=2024-11-13", false, []string{"run"}},
		{"workout: early run is the day before in UTC", "workout", "start_date=2024-11-11&end_date=2024-11-12", false, []string{"early-run"}},
		{"workout: epoch seconds", "workout", "start_date=1731369600&end_date=1731456000", false, []string{"run"}},
		// FilterDateTime: [start_datetime, end_datetime).
		{"heartrate: end exclusive", "heartrate", "start_datetime=2024-11-12T00:00:00Z&end_datetime=2024-11-12T00:10:00Z", false, []string{"00:00", "00:05"}},
		{"heartrate: offset start", "heartrate", "start_datetime=2024-11-12T01:05:00%2B01:00&end_datetime=2024-11-13T00:00:00Z", false, []string{"00:05", "00:10"}},
		// The sandbox is end-exclusive everywhere.
		{"sandbox: day exclusive", "daily_stress", "start_date=2024-11-11&end_date=2024-11-12", true, nil},
		{"sandbox: readiness exclusive", "daily_readiness", "start_date=2024-11-11&end_date=2024-11-12", true, nil},
		{"sandbox: includes with next day", "daily_readiness", "start_date=2024-11-12&end_date=2024-11-13", true, []string{"rdy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			dr := &dataRequest{user: user, coll: collectionsByName[tc.coll], sandbox: tc.sandbox}
			if tc.sandbox {
				dr.world, dr.user = sandboxWorld, sandboxWorld.Users()[0]
			}
			w, _, errs := srv.resolveWindow(q, dr)
			if len(errs) > 0 {
				t.Fatalf("unexpected validation errors %+v", errs)
			}
			got := ids(entriesOf(tc.coll, day), w)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v (window %+v)", got, tc.want, w)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			// Every matching document lies within the days that get scanned.
			from, to := w.scanDays()
			if len(got) > 0 && (day.Date < from || day.Date > to) {
				t.Errorf("day %s outside scanned range [%s, %s]", day.Date, from, to)
			}
		})
	}
}

func TestDefaultWindows(t *testing.T) {
	now := time.Date(2024, 11, 20, 23, 30, 0, 0, time.UTC)
	srv := &Server{clock: NewClock(now, 0, nil)}
	// 23:30Z is already the 21st in UTC+2: "today" is the user's.
	user := &User{Location: time.FixedZone("EET", 2*3600)}
	w, _, _ := srv.resolveWindow(url.Values{}, &dataRequest{user: user, coll: collectionsByName["daily_stress"]})
	if w.StartDay != "2024-11-20" || w.EndDay != "2024-11-21" {
		t.Errorf("date default %s..%s, want yesterday..today local (2024-11-20..2024-11-21)", w.StartDay, w.EndDay)
	}
	w, _, _ = srv.resolveWindow(url.Values{}, &dataRequest{user: user, coll: collectionsByName["heartrate"]})
	if !w.End.Equal(now) || !w.Start.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("time series default %v..%v, want the last 24 h", w.Start, w.End)
	}
	w, latest, _ := srv.resolveWindow(url.Values{"latest": {"true"}}, &dataRequest{user: user, coll: collectionsByName["heartrate"]})
	if !latest || w.End.Before(now) {
		t.Errorf("latest=true: latest %v window %+v", latest, w)
	}
}

func TestTimeSeriesRowsCarryUnixMillis(t *testing.T) {
	for _, e := range entriesOf("heartrate", craftedDay()) {
		hr := e.doc.(oura.HeartRate)
		if hr.TimestampUnix == nil || *hr.TimestampUnix != e.at.UnixMilli() {
			t.Errorf("row %s: timestamp_unix %v", hr.Timestamp, hr.TimestampUnix)
		}
	}
}

func TestProjectFields(t *testing.T) {
	es := entriesOf("sleep", craftedDay())
	out := projectFields(es, []string{"day", "no_such_field"})
	m, ok := out[0].(map[string]jsonRaw)
	if !ok {
		t.Fatalf("projection gave %T", out[0])
	}
	if len(m) != 3 || m["day"] == nil || m["id"] == nil || m["bedtime_start"] == nil {
		t.Errorf("fields=day on sleep kept %v, want day plus the anchors id and bedtime_start", keys(m))
	}
	if _, whole := projectFields(es, []string{"nothing_known"})[0].(*oura.Sleep); !whole {
		t.Error("no known field: documents must come back whole")
	}
}

type jsonRaw = json.RawMessage

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
