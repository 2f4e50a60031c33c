package normalize

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

func ptr[T any](v T) *T { return &v }

var testOpt = Options{ClientUUID: testClient, UserID: testUser}

// run1 normalizes in and fails on an error.
func run1(t *testing.T, in *Input, opt Options) []Result {
	t.Helper()
	res, err := Normalize(in, opt)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return res
}

// only returns the single result of a structure (pillar-insensitive) and
// key; it fails when there is not exactly one.
func only[D health.Doc](t *testing.T, res []Result, key string) D {
	t.Helper()
	var found []D
	for _, r := range res {
		if d, ok := r.Doc.(D); ok && r.Key == key {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		var zero D
		t.Fatalf("%d %T with key %q in %v", len(found), zero, key, keysOf(res))
	}
	return found[0]
}

func keysOf(res []Result) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Doc.DataStructure()+":"+r.Key)
	}
	return out
}

// nsdCollections lists collection/role of each non-structured item.
func nsdCollections(t *testing.T, items health.NonStructuredData) []string {
	t.Helper()
	var out []string
	for _, it := range items {
		var w struct {
			Source, Collection, Role string
		}
		if err := json.Unmarshal(it, &w); err != nil || w.Source != "oura" {
			t.Fatalf("bad item %s: %v", it, err)
		}
		s := w.Collection
		if w.Role != "" {
			s += "/" + w.Role
		}
		out = append(out, s)
	}
	return out
}

// period is a sleep period of the night of 2024-03-05 in +01:00.
func period(id string, typ oura.SleepType, start, end string) oura.Sleep {
	s, _ := time.Parse(time.RFC3339, start)
	e, _ := time.Parse(time.RFC3339, end)
	return oura.Sleep{ID: id, Day: "2024-03-05", Type: &typ,
		BedtimeStart: oura.DateTime(start), BedtimeEnd: oura.DateTime(end), TimeInBed: int(e.Sub(s).Seconds())}
}

