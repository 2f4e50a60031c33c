package normalize

import (
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// buildPhysical emits one physical_summary per local day with activity,
// stress, resilience, VO2max or heart-rate data. SpO2 fills in the day's
// saturation but alone makes no physical summary: it is measured asleep.
func (r *run) buildPhysical() {
	for _, day := range r.daysWith(hasActivity | hasStress | hasResilience | hasVO2 | hasHR) {
		r.emit(day, r.physicalSummary(day))
	}
}

// physicalSummary maps one local day.
//
// daily_activity: resting_time as rest, sedentary_time as inactivity,
// low/medium/high_activity_time as low/moderate/vigorous intensity, their
// sum as active seconds, class_5_min as activity levels, total_calories as
// expenditure, active_calories as net active calories, steps, and
// equivalent_walking_distance as walked distance. Heart rate: the day's
// samples (average rounded, minimum, maximum, granular) and the night's
// lowest heart rate as resting. daily_spo2 average as saturation, vO2_max
// as VO2max. daily_stress: stress_high as high-stress time, recovery_high
// as time at rest (Oura's high-recovery time); the other stress levels are
// not measured. Scores, contributors and MET minutes are in the attached
// daily_activity.
func (r *run) physicalSummary(day string) *health.PhysicalSummaryDocument {
	d := &health.PhysicalSummaryDocument{Header: r.header(day)}
	s := &d.Summary
	s.Metadata = r.metadata(r.dayStart(day))

	if a := r.activity[day].get(); a != nil {
		act := &s.Activity
		act.RestSeconds = normkit.NonNegInt(a.RestingTime)
		act.InactivitySeconds = normkit.NonNegInt(a.SedentaryTime)
		act.LowIntensitySeconds = normkit.NonNegInt(a.LowActivityTime)
		act.ModerateIntensitySeconds = normkit.NonNegInt(a.MediumActivityTime)
		act.VigorousIntensitySeconds = normkit.NonNegInt(a.HighActivityTime)
		act.ActiveSeconds = normkit.SumKnown(act.LowIntensitySeconds, act.ModerateIntensitySeconds, act.VigorousIntensitySeconds)
		act.ActivityLevelGranularData = activityLevels(a)

		s.Calories.CaloriesExpenditureKcal = normkit.NonNegFloatInt(a.TotalCalories)
		s.Calories.CaloriesNetActiveKcal = normkit.NonNegFloatInt(a.ActiveCalories)
		s.Distance.Steps = normkit.NonNegInt(a.Steps)
		s.Distance.WalkedDistanceMeters = normkit.NonNegFloatInt(a.EquivalentWalkingDistance)
	}

	hr := r.hrDays[day]
	s.HeartRate.HRAvgBPM, s.HeartRate.HRMinimumBPM, s.HeartRate.HRMaximumBPM = hrStats(hr)
	s.HeartRate.HRGranularData = append([]health.HRSample(nil), r.dayHR(day)...)
	s.HeartRate.HRRestingBPM = r.restingHR(day)

	if sp := r.spo2[day].get(); sp != nil && sp.SpO2Percentage != nil {
		s.Oxygenation.SaturationAvgPercentage = normkit.Percentage(sp.SpO2Percentage.Average)
	}
	if v := r.vo2[day].get(); v != nil {
		s.Oxygenation.VO2MaxMLPerMinPerKg = normkit.Positive(v.VO2Max)
	}
	if st := r.stress[day].get(); st != nil {
		s.Stress.HighStressDurationSeconds = normkit.NonNeg(st.StressHigh)
		s.Stress.StressAtRestDurationSeconds = normkit.NonNeg(st.RecoveryHigh)
	}

	nsd := attachGroup(nil, oura.CollDailyActivity, r.activity[day])
	nsd = attachGroup(nsd, oura.CollDailyResilience, r.resilience[day])
	nsd = attachGroup(nsd, oura.CollVO2Max, r.vo2[day])
	s.NonStructuredData = nsd
	return d
}

// restingHR is Oura's resting heart rate for a day: the lowest heart rate
// of the night that ends on it.
func (r *run) restingHR(day string) *int {
	if m := r.mainSleep[day]; m != nil && m.v.LowestHeartRate != nil {
		return normkit.Positive(*m.v.LowestHeartRate)
	}
	return nil
}

// activityClasses decodes class_5_min: level and label per character.
// Non-wear has no activity level (unknown, not zero).
var activityClasses = [256]struct {
	level float64
	label string
}{
	'0': {-1, "non_wear"},
	'1': {1, "rest"},
	'2': {2, "inactive"},
	'3': {3, "low"},
	'4': {4, "medium"},
	'5': {5, "high"},
}

// activityLevels maps class_5_min to activity_level_granular_data_array:
// one 5-minute item per character from the start of Oura's activity day
// (the document's timestamp, 4 a.m. local, else the MET series start),
// with the class number (1 rest to 5 high) as level and Oura's class name
// as label. Characters that are not a class are skipped; characters past
// the 24 hours the day covers are dropped.
func activityLevels(a *oura.DailyActivity) []health.ActivityLevelSample {
	if a.Class5Min == nil || *a.Class5Min == "" {
		return nil
	}
	start, ok := parseTime(a.Timestamp)
	if !ok {
		if start, ok = parseTime(a.MET.Timestamp); !ok {
			return nil
		}
	}
	const step = 5 * time.Minute
	cls := *a.Class5Min
	n := min(len(cls), int(24*time.Hour/step))
	b := normkit.NewStamps(n)
	idx := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if activityClasses[cls[i]].label == "" {
			continue
		}
		b.Add(start.Add(time.Duration(i) * step))
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil
	}
	strs := b.Strings()
	interval := step.Seconds()
	levels := make([]float64, len(idx))
	labels := make([]string, len(idx))
	out := make([]health.ActivityLevelSample, len(idx))
	for k, i := range idx {
		c := activityClasses[cls[i]]
		labels[k] = c.label
		out[k] = health.ActivityLevelSample{Datetime: &strs[k], IntervalDurationSeconds: &interval, ActivityLevelLabel: &labels[k]}
		if c.level > 0 {
			levels[k] = c.level
			out[k].ActivityLevel = &levels[k]
		}
	}
	return out
}

