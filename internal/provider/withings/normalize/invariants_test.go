package normalize

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

func parseDT(t *testing.T, s *string) (time.Time, bool) {
	t.Helper()
	if s == nil {
		return time.Time{}, false
	}
	v, err := time.Parse(health.DatetimeLayout, *s)
	if err != nil {
		t.Errorf("datetime %q: %v", *s, err)
		return time.Time{}, false
	}
	return v, true
}

func nonNeg(t *testing.T, what string, vs ...*int) {
	t.Helper()
	for _, v := range vs {
		if v != nil && *v < 0 {
			t.Errorf("%s: negative value %d", what, *v)
		}
	}
}

func nonNegF(t *testing.T, what string, vs ...*float64) {
	t.Helper()
	for _, v := range vs {
		if v != nil && *v < 0 {
			t.Errorf("%s: negative value %v", what, *v)
		}
	}
}

// within checks that sample instants lie in [lo, hi].
func within(t *testing.T, what string, lo, hi time.Time, stamps ...*string) {
	t.Helper()
	for _, s := range stamps {
		if at, ok := parseDT(t, s); ok && (at.Before(lo) || at.After(hi)) {
			t.Errorf("%s: sample at %v outside %v..%v", what, at, lo, hi)
		}
	}
}

// onDay checks that sample instants fall on the document's local day.
func onDay(t *testing.T, what, day string, stamps ...*string) {
	t.Helper()
	for _, s := range stamps {
		if at, ok := parseDT(t, s); ok && at.Format(time.DateOnly) != day {
			t.Errorf("%s: sample at %v is not on %s", what, at, day)
		}
	}
}

// TestInvariants holds every golden output to what must be true whatever
// Withings sends: stages fit in bed and add up to the time asleep, in bed
// is the span of the night, samples lie inside their night or on their
// day, nothing is negative.
func TestInvariants(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			docs, opt := c.input(t)
			results, err := Normalize(docs, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				switch d := r.Doc.(type) {
				case *health.SleepSummaryDocument:
					checkSleep(t, r.Key, d)
				case *health.PhysicalSummaryDocument:
					s := d.Summary
					nonNeg(t, r.Key, s.HeartRate.HRAvgBPM, s.HeartRate.HRMinimumBPM, s.HeartRate.HRMaximumBPM, s.Distance.Steps,
						s.Activity.ActiveSeconds, s.Activity.LowIntensitySeconds, s.Activity.ModerateIntensitySeconds, s.Activity.VigorousIntensitySeconds)
					nonNegF(t, r.Key, s.Calories.CaloriesExpenditureKcal, s.Calories.CaloriesNetActiveKcal, s.Distance.TraveledDistanceMeters, s.Distance.FloorsClimbed)
				case *health.ActivityEventDocument:
					for _, e := range d.Events {
						a := e.Activity
						nonNeg(t, r.Key, a.ActivityDurationSeconds, e.HeartRate.HRAvgBPM, e.HeartRate.HRMaximumBPM, e.Distance.Steps, e.Distance.SwimmingNumLaps)
						nonNegF(t, r.Key, e.Calories.CaloriesNetActiveKcal, e.Distance.TraveledDistanceMeters)
						start, okS := parseDT(t, a.ActivityStartDatetime)
						end, okE := parseDT(t, a.ActivityEndDatetime)
						if okS && okE && (a.ActivityDurationSeconds == nil || *a.ActivityDurationSeconds != int(end.Sub(start)/time.Second)) {
							t.Errorf("%s: duration %v, span %v", r.Key, a.ActivityDurationSeconds, end.Sub(start))
						}
					}
				case *health.BodySummaryDocument:
					s := d.Summary
					if w := s.BodyMetrics.WeightKg; w != nil && *w <= 0 {
						t.Errorf("%s: weight %v", r.Key, *w)
					}
					nonNeg(t, r.Key, s.BodyMetrics.HeightCm, s.HeartRate.HRAvgBPM)
					for _, x := range s.BloodPressure.BloodPressureGranularData {
						onDay(t, r.Key, d.Day, x.Datetime)
					}
					for _, x := range s.HeartRate.HRGranularData {
						onDay(t, r.Key, d.Day, x.Datetime)
					}
					for _, x := range s.Temperature.TemperatureGranularData {
						onDay(t, r.Key, d.Day, x.Datetime)
					}
					for _, x := range s.Oxygenation.SaturationGranularData {
						onDay(t, r.Key, d.Day, x.Datetime)
					}
				case *health.BodyMetricsEventDocument:
					for _, e := range d.Events {
						onDay(t, r.Key, d.Day, e.Metadata.Datetime)
					}
				case *health.BloodPressureEventDocument:
					for _, e := range d.Events {
						for _, x := range e.BloodPressure.BloodPressureGranularData {
							onDay(t, r.Key, d.Day, x.Datetime)
						}
					}
				case *health.BodyHeartRateEventDocument:
					for _, e := range d.Events {
						for _, x := range e.HeartRate.HRGranularData {
							onDay(t, r.Key, d.Day, x.Datetime)
						}
					}
				case *health.TemperatureEventDocument:
					for _, e := range d.Events {
						for _, x := range e.Temperature.TemperatureGranularData {
							onDay(t, r.Key, d.Day, x.Datetime)
						}
					}
				case *health.BodyOxygenationEventDocument:
					for _, e := range d.Events {
						for _, x := range e.Oxygenation.SaturationGranularData {
							onDay(t, r.Key, d.Day, x.Datetime)
						}
						for _, x := range e.Oxygenation.VO2GranularData {
							onDay(t, r.Key, d.Day, x.Datetime)
						}
					}
				}
			}
		})
	}
}

