package normalize

import (
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

// skin is the measurement type of WHOOP's temperature: the strap reads
// the skin of the wrist.
const skin = "skin"

// pickMain chooses the sleep a day's summary describes: the longest that
// is not a nap (ROOK leaves naps out of the summary); ties go to the
// earlier start, then the smaller id.
func pickMain(ss []*rec[whoop.Sleep]) *rec[whoop.Sleep] {
	var best *rec[whoop.Sleep]
	var bestLen time.Duration
	for _, s := range ss {
		if s.v.Nap {
			continue
		}
		start, ok1 := local(s.v.Start, s.v.TimezoneOffset)
		end, ok2 := local(s.v.End, s.v.TimezoneOffset)
		n := time.Duration(0)
		if ok1 && ok2 {
			n = end.Sub(start)
		}
		if best == nil || n > bestLen || (n == bestLen && (s.v.Start < best.v.Start || (s.v.Start == best.v.Start && s.id < best.id))) {
			best, bestLen = s, n
		}
	}
	return best
}

// recoveryDays files each recovery under its sleep's day, else the day
// the store gave it; one without either is an input error.
func (r *run) recoveryDays() map[string][]*rec[whoop.Recovery] {
	sleepDay := map[string]string{}
	for day, ss := range r.sleeps {
		for _, s := range ss {
			sleepDay[s.id] = day
		}
	}
	out := map[string][]*rec[whoop.Recovery]{}
	for _, x := range r.recoveries {
		day := sleepDay[x.v.SleepID]
		if day == "" {
			if d, ok := normkit.ParseDay(x.day); ok {
				day = d
			}
		}
		if day == "" {
			r.errs = append(r.errs, inputError(whoop.CollRecovery, x.id, "its sleep is not in the input and it has no day"))
			continue
		}
		x.day = day
		r.seen(day)
		out[day] = append(out[day], x)
	}
	return out
}

// buildSleep emits one sleep_summary per day with a sleep or a recovery.
func (r *run) buildSleep() {
	recs := r.recoveryDays()
	days := map[string]bool{}
	for d := range r.sleeps {
		days[d] = true
	}
	for d := range recs {
		days[d] = true
	}
	for _, day := range sortedKeys(days) {
		ss := r.sleeps[day]
		main := pickMain(ss)
		// The main sleep's recovery; a day without a main sleep takes
		// its first recovery.
		var rcv *rec[whoop.Recovery]
		for _, x := range recs[day] {
			if main != nil && x.v.SleepID == main.id {
				rcv = x
			}
		}
		if rcv == nil && main == nil && len(recs[day]) > 0 {
			rcv = recs[day][0]
		}
		if main == nil && rcv == nil {
			continue // only naps: ROOK has no summary for them
		}
		d := r.sleepSummary(day, main, rcv)
		s := &d.Summary
		for _, x := range ss {
			if x != main {
				s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollSleep, normkit.RoleNap, x.raw))
			}
		}
		for _, x := range recs[day] {
			if x != rcv {
				s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollRecovery, "", x.raw))
			}
		}
		r.emit(day, d)
	}
}

// sleepSummary maps one night.
//
// Sleep: start and end (in the record's offset); the span as time in bed;
// light, slow-wave (deep) and REM as the stages and their sum as time
// asleep; awake time; efficiency; respiratory rate; the total sleep need
// as the goal. Stages that add up to more than the span are not copied:
// they cannot be right. Recovery: resting heart rate, HRV RMSSD, SpO2 and
// skin temperature.
func (r *run) sleepSummary(day string, main *rec[whoop.Sleep], rcv *rec[whoop.Recovery]) *health.SleepSummaryDocument {
	d := &health.SleepSummaryDocument{Header: r.header(day)}
	s := &d.Summary
	s.Duration.SleepDate = health.String(day)
	at := midnight(day, "Z")
	if main != nil {
		p := main.v
		start, okS := local(p.Start, p.TimezoneOffset)
		end, okE := local(p.End, p.TimezoneOffset)
		if okS {
			s.Duration.SleepStartDatetime = health.Datetime(start)
			at = s.Duration.SleepStartDatetime
		} else {
			at = midnight(day, p.TimezoneOffset)
		}
		if okE {
			s.Duration.SleepEndDatetime = health.Datetime(end)
		}
		var inBed int
		if okS && okE && !end.Before(start) {
			inBed = int(end.Sub(start) / time.Second)
			s.Duration.TimeInBedSeconds = health.Int(inBed)
		}
		if sc := p.Score; sc != nil {
			st := sc.StageSummary
			light, deep, rem, awake := seconds(st.TotalLightSleepTimeMilli), seconds(st.TotalSlowWaveSleepTimeMilli),
				seconds(st.TotalREMSleepTimeMilli), seconds(st.TotalAwakeTimeMilli)
			asleep := normkit.SumKnown(light, deep, rem)
			if all := normkit.SumKnown(asleep, awake); all != nil && s.Duration.TimeInBedSeconds != nil && *all <= inBed {
				s.Duration.LightSleepDurationSeconds = light
				s.Duration.DeepSleepDurationSeconds = deep
				s.Duration.REMSleepDurationSeconds = rem
				s.Duration.TimeAwakeDuringSleepSeconds = awake
				s.Duration.SleepDurationSeconds = asleep
			}
			if sc.SleepEfficiencyPercentage != nil {
				s.Scores.SleepEfficiency1To100Score = normkit.Percentage(*sc.SleepEfficiencyPercentage)
			}
			n := sc.SleepNeeded
			if need := n.BaselineMilli + n.NeedFromSleepDebtMilli + n.NeedFromRecentStrainMilli + n.NeedFromRecentNapMilli; need > 0 {
				s.Scores.SleepGoalSeconds = seconds(need)
			}
			s.Breathing.BreathsAvgPerMin = normkit.PositiveRound(sc.RespiratoryRate)
		}
		s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollSleep, normkit.RoleMain, main.raw))
	}
	if rcv != nil {
		if sc := rcv.v.Score; sc != nil {
			s.HeartRate.HRRestingBPM = normkit.PositiveRound(&sc.RestingHeartRate)
			s.HeartRate.HRVAvgRMSSD = normkit.PositiveFloat(&sc.HRVRMSSDMilli)
			if sc.SpO2Percentage != nil {
				s.Breathing.SaturationAvgPercentage = normkit.Percentage(*sc.SpO2Percentage)
			}
			if t := normkit.Finite(sc.SkinTempCelsius); t != nil {
				s.Temperature.TemperatureAvg = &health.TemperatureValue{TemperatureCelsius: t, MeasurementType: health.String(skin)}
			}
		}
		s.NonStructuredData = append(s.NonStructuredData, wrap(whoop.CollRecovery, "", rcv.raw))
	}
	s.Metadata = r.metadata(at)
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
