package normalize

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
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

// TestInvariants holds every golden output to what must be true whatever
// WHOOP sends: stages fit in bed, in bed is the span of the sleep, events
// lie inside their window, nothing is negative, the day is the sleep date.
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
					du := d.Summary.Duration
					nonNeg(t, r.Key, du.SleepDurationSeconds, du.TimeInBedSeconds, du.LightSleepDurationSeconds, du.REMSleepDurationSeconds,
						du.DeepSleepDurationSeconds, du.TimeAwakeDuringSleepSeconds)
					if du.SleepDate == nil || *du.SleepDate != d.Day || d.Day != r.Key {
						t.Errorf("%s: sleep date %v, day %s", r.Key, du.SleepDate, d.Day)
					}
					start, okS := parseDT(t, du.SleepStartDatetime)
					end, okE := parseDT(t, du.SleepEndDatetime)
					if okS && okE {
						if end.Before(start) {
							t.Errorf("%s: ends before it starts", r.Key)
						}
						if du.TimeInBedSeconds == nil || *du.TimeInBedSeconds != int(end.Sub(start)/time.Second) {
							t.Errorf("%s: in bed %v, span %v", r.Key, du.TimeInBedSeconds, end.Sub(start))
						}
						if end.Format(time.DateOnly) != d.Day {
							t.Errorf("%s: ends on %s (local), filed on %s", r.Key, end.Format(time.DateOnly), d.Day)
						}
					}
					sum := 0
					for _, v := range []*int{du.LightSleepDurationSeconds, du.REMSleepDurationSeconds, du.DeepSleepDurationSeconds, du.TimeAwakeDuringSleepSeconds} {
						if v != nil {
							sum += *v
						}
					}
					if du.TimeInBedSeconds != nil && sum > *du.TimeInBedSeconds {
						t.Errorf("%s: stages %d s > in bed %d s", r.Key, sum, *du.TimeInBedSeconds)
					}
					if du.SleepDurationSeconds != nil && du.TimeInBedSeconds != nil && *du.SleepDurationSeconds > *du.TimeInBedSeconds {
						t.Errorf("%s: asleep longer than in bed", r.Key)
					}
					if s := d.Summary.Scores.SleepEfficiency1To100Score; s != nil && (*s < 0 || *s > 100) {
						t.Errorf("%s: efficiency %d", r.Key, *s)
					}
				case *health.PhysicalSummaryDocument:
					s := d.Summary
					nonNeg(t, r.Key, s.HeartRate.HRAvgBPM, s.HeartRate.HRMaximumBPM, s.HeartRate.HRRestingBPM)
					if a, m := s.HeartRate.HRAvgBPM, s.HeartRate.HRMaximumBPM; a != nil && m != nil && *a > *m {
						t.Errorf("%s: average heart rate above the maximum", r.Key)
					}
					if k := s.Calories.CaloriesExpenditureKcal; k != nil && *k < 0 {
						t.Errorf("%s: negative energy", r.Key)
					}
				case *health.ActivityEventDocument:
					for _, e := range d.Events {
						a := e.Activity
						nonNeg(t, r.Key, a.ActivityDurationSeconds, e.HeartRate.HRAvgBPM, e.HeartRate.HRMaximumBPM)
						start, okS := parseDT(t, a.ActivityStartDatetime)
						end, okE := parseDT(t, a.ActivityEndDatetime)
						if okS && okE {
							if a.ActivityDurationSeconds == nil || *a.ActivityDurationSeconds != int(end.Sub(start)/time.Second) {
								t.Errorf("%s: duration %v, span %v", r.Key, a.ActivityDurationSeconds, end.Sub(start))
							}
							if end.Format(time.DateOnly) != d.Day {
								t.Errorf("%s: ends on %s (local), filed on %s", r.Key, end.Format(time.DateOnly), d.Day)
							}
						}
						if at, ok := parseDT(t, e.Metadata.Datetime); ok && okS && okE && (at.Before(start) || at.After(end)) {
							t.Errorf("%s: metadata time %v outside the workout", r.Key, at)
						}
						for _, f := range []*float64{a.ActivityStrainLevel, a.ActivityEnergyKilojoules, e.Calories.CaloriesExpenditureKcal,
							e.Distance.TraveledDistanceMeters, e.Distance.ElevationGainActualAltitudeMeters} {
							if f != nil && *f < 0 {
								t.Errorf("%s: negative value %v", r.Key, *f)
							}
						}
						if s := a.ActivityStrainLevel; s != nil && *s > 21 {
							t.Errorf("%s: strain %v above WHOOP's 21", r.Key, *s)
						}
					}
				case *health.BodySummaryDocument:
					if w := d.Summary.BodyMetrics.WeightKg; w != nil && *w <= 0 {
						t.Errorf("%s: weight %v", r.Key, *w)
					}
					nonNeg(t, r.Key, d.Summary.BodyMetrics.HeightCm)
				}
			}
		})
	}
}