func checkSleep(t *testing.T, key string, d *health.SleepSummaryDocument) {
	t.Helper()
	du := d.Summary.Duration
	nonNeg(t, key, du.SleepDurationSeconds, du.TimeInBedSeconds, du.LightSleepDurationSeconds, du.REMSleepDurationSeconds,
		du.DeepSleepDurationSeconds, du.TimeAwakeDuringSleepSeconds, du.TimeToFallAsleepSeconds)
	if du.SleepDate == nil || *du.SleepDate != d.Day || d.Day != key {
		t.Errorf("%s: sleep date %v, day %s", key, du.SleepDate, d.Day)
	}
	if l, dp, rm := du.LightSleepDurationSeconds, du.DeepSleepDurationSeconds, du.REMSleepDurationSeconds; l != nil && dp != nil && rm != nil {
		if du.SleepDurationSeconds == nil || *du.SleepDurationSeconds != *l+*dp+*rm {
			t.Errorf("%s: asleep %v, stages %d+%d+%d", key, du.SleepDurationSeconds, *l, *dp, *rm)
		}
	}
	sum := 0
	for _, v := range []*int{du.SleepDurationSeconds, du.TimeAwakeDuringSleepSeconds, du.TimeToFallAsleepSeconds} {
		if v != nil {
			sum += *v
		}
	}
	if du.TimeInBedSeconds != nil && sum > *du.TimeInBedSeconds {
		t.Errorf("%s: asleep, awake and latency %d s > in bed %d s", key, sum, *du.TimeInBedSeconds)
	}
	start, okS := parseDT(t, du.SleepStartDatetime)
	end, okE := parseDT(t, du.SleepEndDatetime)
	if !okS || !okE {
		return
	}
	if end.Before(start) || du.TimeInBedSeconds == nil || *du.TimeInBedSeconds != int(end.Sub(start)/time.Second) {
		t.Errorf("%s: in bed %v, span %v", key, du.TimeInBedSeconds, end.Sub(start))
	}
	s := d.Summary
	for _, x := range s.HeartRate.HRGranularData {
		within(t, key+" heart rate", start, end, x.Datetime)
	}
	for _, x := range s.HeartRate.HRVRMSSDGranularData {
		within(t, key+" rmssd", start, end, x.Datetime)
	}
	for _, x := range s.HeartRate.HRVSDNNGranularData {
		within(t, key+" sdnn", start, end, x.Datetime)
	}
	for _, x := range s.Breathing.BreathingGranularData {
		within(t, key+" breathing", start, end, x.Datetime)
	}
	for _, x := range s.Breathing.SnoringGranularData {
		within(t, key+" snoring", start, end, x.Datetime)
	}
	if s := d.Summary.Scores.SleepEfficiency1To100Score; s != nil && (*s < 0 || *s > 100) {
		t.Errorf("%s: efficiency %d", key, *s)
	}
}

// exact is value * 10^unit as the nearest float64, computed with exact
// rational arithmetic: the reference the normalizer's values are held to.
func exact(value, unit int64) float64 {
	r := new(big.Rat).SetInt64(value)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(max(unit, -unit)), nil)
	if unit >= 0 {
		r.Mul(r, new(big.Rat).SetInt(p))
	} else {
		r.Quo(r, new(big.Rat).SetInt(p))
	}
	f, _ := r.Float64()
	return f
}