// TestMainSleepPeriod checks which period a night's summary describes and
// that the others are listed, never lost.
func TestMainSleepPeriod(t *testing.T) {
	long := period("long", oura.SleepTypeLongSleep, "2024-03-04T23:30:00+01:00", "2024-03-05T06:30:00+01:00")
	longer := period("longer", oura.SleepTypeLongSleep, "2024-03-04T22:00:00+01:00", "2024-03-05T07:00:00+01:00")
	sleep := period("sleep", oura.SleepTypeSleep, "2024-03-05T01:00:00+01:00", "2024-03-05T09:00:00+01:00")
	short := period("short", oura.SleepTypeSleep, "2024-03-05T13:00:00+01:00", "2024-03-05T14:00:00+01:00")
	nap := period("nap", oura.SleepTypeLateNap, "2024-03-05T18:00:00+01:00", "2024-03-05T19:00:00+01:00")
	rest := period("rest", oura.SleepTypeRest, "2024-03-05T15:00:00+01:00", "2024-03-05T20:00:00+01:00")
	deleted := period("gone", oura.SleepTypeDeleted, "2024-03-04T20:00:00+01:00", "2024-03-05T10:00:00+01:00")
	tests := []struct {
		name      string
		periods   []oura.Sleep
		wantStart *string
		wantNSD   []string
	}{
		{"long_sleep beats a longer sleep", []oura.Sleep{sleep, long, short}, ptr("2024-03-04T23:30:00.000000+01:00"),
			[]string{"sleep/main", "sleep/nap", "sleep/nap"}},
		{"longest long_sleep", []oura.Sleep{long, longer}, ptr("2024-03-04T22:00:00.000000+01:00"),
			[]string{"sleep/main", "sleep/nap"}},
		{"else the longest sleep", []oura.Sleep{short, sleep, nap}, ptr("2024-03-05T01:00:00.000000+01:00"),
			[]string{"sleep/main", "sleep/nap", "sleep/nap"}},
		{"naps and rest are never the night", []oura.Sleep{nap, rest}, nil,
			[]string{"sleep/nap", "sleep/nap"}},
		{"deleted periods are listed as deleted", []oura.Sleep{deleted, long}, ptr("2024-03-04T23:30:00.000000+01:00"),
			[]string{"sleep/main", "sleep/deleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run1(t, &Input{Sleep: tt.periods}, testOpt)
			d := only[*health.SleepSummaryDocument](t, res, "2024-03-05")
			if got := d.Summary.Duration.SleepStartDatetime; !reflect.DeepEqual(got, tt.wantStart) {
				t.Errorf("start = %v, want %v", deref(got), deref(tt.wantStart))
			}
			// The hypnogram is absent here (no phases), so the list is the periods.
			if got := nsdCollections(t, d.Summary.NonStructuredData); !reflect.DeepEqual(got, tt.wantNSD) {
				t.Errorf("non-structured items %v, want %v", got, tt.wantNSD)
			}
			if d.Summary.Duration.SleepDate == nil || *d.Summary.Duration.SleepDate != "2024-03-05" {
				t.Errorf("sleep_date_string = %v", deref(d.Summary.Duration.SleepDate))
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestSleepFields maps one period with its dailies and checks every field
// the summary takes from Oura, including rounding and granular samples.
func TestSleepFields(t *testing.T) {
	p := period("p1", oura.SleepTypeLongSleep, "2024-03-04T23:00:00+01:00", "2024-03-05T07:00:00+01:00")
	p.TotalSleepDuration, p.LightSleepDuration, p.REMSleepDuration, p.DeepSleepDuration = ptr(25200), ptr(14400), ptr(5400), ptr(5400)
	p.Latency, p.AwakeTime, p.Efficiency = ptr(600), ptr(3600), ptr(88)
	p.AverageHeartRate, p.LowestHeartRate, p.AverageHRV, p.AverageBreath = ptr(55.5), ptr(48), ptr(41), ptr(14.49)
	p.HeartRate = &oura.Sample{Interval: 300, Items: []*float64{ptr(60.0), nil, ptr(57.5), ptr(70.0)}, Timestamp: "2024-03-04T23:00:00.000+01:00"}
	p.HRV = &oura.Sample{Interval: 300, Items: []*float64{nil, ptr(38.0)}, Timestamp: "2024-03-04T23:00:00.000+01:00"}
	p.SleepPhase5Min = ptr("4221x33")
	p.Readiness = &oura.Readiness{TemperatureDeviation: ptr(0.3)}
	in := &Input{
		Sleep:          []oura.Sleep{p},
		DailyReadiness: []oura.DailyReadiness{{ID: "r", Day: "2024-03-05", TemperatureDeviation: ptr(-0.21)}},
		DailySpO2:      []oura.DailySpO2{{ID: "s", Day: "2024-03-05", SpO2Percentage: &oura.SpO2Aggregate{Average: 96.5}}},
		DailySleep:     []oura.DailySleep{{ID: "d", Day: "2024-03-05", Score: ptr(81)}},
	}
	d := only[*health.SleepSummaryDocument](t, run1(t, in, testOpt), "2024-03-05")
	s := d.Summary
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"start", deref(s.Duration.SleepStartDatetime), "2024-03-04T23:00:00.000000+01:00"},
		{"end", deref(s.Duration.SleepEndDatetime), "2024-03-05T07:00:00.000000+01:00"},
		{"sleep duration", deref(s.Duration.SleepDurationSeconds), 25200},
		{"time in bed", deref(s.Duration.TimeInBedSeconds), 28800},
		{"light", deref(s.Duration.LightSleepDurationSeconds), 14400},
		{"latency", deref(s.Duration.TimeToFallAsleepSeconds), 600},
		{"awake", deref(s.Duration.TimeAwakeDuringSleepSeconds), 3600},
		{"efficiency", deref(s.Scores.SleepEfficiency1To100Score), 88},
		{"average hr, half rounds up", deref(s.HeartRate.HRAvgBPM), 56},
		{"lowest hr", deref(s.HeartRate.HRMinimumBPM), 48},
		{"resting hr is the lowest", deref(s.HeartRate.HRRestingBPM), 48},
		{"max hr from the 5-minute items", deref(s.HeartRate.HRMaximumBPM), 70},
		{"hrv", deref(s.HeartRate.HRVAvgRMSSD), 41.0},
		{"breath 14.49 rounds down", deref(s.Breathing.BreathsAvgPerMin), 14},
		{"spo2 96.5 rounds up", deref(s.Breathing.SaturationAvgPercentage), 97},
		{"daily readiness wins for temperature", deref(s.Temperature.TemperatureDelta.TemperatureCelsius), -0.21},
		{"skin temperature", deref(s.Temperature.TemperatureDelta.MeasurementType), "skin"},
		{"unknown stays null", s.Scores.SleepGoalSeconds == nil && s.HeartRate.HRVAvgSDNN == nil && s.HeartRate.HRBasalBPM == nil, true},
		{"hr samples: nulls skipped, offset kept, 57.5 rounds up", fmtHR(s.HeartRate.HRGranularData),
			"2024-03-04T23:00:00.000000+01:00=60 2024-03-04T23:10:00.000000+01:00=58 2024-03-04T23:15:00.000000+01:00=70"},
		{"hrv samples", len(s.HeartRate.HRVRMSSDGranularData), 1},
		{"hrv sample time", deref(s.HeartRate.HRVRMSSDGranularData[0].Datetime), "2024-03-04T23:05:00.000000+01:00"},
		{"attachments", strings.Join(nsdCollections(t, s.NonStructuredData), " "),
			"daily_sleep daily_readiness sleep/main sleep/hypnogram"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	var h hypnogramItem
	if err := json.Unmarshal(s.NonStructuredData[3], &h); err != nil {
		t.Fatal(err)
	}
	want := []hypnogramPhase{
		{"2024-03-04T23:00:00.000000+01:00", 300, "awake"},
		{"2024-03-04T23:05:00.000000+01:00", 600, "light"},
		{"2024-03-04T23:15:00.000000+01:00", 300, "deep"},
		{"2024-03-04T23:25:00.000000+01:00", 600, "rem"},
	}
	if !reflect.DeepEqual(h.Phases, want) {
		t.Errorf("hypnogram %+v, want %+v", h.Phases, want)
	}
}

func fmtHR(g []health.HRSample) string {
	var parts []string
	for _, s := range g {
		parts = append(parts, *s.Datetime+"="+itoa(*s.HRBPM))
	}
	return strings.Join(parts, " ")
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestGranularClipping drops samples outside the period and series whose
// interval or timestamp is unusable, and keeps the rest.
func TestGranularClipping(t *testing.T) {
	items := []*float64{ptr(50.0), ptr(51.0), ptr(52.0), ptr(53.0)}
	tests := []struct {
		name   string
		sample *oura.Sample
		want   int
	}{
		{"all inside", &oura.Sample{Interval: 300, Items: items, Timestamp: "2024-03-05T06:00:00+01:00"}, 4},
		{"longer than the period", &oura.Sample{Interval: 300, Items: items, Timestamp: "2024-03-05T06:50:00+01:00"}, 3},
		{"starting before the period", &oura.Sample{Interval: 300, Items: items, Timestamp: "2024-03-04T22:50:00+01:00"}, 2},
		{"zero interval", &oura.Sample{Interval: 0, Items: items, Timestamp: "2024-03-05T06:00:00+01:00"}, 0},
		{"negative interval", &oura.Sample{Interval: -300, Items: items, Timestamp: "2024-03-05T06:00:00+01:00"}, 0},
		{"absurd interval", &oura.Sample{Interval: 1e300, Items: items, Timestamp: "2024-03-05T06:00:00+01:00"}, 1},
		{"bad timestamp", &oura.Sample{Interval: 300, Items: items, Timestamp: "yesterday"}, 0},
		{"empty", &oura.Sample{Interval: 300, Timestamp: "2024-03-05T06:00:00+01:00"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := period("p", oura.SleepTypeLongSleep, "2024-03-04T23:00:00+01:00", "2024-03-05T07:00:00+01:00")
			p.HeartRate = tt.sample
			d := only[*health.SleepSummaryDocument](t, run1(t, &Input{Sleep: []oura.Sleep{p}}, testOpt), "2024-03-05")
			if got := len(d.Summary.HeartRate.HRGranularData); got != tt.want {
				t.Errorf("%d samples, want %d: %s", got, tt.want, fmtHR(d.Summary.HeartRate.HRGranularData))
			}
		})
	}
}

// TestNullNotZero checks that values Oura does not know come out null,
// never 0, and that impossible values are treated as unknown.
func TestNullNotZero(t *testing.T) {
	in := &Input{
		Sleep: []oura.Sleep{{ID: "p", Day: "2024-03-05", Type: ptr(oura.SleepTypeLongSleep),
			BedtimeStart: "2024-03-04T23:00:00+01:00", BedtimeEnd: "2024-03-05T07:00:00+01:00",
			LowestHeartRate: ptr(0), Latency: ptr(-30), AverageBreath: ptr(0.0), Efficiency: ptr(140)}},
		DailySpO2:    []oura.DailySpO2{{ID: "s", Day: "2024-03-05"}},
		VO2Max:       []oura.VO2Max{{ID: "v", Day: "2024-03-05", VO2Max: 0}},
		PersonalInfo: []oura.PersonalInfo{{ID: "me", Weight: ptr(0.0)}},
		DailyStress:  []oura.DailyStress{{ID: "st", Day: "2024-03-05"}},
		Workout:      []oura.Workout{{ID: "w", Day: "2024-03-05", StartDatetime: "2024-03-05T10:00:00+01:00", EndDatetime: "2024-03-05T09:00:00+01:00", Intensity: "hard", Calories: ptr(-5.0)}},
	}
	res := run1(t, in, testOpt)
	s := only[*health.SleepSummaryDocument](t, res, "2024-03-05").Summary
	p := only[*health.PhysicalSummaryDocument](t, res, "2024-03-05").Summary
	o := only[*health.BodyOxygenationEventDocument](t, res, "2024-03-05").Events[0]
	st := only[*health.StressEventDocument](t, res, "2024-03-05").Events[0]
	w := only[*health.ActivityEventDocument](t, res, "workout:w").Events[0]
	u := only[*health.UserInfoDocument](t, res, "2024-03-05")
	nulls := map[string]any{
		"sleep lowest hr 0":          s.HeartRate.HRMinimumBPM,
		"sleep resting hr 0":         s.HeartRate.HRRestingBPM,
		"negative latency":           s.Duration.TimeToFallAsleepSeconds,
		"breath 0":                   s.Breathing.BreathsAvgPerMin,
		"efficiency over 100":        s.Scores.SleepEfficiency1To100Score,
		"no spo2 average":            s.Breathing.SaturationAvgPercentage,
		"sleep without durations":    s.Duration.SleepDurationSeconds,
		"vo2max 0":                   p.Oxygenation.VO2MaxMLPerMinPerKg,
		"physical without activity":  p.Activity.RestSeconds,
		"physical without samples":   p.HeartRate.HRAvgBPM,
		"oxygenation event no spo2":  o.Oxygenation.SaturationAvgPercentage,
		"stress null":                st.Stress.HighStressDurationSeconds,
		"end before start: duration": w.Activity.ActivityDurationSeconds,
		"end before start: hard":     w.Activity.VigorousIntensitySeconds,
		"negative calories":          w.Calories.CaloriesNetActiveKcal,
		"weight 0":                   u.UserInformation.UserBodyMetrics.WeightKg,
		"no height":                  u.UserInformation.UserBodyMetrics.HeightCm,
	}
	for name, v := range nulls {
		if !reflect.ValueOf(v).IsNil() {
			t.Errorf("%s: got %v, want null", name, reflect.ValueOf(v).Elem().Interface())
		}
	}
	for _, r := range res {
		if r.Doc.DataStructure() == health.BodyMetricsEvent {
			t.Error("body_metrics_event without any measurement")
		}
	}
}

// TestRounding checks the rounding rule (normkit.RoundInt) where an Oura
// float becomes an *_int field.
func TestRounding(t *testing.T) {
	in := &Input{PersonalInfo: []oura.PersonalInfo{{ID: "me", Height: ptr(1.755), Weight: ptr(70.0), BiologicalSex: ptr("female")}}}
	res := run1(t, in, Options{ClientUUID: testClient, UserID: testUser, AsOf: "2024-03-05", Location: time.UTC})
	u := only[*health.UserInfoDocument](t, res, "2024-03-05")
	if got := deref(u.UserInformation.UserBodyMetrics.HeightCm); got != 176 {
		t.Errorf("height 1.755 m = %v cm, want 176", got)
	}
	m := only[*health.BodyMetricsEventDocument](t, res, "2024-03-05").Events[0].BodyMetrics
	if got := deref(m.BMI); got != 22.7 {
		t.Errorf("bmi = %v, want 22.7", got)
	}
	if got := deref(u.UserInformation.UserDemographics.TimeZone); got != "UTC" {
		t.Errorf("time zone = %v", got)
	}
}

// TestHeartRateDays checks which local day a UTC sample belongs to and the
// offset it is written in: the given zone, else the offset of the user's
// localized documents, else UTC.
func TestHeartRateDays(t *testing.T) {
	hr := []oura.HeartRate{
		{BPM: 60, Source: "awake", Timestamp: "2024-03-05T22:30:00+00:00"},
		{BPM: 70, Source: "awake", Timestamp: "2024-03-05T23:30:00+00:00"},
	}
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Skip("no zone database")
	}
	tokyoSleep := []oura.Sleep{period("p", oura.SleepTypeLongSleep, "2024-03-05T23:00:00+09:00", "2024-03-06T07:00:00+09:00")}
	tests := []struct {
		name  string
		sleep []oura.Sleep
		loc   *time.Location
		want  map[string]string // day -> first sample
	}{
		{"zone given", nil, helsinki, map[string]string{"2024-03-06": "2024-03-06T00:30:00.000000+02:00"}},
		{"offset from the documents", tokyoSleep, nil, map[string]string{"2024-03-06": "2024-03-06T07:30:00.000000+09:00"}},
		{"nothing known: UTC", nil, nil, map[string]string{"2024-03-05": "2024-03-05T22:30:00.000000Z"}},
		{"zone given wins over documents", tokyoSleep, helsinki, map[string]string{"2024-03-06": "2024-03-06T00:30:00.000000+02:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run1(t, &Input{HeartRate: hr, Sleep: tt.sleep}, Options{ClientUUID: testClient, UserID: testUser, Location: tt.loc})
			got := map[string]string{}
			for _, r := range res {
				if d, ok := r.Doc.(*health.BodyHeartRateEventDocument); ok {
					got[r.Key] = *d.Events[0].HeartRate.HRGranularData[0].Datetime
					if n := len(d.Events[0].HeartRate.HRGranularData); n != 2 {
						t.Errorf("%s: %d samples, want 2", r.Key, n)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("heart-rate events %v, want %v", got, tt.want)
			}
		})
	}
}

// TestActivityEvents checks workouts and sessions: keys, auto detection,
// intensity, and heart rate from the samples inside the window.
func TestActivityEvents(t *testing.T) {
	in := &Input{
		Workout: []oura.Workout{
			{ID: "w1", Activity: "cycling", Day: "2024-03-05", StartDatetime: "2024-03-05T10:00:00+01:00", EndDatetime: "2024-03-05T10:30:00+01:00",
				Intensity: "moderate", Source: "autodetected", Calories: ptr(210.5), Distance: ptr(9000.0)},
			{Activity: "walking", Day: "2024-03-05", StartDatetime: "2024-03-05T18:00:00+01:00", EndDatetime: "2024-03-05T18:20:00+01:00", Intensity: "easy", Source: "manual"},
		},
		Session: []oura.Session{{ID: "s1", Day: "2024-03-05", Type: "meditation", StartDatetime: "2024-03-05T21:00:00+01:00", EndDatetime: "2024-03-05T21:10:00+01:00"}},
		HeartRate: []oura.HeartRate{
			{BPM: 90, Source: "workout", Timestamp: "2024-03-05T08:59:59+00:00"}, // before the workout
			{BPM: 120, Source: "workout", Timestamp: "2024-03-05T09:00:00+00:00"},
			{BPM: 140, Source: "workout", Timestamp: "2024-03-05T09:15:00+00:00"},
			{BPM: 100, Source: "workout", Timestamp: "2024-03-05T09:30:00+00:00"}, // at the end: excluded
			{BPM: 65, Source: "session", Timestamp: "2024-03-05T20:05:00+00:00"},
		},
	}
	res := run1(t, in, testOpt)
	w := only[*health.ActivityEventDocument](t, res, "workout:w1")
	r := w.Events[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"auto detected", deref(w.AutoDetected), true},
		{"type", deref(r.Activity.ActivityTypeName), "cycling"},
		{"duration", deref(r.Activity.ActivityDurationSeconds), 1800},
		{"moderate", deref(r.Activity.ModerateIntensitySeconds), 1800},
		{"calories", deref(r.Calories.CaloriesNetActiveKcal), 210.5},
		{"distance", deref(r.Distance.TraveledDistanceMeters), 9000.0},
		{"hr avg", deref(r.HeartRate.HRAvgBPM), 130},
		{"hr max", deref(r.HeartRate.HRMaximumBPM), 140},
		{"samples in the workout's offset", fmtHR(r.HeartRate.HRGranularData),
			"2024-03-05T10:00:00.000000+01:00=120 2024-03-05T10:15:00.000000+01:00=140"},
		{"exercising", deref(r.Metadata.WasTheUserUnderPhysicalActivity), true},
		{"day", w.Header.Day, "2024-03-05"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	manual := only[*health.ActivityEventDocument](t, res, "workout:@2024-03-05T18:00:00+01:00")
	if deref(manual.AutoDetected) != false || deref(manual.Events[0].Activity.LowIntensitySeconds) != 1200 {
		t.Errorf("manual workout: auto %v, low %v", deref(manual.AutoDetected), deref(manual.Events[0].Activity.LowIntensitySeconds))
	}
	s := only[*health.ActivityEventDocument](t, res, "session:s1").Events[0]
	if deref(s.Activity.ActivityTypeName) != "meditation" || fmtHR(s.HeartRate.HRGranularData) != "2024-03-05T21:05:00.000000+01:00=65" {
		t.Errorf("session: type %v, hr %s", deref(s.Activity.ActivityTypeName), fmtHR(s.HeartRate.HRGranularData))
	}
}

// TestPhysicalSummary checks the activity mapping and the class_5_min
// levels (nonsense characters skipped, characters past 24 hours dropped).
func TestPhysicalSummary(t *testing.T) {
	cls := "0125x" + strings.Repeat("3", 290)
	in := &Input{
		DailyActivity: []oura.DailyActivity{{ID: "a", Day: "2024-03-05", Timestamp: "2024-03-05T04:00:00-05:00", Class5Min: &cls,
			Steps: 9000, EquivalentWalkingDistance: 7200, TotalCalories: 2400, ActiveCalories: 500, RestingTime: 30000,
			SedentaryTime: 20000, LowActivityTime: 6000, MediumActivityTime: 1200, HighActivityTime: 300, InactivityAlerts: 2}},
		DailyStress:     []oura.DailyStress{{ID: "s", Day: "2024-03-05", StressHigh: ptr(3600), RecoveryHigh: ptr(5400)}},
		DailyResilience: []oura.DailyResilience{{ID: "r", Day: "2024-03-05", Level: "solid"}},
		VO2Max:          []oura.VO2Max{{ID: "v", Day: "2024-03-05", VO2Max: 44}},
	}
	p := only[*health.PhysicalSummaryDocument](t, run1(t, in, testOpt), "2024-03-05").Summary
	levels := p.Activity.ActivityLevelGranularData
	checks := []struct {
		name      string
		got, want any
	}{
		{"steps", deref(p.Distance.Steps), 9000},
		{"walked", deref(p.Distance.WalkedDistanceMeters), 7200.0},
		{"expenditure", deref(p.Calories.CaloriesExpenditureKcal), 2400.0},
		{"active kcal", deref(p.Calories.CaloriesNetActiveKcal), 500.0},
		{"rest", deref(p.Activity.RestSeconds), 30000},
		{"inactive", deref(p.Activity.InactivitySeconds), 20000},
		{"active = low + medium + high", deref(p.Activity.ActiveSeconds), 7500},
		{"inactivity alerts are nudges, not counted periods", p.Activity.ContinuousInactivePeriods == nil, true},
		{"high stress", deref(p.Stress.HighStressDurationSeconds), 3600},
		{"recovery as rest", deref(p.Stress.StressAtRestDurationSeconds), 5400},
		{"vo2max", deref(p.Oxygenation.VO2MaxMLPerMinPerKg), 44},
		{"levels: 287 of 288 slots are classes", len(levels), 287},
		{"non-wear has no level", levels[0].ActivityLevel == nil && deref(levels[0].ActivityLevelLabel) == "non_wear", true},
		{"rest", deref(levels[1].ActivityLevel), 1.0},
		{"high", deref(levels[3].ActivityLevelLabel), "high"},
		{"slot 5 after the skipped one", deref(levels[4].Datetime), "2024-03-05T04:25:00.000000-05:00"},
		{"last slot", deref(levels[len(levels)-1].Datetime), "2024-03-06T03:55:00.000000-05:00"},
		{"attachments", strings.Join(nsdCollections(t, p.NonStructuredData), " "), "daily_activity daily_resilience vO2_max"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestAttachments checks where the collections without ROOK fields go.
func TestAttachments(t *testing.T) {
	in := &Input{
		Tag:                    []oura.Tag{{ID: "t", Day: "2024-03-05", Timestamp: "2024-03-05T09:00:00+01:00"}},
		EnhancedTag:            []oura.EnhancedTag{{ID: "e", StartDay: "2024-03-05", StartTime: "2024-03-05T09:00:00+01:00"}},
		RestModePeriod:         []oura.RestModePeriod{{ID: "rm", StartDay: "2024-03-05"}},
		DailyCardiovascularAge: []oura.DailyCardiovascularAge{{Day: "2024-03-05", VascularAge: ptr(40)}},
		RingBatteryLevel:       []oura.RingBatteryLevel{{Timestamp: "2024-03-05T08:00:00+00:00", Level: 80}},
		SleepTime:              []oura.SleepTime{{ID: "st", Day: "2024-03-05"}},
		RingConfiguration:      []oura.RingConfiguration{{ID: "ring"}},
		PersonalInfo:           []oura.PersonalInfo{{ID: "me", Email: ptr("me@example.com"), Age: ptr(40)}},
	}
	res := run1(t, in, testOpt)
	b := only[*health.BodySummaryDocument](t, res, "2024-03-05").Summary
	want := "tag enhanced_tag rest_mode_period daily_cardiovascular_age ring_battery_level personal_info ring_configuration"
	if got := strings.Join(nsdCollections(t, b.NonStructuredData), " "); got != want {
		t.Errorf("body_summary items %q, want %q", got, want)
	}
	s := only[*health.SleepSummaryDocument](t, res, "2024-03-05").Summary
	if got := strings.Join(nsdCollections(t, s.NonStructuredData), " "); got != "sleep_time" {
		t.Errorf("sleep_summary items %q", got)
	}
	for _, r := range res {
		body, _ := json.Marshal(r.Doc)
		if strings.Contains(string(body), "me@example.com") {
			t.Errorf("%s carries the e-mail address", r.Doc.DataStructure())
		}
	}
}

// TestDuplicates keeps one document per id, maps the newest of a day's
// dailies and lists the others as superseded.
func TestDuplicates(t *testing.T) {
	in := &Input{
		DailyActivity: []oura.DailyActivity{
			{ID: "new", Day: "2024-03-05", Timestamp: "2024-03-05T04:00:00+01:00", Steps: 2000},
			{ID: "old", Day: "2024-03-05", Timestamp: "2024-03-05T03:00:00+01:00", Steps: 1000},
			{ID: "new", Day: "2024-03-05", Timestamp: "2024-03-05T04:00:00+01:00", Steps: 2000},
		},
		Workout: []oura.Workout{
			{ID: "w", Day: "2024-03-05", StartDatetime: "2024-03-05T10:00:00+01:00", EndDatetime: "2024-03-05T11:00:00+01:00"},
			{ID: "w", Day: "2024-03-05", StartDatetime: "2024-03-05T10:00:00+01:00", EndDatetime: "2024-03-05T11:00:00+01:00"},
		},
	}
	res := run1(t, in, testOpt)
	p := only[*health.PhysicalSummaryDocument](t, res, "2024-03-05").Summary
	if deref(p.Distance.Steps) != 2000 {
		t.Errorf("steps %v, want the newest document's 2000", deref(p.Distance.Steps))
	}
	if got := strings.Join(nsdCollections(t, p.NonStructuredData), " "); got != "daily_activity daily_activity/superseded" {
		t.Errorf("items %q", got)
	}
	only[*health.ActivityEventDocument](t, res, "workout:w")
}

// TestUnusableInput checks that documents that cannot be placed are named
// in the error while everything else is still normalized.
func TestUnusableInput(t *testing.T) {
	tests := []struct {
		name     string
		in       *Input
		opt      Options
		wantErr  []string // substrings, one per *InputError
		wantKeys []string
	}{
		{"bad day", &Input{
			DailySleep: []oura.DailySleep{{ID: "bad", Day: "2024-13-01"}, {ID: "ok", Day: "2024-03-05"}},
		}, testOpt, []string{"daily_sleep bad: day \"2024-13-01\""}, []string{"sleep_summary:2024-03-05"}},
		{"bad heart-rate rows", &Input{HeartRate: []oura.HeartRate{
			{BPM: 60, Timestamp: "2024-03-05T10:00:00Z"}, {BPM: 61, Timestamp: "noon"}, {BPM: -1, Timestamp: "2024-03-05T10:01:00Z"},
		}}, testOpt, []string{"heartrate document: 2 rows"}, []string{"body_summary:2024-03-05", "heart_rate_event:2024-03-05", "physical_summary:2024-03-05"}},
		{"samples past the end of the calendar in the user's zone", &Input{
			HeartRate:        []oura.HeartRate{{BPM: 60, Timestamp: "9999-12-31T20:00:00Z"}, {BPM: 61, Timestamp: "9999-12-31T09:00:00Z"}},
			RingBatteryLevel: []oura.RingBatteryLevel{{Level: 5, Timestamp: "9999-12-31T20:00:00Z"}},
		}, Options{ClientUUID: testClient, UserID: testUser, Location: time.FixedZone("", 14*3600)},
			[]string{"heartrate document: row at 9999-12-31T20:00:00Z", "ring_battery_level document: 1 rows"},
			[]string{"body_summary:9999-12-31", "heart_rate_event:9999-12-31", "physical_summary:9999-12-31"}},
		{"personal info without any day", &Input{PersonalInfo: []oura.PersonalInfo{{ID: "me"}}, RingConfiguration: []oura.RingConfiguration{{ID: "r"}}},
			testOpt, []string{"personal_info me: no day", "ring_configuration r: no day"}, nil},
		{"as-of day given", &Input{PersonalInfo: []oura.PersonalInfo{{ID: "me"}}},
			Options{ClientUUID: testClient, UserID: testUser, AsOf: "2024-03-05"}, nil, []string{"body_summary:2024-03-05", "user_info:2024-03-05"}},
		{"nil input", nil, testOpt, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Normalize(tt.in, tt.opt)
			var got []string
			for _, e := range unjoin(err) {
				var ie *InputError
				if !errors.As(e, &ie) {
					t.Errorf("error %v is not an *InputError", e)
				}
				if health.ErrorCode(e) != health.EINVALID {
					t.Errorf("error %v has code %s", e, health.ErrorCode(e))
				}
				got = append(got, e.Error())
			}
			if len(got) != len(tt.wantErr) {
				t.Fatalf("errors %q, want %d", got, len(tt.wantErr))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.wantErr[i]) {
					t.Errorf("error %q does not say %q", got[i], tt.wantErr[i])
				}
			}
			if k := keysOf(res); !reflect.DeepEqual(k, tt.wantKeys) {
				t.Errorf("documents %v, want %v", k, tt.wantKeys)
			}
		})
	}
	if _, err := Normalize(&Input{}, Options{AsOf: "05.03.2024"}); err == nil {
		t.Error("a bad as-of day is accepted")
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestNothingLost checks that every identified input document shows up in
// the output (mapped with its id as key, or attached), and that the
// structures Oura cannot fill are never produced.
func TestNothingLost(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			in, opt := c.input(t)
			res := run1(t, in, opt)
			var all strings.Builder
			for _, r := range res {
				switch r.Doc.DataStructure() {
				case health.NutritionEvent, health.MoodEvent, health.HydrationEvent, health.BloodGlucoseEvent, health.BloodPressureEvent:
					t.Errorf("%s produced from Oura data", r.Doc.DataStructure())
				}
				all.WriteString(r.Key)
				body, _ := json.Marshal(r.Doc)
				all.Write(body)
			}
			out := all.String()
			ids := map[string][]string{}
			v := reflect.ValueOf(in).Elem()
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				for j := 0; j < f.Len(); j++ {
					if id := f.Index(j).FieldByName("ID"); id.IsValid() && id.String() != "" {
						ids[v.Type().Field(i).Name] = append(ids[v.Type().Field(i).Name], id.String())
					}
				}
			}
			for coll, list := range ids {
				for _, id := range list {
					if !strings.Contains(out, `"`+id+`"`) && !strings.Contains(out, ":"+id) {
						t.Errorf("%s %s is nowhere in the output", coll, id)
					}
				}
			}
		})
	}
}

// TestInputCoversEveryCollection keeps Input in step with the Oura
// collections: one slice per collection, none forgotten.
func TestInputCoversEveryCollection(t *testing.T) {
	// One slice per collection, plus the Raw bytes index.
	if n, want := reflect.TypeFor[Input]().NumField(), len(oura.Collections())+1; n != want {
		t.Errorf("Input has %d fields, want one per Oura collection (%d) and Raw", n, want-1)
	}
	for _, c := range oura.Collections() {
		if err := new(Input).Decode(c.Name, []byte(`{}`), nil); err != nil {
			t.Errorf("collection %s has no Input slice: %v", c.Name, err)
		}
	}
}

// TestAttachmentsUseRawBytes: a field our models do not know survives in the
// attachment when the caller passes the bytes Oura sent.
func TestAttachmentsUseRawBytes(t *testing.T) {
	raw := json.RawMessage(`{"id":"t1","tag_type_code":"tag_generic_nocaffeine","start_time":"2024-11-09T10:00:00+01:00","end_time":null,"start_day":"2024-11-09","end_day":null,"comment":null,"custom_name":null,"field_from_the_future":42}`)
	var tag oura.EnhancedTag
	if err := json.Unmarshal(raw, &tag); err != nil {
		t.Fatal(err)
	}
	run := func(in *Input) string {
		res, err := Normalize(in, Options{ClientUUID: "c", UserID: "u", AsOf: "2024-11-09"})
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, r := range res {
			b, _ := json.Marshal(r.Doc)
			all = append(all, b...)
		}
		return string(all)
	}
	without := run(&Input{EnhancedTag: []oura.EnhancedTag{tag}})
	with := run(&Input{EnhancedTag: []oura.EnhancedTag{tag}, Raw: map[string]json.RawMessage{RawKey(oura.CollEnhancedTag, "t1"): raw}})
	if strings.Contains(without, "field_from_the_future") {
		t.Fatal("the re-encoded model cannot know the new field; the test is broken")
	}
	if !strings.Contains(with, `"field_from_the_future":42`) {
		t.Errorf("the attachment lost a field Oura sent: %s", with)
	}
}
