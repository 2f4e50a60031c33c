package normalize

import (
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// buildPhysical emits one physical_summary per day of activity.
//
// Activity: steps; distance as distance traveled; elevation (floors, as
// the spec defines it) as floors climbed; soft, moderate and intense as
// low, moderate and vigorous intensity, active as active time; calories
// as net active energy and totalcalories as energy expended; heart rate
// average, minimum and maximum. Heart-rate zones have no ROOK field: they
// stay in the attached activity. A day with several documents (which one
// stored id per day should prevent) maps the last modified and attaches
// the others as superseded.
func (r *run) buildPhysical() {
	for _, day := range sortedKeys(r.activities) {
		as := r.activities[day]
		main := as[0]
		for _, a := range as[1:] {
			if a.v.Modified.V >= main.v.Modified.V {
				main = a
			}
		}
		v := main.v
		d := &health.PhysicalSummaryDocument{Header: r.header(day)}
		s := &d.Summary
		s.Metadata = r.metadata(midnight(day, main.loc))
		s.Distance.Steps = nonNegRound(v.Steps)
		s.Distance.TraveledDistanceMeters = nonNegFloat(v.Distance)
		s.Distance.FloorsClimbed = nonNegFloat(v.Elevation)
		s.Activity.LowIntensitySeconds = nonNegRound(v.Soft)
		s.Activity.ModerateIntensitySeconds = nonNegRound(v.Moderate)
		s.Activity.VigorousIntensitySeconds = nonNegRound(v.Intense)
		s.Activity.ActiveSeconds = nonNegRound(v.Active)
		s.Calories.CaloriesNetActiveKcal = nonNegFloat(v.Calories)
		s.Calories.CaloriesExpenditureKcal = nonNegFloat(v.TotalCalories)
		s.HeartRate.HRAvgBPM, s.HeartRate.HRMinimumBPM, s.HeartRate.HRMaximumBPM = posRound(v.HRAverage), posRound(v.HRMin), posRound(v.HRMax)
		s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollActivity, "", main.raw))
		for _, a := range as {
			if a != main {
				s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollActivity, normkit.RoleSuperseded, a.raw))
			}
		}
		r.emit(day, d)
	}
}

// buildActivities emits one activity_event per workout, keyed
// "workout:<id>".
//
// Workout: start, end and their span; the category's name; active
// calories as net active energy; distance, steps and floors; heart rate
// average, minimum and maximum; average SpO2; pool laps, pool length and
// strokes. auto_detected is true for a detected workout the user
// confirmed (attrib 7), false for one the user entered (attrib 2 and 4),
// null otherwise. What the user typed (manual calories, distance and
// intensity, pauses), heart-rate zones and core body temperature have no
// ROOK field: they stay in the attached workout.
func (r *run) buildActivities() {
	for _, w := range r.workouts {
		v := w.v
		d := &health.ActivityEventDocument{Header: r.header(w.day)}
		switch {
		case v.Attrib.OK && v.Attrib.V == 7:
			d.AutoDetected = health.Bool(true)
		case v.Attrib.OK && (v.Attrib.V == 2 || v.Attrib.V == 4):
			d.AutoDetected = health.Bool(false)
		}
		var e health.ActivityEventRecord
		a := &e.Activity
		when := midnight(w.day, w.loc)
		var start, end time.Time
		okS, okE := false, false
		if v.StartDate.OK {
			start, okS = at(v.StartDate.V, w.loc)
		}
		if v.EndDate.OK {
			end, okE = at(v.EndDate.V, w.loc)
		}
		if okS {
			a.ActivityStartDatetime = health.Datetime(start)
			when = a.ActivityStartDatetime
		}
		if okE {
			a.ActivityEndDatetime = health.Datetime(end)
		}
		if okS && okE && !end.Before(start) {
			a.ActivityDurationSeconds = normkit.NonNegInt(int(end.Sub(start) / time.Second))
		}
		if v.Category.OK {
			if name, ok := workoutCategory(v.Category.V); ok {
				a.ActivityTypeName = health.String(name)
			}
		}
		data := v.Data
		e.Calories.CaloriesNetActiveKcal = nonNegFloat(data.Calories)
		e.Distance.TraveledDistanceMeters = nonNegFloat(data.Distance)
		e.Distance.Steps = nonNegRound(data.Steps)
		e.Distance.FloorsClimbed = nonNegFloat(data.Elevation)
		e.Distance.SwimmingNumLaps = nonNegRound(data.PoolLaps)
		e.Distance.SwimmingPoolLengthMeters = normkit.PositiveFloat(data.PoolLength.Ptr())
		e.Distance.SwimmingNumStrokes = nonNegFloat(data.Strokes)
		e.HeartRate.HRAvgBPM, e.HeartRate.HRMinimumBPM, e.HeartRate.HRMaximumBPM = posRound(data.HRAverage), posRound(data.HRMin), posRound(data.HRMax)
		if data.SpO2Average.OK && data.SpO2Average.V > 0 {
			e.Oxygenation.SaturationAvgPercentage = normkit.Percentage(data.SpO2Average.V)
		}
		e.Metadata = r.eventMetadata(when, health.Bool(true))
		e.NonStructuredData = health.NonStructuredData{wrap(withings.CollWorkout, "", w.raw)}
		d.Events = []health.ActivityEventRecord{e}
		r.emit("workout:"+w.id, d)
	}
}