// TestMeasureValues: each value the normalizer emits from a measure equals
// value * 10^unit of its source measure (rounded where ROOK's field is an
// integer), for every device and entered group of every input.
func TestMeasureValues(t *testing.T) {
	checked := 0
	for _, c := range goldenCases() {
		docs, opt := c.input(t)
		results, err := Normalize(docs, opt)
		if err != nil {
			t.Fatal(err)
		}
		// What was emitted, by instant and measure type.
		type k struct {
			at  string
			typ int64
		}
		emitted := map[k][]float64{}
		add := func(at *string, typ int64, v *float64) {
			if at != nil && v != nil {
				emitted[k{*at, typ}] = append(emitted[k{*at, typ}], *v)
			}
		}
		addI := func(at *string, typ int64, v *int) {
			if v != nil {
				f := float64(*v)
				add(at, typ, &f)
			}
		}
		for _, r := range results {
			switch d := r.Doc.(type) {
			case *health.BodyMetricsEventDocument:
				for _, e := range d.Events {
					add(e.Metadata.Datetime, typeWeight, e.BodyMetrics.WeightKg)
				}
			case *health.BloodPressureEventDocument:
				for _, s := range d.Events[0].BloodPressure.BloodPressureGranularData {
					addI(s.Datetime, typeSystolic, s.SystolicMmHg)
					addI(s.Datetime, typeDiastolic, s.DiastolicMmHg)
				}
			case *health.BodyHeartRateEventDocument:
				for _, s := range d.Events[0].HeartRate.HRGranularData {
					addI(s.Datetime, typeHeartPulse, s.HRBPM)
				}
			case *health.TemperatureEventDocument:
				for _, s := range d.Events[0].Temperature.TemperatureGranularData {
					add(s.Datetime, -1, s.TemperatureCelsius)
				}
			case *health.BodyOxygenationEventDocument:
				for _, s := range d.Events[0].Oxygenation.SaturationGranularData {
					addI(s.Datetime, typeSpO2, s.SaturationPercentage)
				}
			}
		}
		for _, d := range docs {
			if d.Collection != withings.CollMeasure {
				continue
			}
			var g MeasureGroup
			if err := json.Unmarshal(d.Raw, &g); err != nil {
				t.Fatal(err)
			}
			if g.Category.V == 2 || g.Attrib.V == 1 {
				continue // kept apart: no value is emitted
			}
			loc := opt.Location
			if l, err := time.LoadLocation(string(g.Timezone)); err == nil && g.Timezone != "" {
				loc = l
			}
			if loc == nil {
				loc = time.UTC
			}
			at := time.Unix(g.Date.V, 0).In(loc).Format(health.DatetimeLayout)
			for _, m := range g.Measures {
				if !m.Value.OK {
					continue
				}
				want := exact(m.Value.V, m.Unit.V)
				typ := m.Type.V
				switch typ {
				case typeWeight:
				case typeSystolic, typeDiastolic, typeHeartPulse, typeSpO2:
					want = float64(int(want + 0.5))
				case typeTemperature, typeBodyTemperature, typeSkinTemperature:
					typ = -1
				default:
					continue
				}
				got := emitted[k{at, typ}]
				found := false
				for _, v := range got {
					found = found || v == want
				}
				if !found {
					t.Errorf("%s: group %s type %d: %v * 10^%d = %v, emitted %v", c.name, d.ID, m.Type.V, m.Value.V, m.Unit.V, want, got)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d measures checked", checked)
	}
}

// TestDecimal: value * 10^unit is exact to the nearest float, including
// where multiplying by a power of ten would drift.
func TestDecimal(t *testing.T) {
	m := func(v, u int64) Measure {
		return Measure{Value: Int{V: v, OK: true}, Type: Int{V: 1, OK: true}, Unit: Int{V: u, OK: true}}
	}
	for _, tt := range []struct {
		v, u int64
		want float64
	}{
		{118003, -3, 118.003}, {7718, -2, 77.18}, {3695, -2, 36.95}, {452, -1, 45.2}, {5, 2, 500}, {-12, -1, -1.2}, {0, -3, 0}, {1, -30, 1e-30},
	} {
		got, ok := m(tt.v, tt.u).Decimal()
		if !ok || got != tt.want {
			t.Errorf("%d * 10^%d = %v, %v; want %v", tt.v, tt.u, got, ok, tt.want)
		}
	}
	seed := uint64(7)
	for range 5000 {
		seed = seed*6364136223846793005 + 1442695040888963407
		v, u := int64(seed>>34), -int64(seed%9)
		if got, _ := m(v, u).Decimal(); got != exact(v, u) {
			t.Fatalf("%d * 10^%d = %v, want %v", v, u, got, exact(v, u))
		}
	}
	for _, bad := range []Measure{{}, {Value: Int{V: 1, OK: true}, Type: Int{V: 1, OK: true}}, m(1, 400)} {
		if _, ok := bad.Decimal(); ok {
			t.Errorf("%+v: a value", bad)
		}
	}
}

// TestTolerantNumbers: numbers as numbers, strings, null or "".
func TestTolerantNumbers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Int
		err  bool
	}{
		{`12`, Int{12, true}, false}, {`"12"`, Int{12, true}, false}, {`null`, Int{}, false}, {`""`, Int{}, false},
		{`12.0`, Int{12, true}, false}, {`12.5`, Int{}, true}, {`"x"`, Int{}, true}, {`true`, Int{}, true},
	} {
		var got Int
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("Int %s = %+v, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want Float
		err  bool
	}{
		{`0.86`, Float{0.86, true}, false}, {`"75"`, Float{75, true}, false}, {`null`, Float{}, false}, {`"1e999"`, Float{}, true},
	} {
		var got Float
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("Float %s = %+v, %v", tt.in, got, err)
		}
	}
	var x struct {
		A Text `json:"a"`
		B Flag `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a":123,"b":1}`), &x); err != nil || x.A != "123" || !x.B.V || !x.B.OK {
		t.Errorf("%+v %v", x, err)
	}
}
