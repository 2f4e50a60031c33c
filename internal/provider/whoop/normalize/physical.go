package normalize

import (
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

func inputError(coll, id, reason string) error {
	return &provider.InputError{Collection: coll, ID: id, Reason: reason}
}

// buildPhysical emits one physical_summary per day a cycle starts on.
//
// Cycle: kilojoules as energy expended (kcal), average and maximum heart
// rate; the start is the summary's time. The recovery of the cycle gives
// the resting heart rate. Strain has no physical_summary field: it stays
// in the attached cycle. A day with two cycles (a split night) maps the
// earlier and attaches both.
func (r *run) buildPhysical() {
	restingByCycle := map[int64]*float64{}
	for _, x := range r.recoveries {
		if x.v.Score != nil {
			v := x.v.Score.RestingHeartRate
			restingByCycle[x.v.CycleID] = &v
		}
	}
	for _, day := range sortedKeys(r.cycles) {
		cs := r.cycles[day]
		main := cs[0]
		for _, c := range cs[1:] {
			if c.v.Start < main.v.Start || (c.v.Start == main.v.Start && c.id < main.id) {
				main = c
			}
		}
		d := &health.PhysicalSummaryDocument{Header: r.header(day)}
		s := &d.Summary
		at := midnight(day, main.v.TimezoneOffset)
		if t, ok := local(main.v.Start, main.v.TimezoneOffset); ok {
			at = health.Datetime(t)
		}
		s.Metadata = r.metadata(at)
		if sc := main.v.Score; sc != nil {
			s.Calories.CaloriesExpenditureKcal = kcal(sc.Kilojoule)
			s.HeartRate.HRAvgBPM = normkit.Positive(sc.AverageHeartRate)
			s.HeartRate.HRMaximumBPM = normkit.Positive(sc.MaxHeartRate)
		}
		s.HeartRate.HRRestingBPM = normkit.PositiveRound(restingByCycle[main.v.ID])
		s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollCycle, "", main.raw))
		for _, c := range cs {
			if c != main {
				s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollCycle, "", c.raw))
			}
		}
		r.emit(day, d)
	}
}

// buildActivities emits one activity_event per workout.
//
// Workout: start, end and their span; sport name; strain; kilojoules as
// energy and as energy expended (kcal); average and maximum heart rate;
// distance as distance traveled; altitude gain as elevation gain. Heart
// rate zones, the altitude change and the share of heart rate recorded
// have no ROOK field: they stay in the attached workout.
func (r *run) buildActivities() {
	for _, w := range r.workouts {
		d := &health.ActivityEventDocument{Header: r.header(w.day)}
		var e health.ActivityEventRecord
		a := &e.Activity
		start, okS := local(w.v.Start, w.v.TimezoneOffset)
		end, okE := local(w.v.End, w.v.TimezoneOffset)
		at := midnight(w.day, w.v.TimezoneOffset)
		if okS {
			a.ActivityStartDatetime = health.Datetime(start)
			at = a.ActivityStartDatetime
		}
		if okE {
			a.ActivityEndDatetime = health.Datetime(end)
		}
		if okS && okE && !end.Before(start) {
			a.ActivityDurationSeconds = normkit.NonNegInt(int(end.Sub(start).Seconds()))
		}
		if w.v.SportName != "" {
			a.ActivityTypeName = health.String(w.v.SportName)
		}
		if sc := w.v.Score; sc != nil {
			if sc.Strain >= 0 {
				a.ActivityStrainLevel = health.Float(round3(sc.Strain))
			}
			a.ActivityEnergyKilojoules = normkit.NonNegFloat(&sc.Kilojoule)
			e.Calories.CaloriesExpenditureKcal = kcal(sc.Kilojoule)
			e.HeartRate.HRAvgBPM = normkit.Positive(sc.AverageHeartRate)
			e.HeartRate.HRMaximumBPM = normkit.Positive(sc.MaxHeartRate)
			e.Distance.TraveledDistanceMeters = normkit.NonNegFloat(sc.DistanceMeter)
			e.Distance.ElevationGainActualAltitudeMeters = normkit.NonNegFloat(sc.AltitudeGainMeter)
		}
		e.Metadata = health.EventMetadata{Metadata: r.metadata(at), WasTheUserUnderPhysicalActivity: health.Bool(true)}
		e.NonStructuredData = health.NonStructuredData{wrap(whoop.CollWorkout, "", w.raw)}
		d.Events = []health.ActivityEventRecord{e}
		r.emit("workout:"+w.id, d)
	}
}