// autoDetected tells from a workout's source whether the ring detected
// it: autodetected, and confirmed (detected, then confirmed by the user),
// yes; manual entries and workouts the user started, no.
func autoDetected(src oura.WorkoutSource) *bool {
	switch src {
	case "autodetected", "confirmed":
		return health.Bool(true)
	case "manual", "workout_heart_rate", "live_third_party_heart_rate", "live_oura_heart_rate":
		return health.Bool(false)
	}
	return nil
}

// buildActivityEvents emits one activity_event per workout and per session.
func (r *run) buildActivityEvents() {
	for _, w := range r.workouts {
		r.workoutEvent(w)
	}
	for _, s := range r.sessions {
		r.sessionEvent(s)
	}
}

// eventKey identifies an activity event: the Oura id, else the start as
// sent.
func eventKey(kind, id string, start oura.DateTime) string {
	if id != "" {
		return kind + ":" + id
	}
	return kind + ":@" + string(start)
}

// span parses an event's bounds and its duration in whole seconds (nil when
// a bound is missing or the end precedes the start).
func span(startS, endS oura.DateTime) (start, end time.Time, okS, okE bool, dur *int) {
	start, okS = parseTime(startS)
	end, okE = parseTime(endS)
	if okS && okE && !end.Before(start) {
		if sec := end.Sub(start).Round(time.Second) / time.Second; sec <= normkit.MaxInt32 {
			dur = health.Int(int(sec))
		}
	}
	return
}

