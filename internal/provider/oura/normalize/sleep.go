package normalize

import (
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// pickMain chooses the period a night's sleep_summary describes: the
// longest long_sleep, else the longest period of type sleep. Late naps,
// rest periods, deleted periods and periods of unknown type never are:
// ROOK leaves naps out of the summary. Ties go to the earlier start, then
// the smaller id, so the choice is deterministic.
func pickMain(ps []*item[oura.Sleep]) *item[oura.Sleep] {
	var best *item[oura.Sleep]
	for _, want := range []oura.SleepType{oura.SleepTypeLongSleep, oura.SleepTypeSleep} {
		for _, p := range ps { // already ordered by bedtime_start, id
			if p.v.Type == nil || *p.v.Type != want {
				continue
			}
			if best == nil || periodLength(p.v) > periodLength(best.v) {
				best = p
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// periodLength is the time in bed in seconds: Oura's time_in_bed, else the
// span of the bedtimes.
func periodLength(s *oura.Sleep) int {
	if s.TimeInBed > 0 {
		return s.TimeInBed
	}
	if b, e, ok := bedtimes(s); ok && e.After(b) {
		return int(e.Sub(b) / time.Second)
	}
	return 0
}

// bedtimes parses the period's bounds; ok only when both parse.
func bedtimes(s *oura.Sleep) (start, end time.Time, ok bool) {
	start, ok1 := parseTime(s.BedtimeStart)
	end, ok2 := parseTime(s.BedtimeEnd)
	return start, end, ok1 && ok2
}

// temperatureDelta is the night's skin temperature deviation from the
// user's baseline: the day's readiness, else the readiness Oura embeds in
// the main sleep period.
func (r *run) temperatureDelta(day string) *float64 {
	if rd := r.readiness[day].get(); rd != nil && normkit.Finite(rd.TemperatureDeviation) != nil {
		return normkit.Finite(rd.TemperatureDeviation)
	}
	if m := r.mainSleep[day]; m != nil && m.v.Readiness != nil {
		return normkit.Finite(m.v.Readiness.TemperatureDeviation)
	}
	return nil
}

// skin is the measurement type of Oura's temperature: the ring reads skin
// temperature on the finger.
const skin = "skin"

// buildSleep emits one sleep_summary per Oura day that has any sleep data:
// a period, a daily sleep score, a readiness or a bedtime recommendation.
func (r *run) buildSleep() {
	for _, day := range r.daysWith(hasSleep | hasDailySleep | hasReadiness | hasSleepTime) {
		r.emit(day, r.sleepSummary(day))
	}
}

// sleepSummary maps the night of day.
//
// Field sources (main period m): bedtime_start/end; day; total_sleep_duration;
// time_in_bed (the span of the bedtimes if Oura sent 0); light, REM and
// deep durations; latency as time to fall asleep; awake_time as time awake
// during sleep; efficiency as the 1-100 efficiency score; average_heart_rate
// (rounded) as the average; lowest_heart_rate as minimum and as resting
// heart rate (Oura's resting heart rate is the night's lowest); the maximum
// of the 5-minute heart-rate items; average_hrv as average RMSSD; the
// 5-minute heart_rate and hrv series as granular arrays, the hrv one
// completed from interbeat rows where Oura's is null (ibi.go); average_breath
// (rounded); the readiness temperature deviation as temperature delta
// (skin); the day's daily_spo2 average (rounded) as average saturation.
func (r *run) sleepSummary(day string) *health.SleepSummaryDocument {
	d := &health.SleepSummaryDocument{Header: r.header(day)}
	s := &d.Summary
	s.Duration.SleepDate = health.String(day)
	at := r.dayStart(day)

	m := r.mainSleep[day]
	if m != nil {
		p := m.v
		start, okS := parseTime(p.BedtimeStart)
		end, okE := parseTime(p.BedtimeEnd)
		var lo, hi time.Time
		if okS {
			s.Duration.SleepStartDatetime = health.Datetime(start)
			at, lo = s.Duration.SleepStartDatetime, start
		}
		if okE {
			s.Duration.SleepEndDatetime = health.Datetime(end)
			hi = end
		}
		if okS && okE && end.Before(start) {
			lo, hi = time.Time{}, time.Time{} // inverted bounds clip nothing
		}
		s.Duration.SleepDurationSeconds = normkit.NonNeg(p.TotalSleepDuration)
		if n := periodLength(p); n > 0 {
			s.Duration.TimeInBedSeconds = health.Int(n)
		}
		s.Duration.LightSleepDurationSeconds = normkit.NonNeg(p.LightSleepDuration)
		s.Duration.REMSleepDurationSeconds = normkit.NonNeg(p.REMSleepDuration)
		s.Duration.DeepSleepDurationSeconds = normkit.NonNeg(p.DeepSleepDuration)
		s.Duration.TimeToFallAsleepSeconds = normkit.NonNeg(p.Latency)
		s.Duration.TimeAwakeDuringSleepSeconds = normkit.NonNeg(p.AwakeTime)

		s.Scores.SleepEfficiency1To100Score = normkit.Score(p.Efficiency)

		hr := &s.HeartRate
		hr.HRAvgBPM = normkit.PositiveRound(p.AverageHeartRate)
		if p.LowestHeartRate != nil {
			hr.HRMinimumBPM = normkit.Positive(*p.LowestHeartRate)
			hr.HRRestingBPM = normkit.Positive(*p.LowestHeartRate)
		}
		hr.HRGranularData, _, _, hr.HRMaximumBPM = seriesHR(p.HeartRate, lo, hi)
		if p.AverageHRV != nil {
			hr.HRVAvgRMSSD = normkit.PositiveFloat(health.Float(float64(*p.AverageHRV)))
		}
		hr.HRVRMSSDGranularData = r.sleepHRV(p, lo, hi)

		s.Breathing.BreathsAvgPerMin = normkit.PositiveRound(p.AverageBreath)
	}

	if dt := r.temperatureDelta(day); dt != nil {
		s.Temperature.TemperatureDelta = &health.TemperatureValue{TemperatureCelsius: dt, MeasurementType: health.String(skin)}
	}
	if sp := r.spo2[day].get(); sp != nil && sp.SpO2Percentage != nil {
		s.Breathing.SaturationAvgPercentage = normkit.Percentage(sp.SpO2Percentage.Average)
	}
	s.Metadata = r.metadata(at)

	nsd := attachGroup(nil, oura.CollDailySleep, r.dailySleep[day])
	nsd = attachGroup(nsd, oura.CollDailyReadiness, r.readiness[day])
	if m != nil {
		nsd = append(nsd, wrap(oura.CollSleep, normkit.RoleMain, m.raw))
		if h := hypnogram(m.v); h != nil {
			nsd = append(nsd, h)
		}
	}
	for _, p := range r.sleep[day] {
		if p == m {
			continue
		}
		role := normkit.RoleNap
		if p.v.Type != nil && *p.v.Type == oura.SleepTypeDeleted {
			role = normkit.RoleDeleted
		}
		nsd = append(nsd, wrap(oura.CollSleep, role, p.raw))
	}
	nsd = attachGroup(nsd, oura.CollSleepTime, r.sleepTime[day])
	s.NonStructuredData = nsd
	return d
}

// phaseNames decodes sleep_phase_5_min.
var phaseNames = [256]string{'1': "deep", '2': "light", '3': "rem", '4': "awake"}

// hypnogram encodes the main period's sleep_phase_5_min as runs of one
// phase starting at bedtime_start; characters that are not a phase end a
// run and are skipped, and phases past bedtime_end are dropped.
func hypnogram(p *oura.Sleep) []byte {
	if p.SleepPhase5Min == nil || *p.SleepPhase5Min == "" {
		return nil
	}
	start, ok := parseTime(p.BedtimeStart)
	if !ok {
		return nil
	}
	end, hasEnd := parseTime(p.BedtimeEnd)
	const step = 300 * time.Second
	h := hypnogramItem{Source: ouraSource, Collection: oura.CollSleep, Role: normkit.RoleHypnogram, SleepID: p.ID}
	phases := *p.SleepPhase5Min
	var runStart time.Time
	for i := 0; i < len(phases); i++ {
		at := start.Add(time.Duration(i) * step)
		if hasEnd && !at.Before(end) {
			break
		}
		name := phaseNames[phases[i]]
		if name == "" {
			continue
		}
		if i > 0 && phases[i-1] == phases[i] && len(h.Phases) > 0 {
			h.Phases[len(h.Phases)-1].Interval += step.Seconds()
			continue
		}
		runStart = at
		h.Phases = append(h.Phases, hypnogramPhase{Datetime: string(normkit.AppendDatetime(nil, at)), Interval: step.Seconds(), Phase: name})
	}
	if len(h.Phases) == 0 {
		return nil
	}
	// The last run ends with the period, not a full slot later.
	if last := &h.Phases[len(h.Phases)-1]; hasEnd {
		if rest := end.Sub(runStart).Seconds(); rest < last.Interval {
			last.Interval = rest
		}
	}
	return normkit.Derived(h)
}