// workoutEvent maps a workout: start, end, duration, Oura's activity name,
// its intensity (easy, moderate, hard) as the whole duration spent at low,
// moderate or vigorous intensity, calories as net active calories, distance
// as walked distance (as ROOK maps Oura) and as traveled distance, and the
// heart-rate samples recorded inside the workout, rendered in the
// workout's own offset.
func (r *run) workoutEvent(w *item[oura.Workout]) {
	v := w.v
	start, end, okS, okE, dur := span(v.StartDatetime, v.EndDatetime)
	var rec health.ActivityEventRecord
	a := &rec.Activity
	at := r.dayStart(w.day)
	if okS {
		a.ActivityStartDatetime = health.Datetime(start)
		at = a.ActivityStartDatetime
	}
	if okE {
		a.ActivityEndDatetime = health.Datetime(end)
	}
	a.ActivityDurationSeconds = dur
	if v.Activity != "" {
		a.ActivityTypeName = health.String(v.Activity)
	}
	if dur != nil {
		switch v.Intensity {
		case "easy":
			a.LowIntensitySeconds = health.Int(*dur)
		case "moderate":
			a.ModerateIntensitySeconds = health.Int(*dur)
		case "hard":
			a.VigorousIntensitySeconds = health.Int(*dur)
		}
	}
	rec.Calories.CaloriesNetActiveKcal = normkit.NonNegFloat(v.Calories)
	rec.Distance.WalkedDistanceMeters = normkit.NonNegFloat(v.Distance)
	rec.Distance.TraveledDistanceMeters = normkit.NonNegFloat(v.Distance)
	if dur != nil {
		s := window(r.hr, start, end)
		rec.HeartRate.HRAvgBPM, rec.HeartRate.HRMinimumBPM, rec.HeartRate.HRMaximumBPM = hrStats(s)
		rec.HeartRate.HRGranularData = hrGranular(s, start.Location())
	}
	rec.Metadata = r.eventMetadata(at, health.Bool(true))
	rec.NonStructuredData = health.NonStructuredData{wrap(oura.CollWorkout, "", w.raw)}
	d := &health.ActivityEventDocument{Header: r.header(w.day), AutoDetected: autoDetected(v.Source), Events: []health.ActivityEventRecord{rec}}
	r.emit(eventKey("workout", w.id, v.StartDatetime), d)
}

// sessionEvent maps a session (meditation, breathing, nap, rest ...):
// start, end, duration, Oura's session type as activity name, and the
// session's own heart-rate and HRV series (heart-rate rows inside the
// session when it has none). Sessions are started by the user and are not
// exercise.
func (r *run) sessionEvent(sv *item[oura.Session]) {
	v := sv.v
	start, end, okS, okE, dur := span(v.StartDatetime, v.EndDatetime)
	var rec health.ActivityEventRecord
	a := &rec.Activity
	at := r.dayStart(sv.day)
	var lo, hi time.Time
	if okS {
		a.ActivityStartDatetime = health.Datetime(start)
		at, lo = a.ActivityStartDatetime, start
	}
	if okE {
		a.ActivityEndDatetime = health.Datetime(end)
		hi = end
	}
	if dur == nil {
		lo, hi = time.Time{}, time.Time{}
	}
	a.ActivityDurationSeconds = dur
	if v.Type != "" {
		a.ActivityTypeName = health.String(string(v.Type))
	}
	hr := &rec.HeartRate
	hr.HRGranularData, hr.HRAvgBPM, hr.HRMinimumBPM, hr.HRMaximumBPM = seriesHR(v.HeartRate, lo, hi)
	if hr.HRGranularData == nil && dur != nil {
		s := window(r.hr, start, end)
		hr.HRAvgBPM, hr.HRMinimumBPM, hr.HRMaximumBPM = hrStats(s)
		hr.HRGranularData = hrGranular(s, start.Location())
	}
	hr.HRVRMSSDGranularData, hr.HRVAvgRMSSD = seriesHRV(v.HeartRateVariability, lo, hi)
	rec.Metadata = r.eventMetadata(at, health.Bool(false))
	rec.NonStructuredData = health.NonStructuredData{wrap(oura.CollSession, "", sv.raw)}
	d := &health.ActivityEventDocument{Header: r.header(sv.day), AutoDetected: health.Bool(false), Events: []health.ActivityEventRecord{rec}}
	r.emit(eventKey("session", sv.id, v.StartDatetime), d)
}
