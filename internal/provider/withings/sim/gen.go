package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Kinds of measure group, the low digits of a generated grpid.
const (
	grpWeigh = iota
	grpBP
	grpSpO2
	grpTemp
	grpHeight
	grpGoal
)

// grpID is unique per user, day and kind; added groups use another range.
func grpID(u *User, n, kind int) int64 {
	return 4_000_000_000 + (int64(u.Index)*100_000+int64(n))*8 + int64(kind)
}

func addedID(base int64, u *User, k int) int64 {
	return base + int64(u.Index)*1_000_000 + int64(k)
}

func meas(v int64, typ, unit int) Measure { return Measure{Value: v, Type: typ, Unit: unit, FM: 3} }

// stamp sets a group's times: created and modified a few minutes after it
// was taken, as a device syncs.
func stamp(g *MeasureGroup, at time.Time, r *rand.Rand) {
	g.Date = at.Unix()
	g.Created = g.Date + 30 + r.Int64N(270)
	g.Modified = g.Created
}

func (u *User) withDevice(g *MeasureGroup, d device) {
	g.DeviceID, g.HashDeviceID, g.Model, g.ModelID = d.id, d.id, d.model, d.modelID
}

// weighIn builds a scale measurement with body composition at t. The
// composition is consistent: fat mass is weight times the fat ratio, fat-free
// mass the rest, muscle, hydration and bone parts of the fat-free mass.
func (u *User) weighIn(id int64, n int, t time.Time, r *rand.Rand) MeasureGroup {
	trend := 1.5 * math.Sin(2*math.Pi*float64(n)/60)
	wg := int64((u.weightKg + trend + r.NormFloat64()*0.3) * 1000)
	ratio := int64((u.fatRatio + trend/3 + r.NormFloat64()*0.3) * 1000) // 10^-3 %
	fat := wg * ratio / 100_000
	ffm := wg - fat
	g := MeasureGroup{GrpID: id, Attrib: AttribDevice, Category: CategoryReal, Measures: []Measure{
		meas(wg, TypeWeight, -3),
		meas(ratio, TypeFatRatio, -3),
		meas(fat, TypeFatMass, -3),
		meas(ffm, TypeFatFreeMass, -3),
		meas(ffm*93/1000, TypeMuscleMass, -2),
		meas(ffm*72/1000, TypeHydration, -2),
		meas(ffm*5/1000, TypeBoneMass, -2),
	}}
	if u.cardio {
		g.Measures = append(g.Measures, meas(int64(u.restHR+8+r.IntN(20)), TypeHeartPulse, 0))
	}
	u.withDevice(&g, u.scale)
	stamp(&g, t, r)
	return g
}

// dayGroups are the measure groups of local day n, oldest first: a morning
// weigh-in on most days, blood pressure some evenings, SpO2 from the watch,
// a temperature typed in now and then, and on the first day the height the
// user entered and a weight objective (category 2).
func (w *world) dayGroups(u *User, n int) []MeasureGroup {
	if n < u.FirstDay {
		return nil
	}
	r := w.rng("measures", u.Index, n)
	var out []MeasureGroup
	if n == u.FirstDay {
		h := MeasureGroup{GrpID: grpID(u, n, grpHeight), Attrib: AttribUserEntry, Category: CategoryReal, Measures: []Measure{{Value: u.heightMM, Type: TypeHeight, Unit: -3}}}
		stamp(&h, u.at(n, 6*time.Hour), r)
		goal := MeasureGroup{GrpID: grpID(u, n, grpGoal), Attrib: AttribUserEntry, Category: CategoryGoal, Measures: []Measure{{Value: int64(u.weightKg*1000) - 3000, Type: TypeWeight, Unit: -3}}}
		stamp(&goal, u.at(n, 6*time.Hour+time.Minute), r)
		out = append(out, h, goal)
	}
	weigh, bp, spo2, temp := r.Float64(), r.Float64(), r.Float64(), r.Float64()
	morning := 6*time.Hour + 30*time.Minute + time.Duration(r.IntN(7200))*time.Second
	evening := 20*time.Hour + time.Duration(r.IntN(7200))*time.Second
	if weigh < 0.6 {
		out = append(out, u.weighIn(grpID(u, n, grpWeigh), n, u.at(n, morning), r))
	}
	if bp < 0.35 {
		g := MeasureGroup{GrpID: grpID(u, n, grpBP), Attrib: AttribDevice, Category: CategoryReal, Measures: []Measure{
			meas(int64(70+r.IntN(20)), TypeDiastolic, 0),
			meas(int64(110+r.IntN(30)), TypeSystolic, 0),
			meas(int64(u.restHR+5+r.IntN(20)), TypeHeartPulse, 0),
		}}
		u.withDevice(&g, u.bpm)
		stamp(&g, u.at(n, evening), r)
		out = append(out, g)
	}
	if u.watch && spo2 < 0.25 {
		g := MeasureGroup{GrpID: grpID(u, n, grpSpO2), Attrib: AttribDevice, Category: CategoryReal, Measures: []Measure{meas(int64(94+r.IntN(6)), TypeSpO2, 0)}}
		u.withDevice(&g, u.watchDev)
		stamp(&g, u.at(n, evening+30*time.Minute), r)
		out = append(out, g)
	}
	if temp < 0.1 {
		g := MeasureGroup{GrpID: grpID(u, n, grpTemp), Attrib: AttribUserEntry, Category: CategoryReal, Measures: []Measure{{Value: int64(3620 + r.IntN(110)), Type: TypeBodyTemp, Unit: -2}}}
		stamp(&g, u.at(n, evening+45*time.Minute), r)
		out = append(out, g)
	}
	return out
}

// night is one stay in bed seen by the sleep analyzer: a state a minute.
type night struct {
	id      int64
	user    *User
	start   time.Time
	states  []int8
	created int64
	date    string // the local day it ends
	series  [2]uint64
}

func (nt *night) end() time.Time { return nt.start.Add(time.Duration(len(nt.states)) * time.Minute) }

// genNight is the night that starts on the evening of local day n, nil on
// the nights the user slept elsewhere.
func (w *world) genNight(u *User, n int) *night {
	if n < u.FirstDay-1 {
		return nil
	}
	r := w.rng("night", u.Index, n)
	if r.Float64() < 0.08 {
		return nil
	}
	start := u.at(n, 22*time.Hour+15*time.Minute+u.bedShift+time.Duration(r.IntN(5400))*time.Second)
	nt := buildNight(r, start, 390+r.IntN(150))
	nt.id = 2_000_000_000 + int64(u.Index)*100_000 + int64(n)
	nt.user = u
	nt.date = ymd(n + 1)
	s := w.rng("nightseries", u.Index, n)
	nt.series = [2]uint64{s.Uint64(), s.Uint64()}
	return nt
}

// buildNight draws the states of a night of minutes in bed: falling
// asleep, cycles of light, deep and REM sleep with deep sleep early and REM
// late, a few wake-ups, and time awake before getting up.
func buildNight(r *rand.Rand, start time.Time, minutes int) *night {
	st := make([]int8, 0, minutes)
	latency := 5 + r.IntN(25)
	final := 3 + r.IntN(15)
	for range latency {
		st = append(st, StateAwake)
	}
	sleepMin := minutes - latency - final
	for c := 0; len(st) < latency+sleepMin; c++ {
		deep := max(5, 35-c*8+r.IntN(10))
		rem := 10 + c*6 + r.IntN(10)
		light := 35 + r.IntN(20)
		for _, p := range [][2]int{{StateLight, light / 2}, {StateDeep, deep}, {StateLight, light / 2}, {StateREM, rem}} {
			for range p[1] {
				st = append(st, int8(p[0]))
			}
		}
		if r.Float64() < 0.5 {
			for range 2 + r.IntN(8) {
				st = append(st, StateAwake)
			}
		}
	}
	st = st[:latency+sleepMin]
	if st[len(st)-1] == StateAwake { // the last sleep minute is sleep
		st[len(st)-1] = StateLight
	}
	for range final {
		st = append(st, StateAwake)
	}
	nt := &night{start: start, states: st}
	nt.created = nt.end().Unix() + 600 + r.Int64N(1800)
	return nt
}

// minute is one minute's values of the high-frequency series.
type minute struct {
	hr, rr, snoring, sdnn, rmssd, quality, mvt int64
}

func (nt *night) minutes() []minute {
	r := rand.New(rand.NewPCG(nt.series[0], nt.series[1]))
	base := 52
	if nt.user != nil {
		base = nt.user.restHR
	}
	out := make([]minute, len(nt.states))
	for i, s := range nt.states {
		m := minute{rr: int64(12 + r.IntN(5)), sdnn: int64(30 + r.IntN(50)), rmssd: int64(20 + r.IntN(50)), quality: int64(r.IntN(4))}
		switch s {
		case StateAwake:
			m.hr, m.mvt = int64(base+8+r.IntN(10)), int64(60+r.IntN(190))
		case StateDeep:
			m.hr, m.mvt = int64(base-6+r.IntN(5)), int64(r.IntN(10))
		default:
			m.hr, m.mvt = int64(base-2+r.IntN(8)), int64(r.IntN(40))
		}
		if s == StateLight || s == StateDeep {
			if r.Float64() < 0.15 {
				m.snoring = int64(10 + r.IntN(50))
			}
		}
		out[i] = m
	}
	return out
}

// segments cuts a night into runs of one state, with the asked-for series.
func (nt *night) segments(fields map[string]bool, dev device) []SleepSegment {
	mins := nt.minutes()
	var out []SleepSegment
	for i := 0; i < len(nt.states); {
		j := i
		for j < len(nt.states) && nt.states[j] == nt.states[i] {
			j++
		}
		seg := SleepSegment{StartDate: nt.start.Unix() + int64(i)*60, EndDate: nt.start.Unix() + int64(j)*60, State: int(nt.states[i]), Model: dev.model, ModelID: dev.modelID, HashDeviceID: dev.id}
		put := func(name string, dst *map[string]int64, v func(minute) int64) {
			if !fields[name] {
				return
			}
			*dst = map[string]int64{}
			for k := i; k < j; k++ {
				(*dst)[strconv.FormatInt(nt.start.Unix()+int64(k)*60, 10)] = v(mins[k])
			}
		}
		put("hr", &seg.HR, func(m minute) int64 { return m.hr })
		put("rr", &seg.RR, func(m minute) int64 { return m.rr })
		put("snoring", &seg.Snoring, func(m minute) int64 { return m.snoring })
		put("sdnn_1", &seg.SDNN1, func(m minute) int64 { return m.sdnn })
		put("rmssd", &seg.RMSSD, func(m minute) int64 { return m.rmssd })
		put("hrv_quality", &seg.HRVQuality, func(m minute) int64 { return m.quality })
		put("mvt_score", &seg.MvtScore, func(m minute) int64 { return m.mvt })
		out = append(out, seg)
		i = j
	}
	return out
}

// BaseSleepFields are the summary fields sent without data_fields, as the
// recorded answer has them.
var baseSleepFields = []string{"wakeupduration", "wakeupcount", "durationtosleep", "remsleepduration", "durationtowakeup", "total_timeinbed", "total_sleep_time", "sleep_efficiency", "sleep_latency", "wakeup_latency", "waso", "nb_rem_episodes", "out_of_bed_count", "lightsleepduration", "deepsleepduration"}

// summaryData is every summary field the simulator knows, derived from the
// night's minutes so a client can check that stages sum to the time asleep.
func (nt *night) summaryData() map[string]any {
	mins := nt.minutes()
	var dur [4]int
	for _, s := range nt.states {
		dur[s] += 60
	}
	onset, last := -1, -1
	for i, s := range nt.states {
		if s != StateAwake {
			if onset < 0 {
				onset = i
			}
			last = i
		}
	}
	wakeups, waso, rem := 0, 0, 0
	for i := onset; i <= last; i++ {
		if nt.states[i] == StateAwake {
			waso += 60
			if nt.states[i-1] != StateAwake {
				wakeups++
			}
		}
		if nt.states[i] == StateREM && nt.states[i-1] != StateREM {
			rem++
		}
	}
	tib := len(nt.states) * 60
	tst := dur[StateLight] + dur[StateDeep] + dur[StateREM]
	toSleep, toWake := onset*60, (len(nt.states)-1-last)*60
	var hrSum, rrSum, snore, episodes int64
	hrMin, hrMax, rrMin, rrMax := int64(math.MaxInt64), int64(0), int64(math.MaxInt64), int64(0)
	for i, m := range mins {
		hrSum, rrSum, snore = hrSum+m.hr, rrSum+m.rr, snore+m.snoring
		hrMin, hrMax, rrMin, rrMax = min(hrMin, m.hr), max(hrMax, m.hr), min(rrMin, m.rr), max(rrMax, m.rr)
		if m.snoring > 0 && (i == 0 || mins[i-1].snoring == 0) {
			episodes++
		}
	}
	n := int64(len(mins))
	eff := math.Round(float64(tst)/float64(tib)*100) / 100
	score := min(100, max(0, int(eff*60)+tst/3600*5-wakeups*2))
	return map[string]any{
		"wakeupduration": dur[StateAwake], "wakeupcount": wakeups, "durationtosleep": toSleep, "durationtowakeup": toWake,
		"remsleepduration": dur[StateREM], "lightsleepduration": dur[StateLight], "deepsleepduration": dur[StateDeep],
		"total_timeinbed": tib, "total_sleep_time": tst, "asleepduration": tst, "sleep_efficiency": eff,
		"sleep_latency": toSleep, "wakeup_latency": toWake, "waso": waso, "nb_rem_episodes": rem, "out_of_bed_count": 0,
		"hr_average": hrSum / n, "hr_min": hrMin, "hr_max": hrMax, "rr_average": rrSum / n, "rr_min": rrMin, "rr_max": rrMax,
		"snoring": snore, "snoringepisodecount": episodes, "sleep_score": score, "breathing_disturbances_intensity": int(episodes) % 20,
	}
}

// summary is the night's getsummary object with the asked-for fields (nil:
// the base set).
func (nt *night) summary(fields []string, dev device) SleepSummary {
	all := nt.summaryData()
	if fields == nil {
		fields = baseSleepFields
	}
	data := map[string]any{}
	for _, f := range fields {
		if v, ok := all[f]; ok {
			data[f] = v
		}
	}
	return SleepSummary{ID: nt.id, Timezone: nt.user.Timezone, Model: sleepAnalyzerMod, ModelID: dev.modelID, HashDeviceID: dev.id,
		StartDate: nt.start.Unix(), EndDate: nt.end().Unix(), Date: nt.date, Data: data, Created: nt.created, Modified: nt.created}
}

// intraday is day n's high-frequency activity of a watch user: a sample
// every 10 minutes from 07:00 to 22:00 local.
func (w *world) intraday(u *User, n int) []struct {
	at time.Time
	s  IntradaySample
} {
	if !u.watch || n < u.FirstDay {
		return nil
	}
	r := w.rng("intraday", u.Index, n)
	var out []struct {
		at time.Time
		s  IntradaySample
	}
	for slot := range 90 {
		at := u.at(n, 7*time.Hour+time.Duration(slot)*10*time.Minute)
		steps := 0
		if r.Float64() < 0.6 {
			steps = 30 + r.IntN(1100)
		}
		s := IntradaySample{DeviceID: u.watchDev.id, Model: u.watchDev.model, ModelID: u.watchDev.modelID, Steps: steps, Duration: 600,
			Distance: math.Round(float64(steps)*0.75*10) / 10, Calories: math.Round(float64(steps)*0.04*100) / 100,
			Elevation: float64(r.IntN(3)), HeartRate: u.restHR + 10 + steps/25 + r.IntN(10)}
		out = append(out, struct {
			at time.Time
			s  IntradaySample
		}{at, s})
	}
	return out
}

// activity is local day n's summary, final once the day is over: for watch
// users the sums of the intraday samples, for the others a phone's count.
func (w *world) activity(u *User, n int) *Activity {
	if n < u.FirstDay {
		return nil
	}
	r := w.rng("activity", u.Index, n)
	a := &Activity{Timezone: u.Timezone, Date: ymd(n), Modified: u.at(n+1, 10*time.Minute).Unix()}
	if u.watch {
		var z [4]int
		sum, lo, hi, cnt := 0, math.MaxInt, 0, 0
		for _, x := range w.intraday(u, n) {
			s := x.s
			a.Steps += s.Steps
			a.Distance += s.Distance
			a.Elevation += s.Elevation
			a.Calories += s.Calories
			switch {
			case s.Steps > 800:
				a.Intense += 600
			case s.Steps > 300:
				a.Moderate += 600
			case s.Steps > 0:
				a.Soft += 600
			}
			sum, lo, hi, cnt = sum+s.HeartRate, min(lo, s.HeartRate), max(hi, s.HeartRate), cnt+1
			switch {
			case s.HeartRate < 90:
				z[0] += 600
			case s.HeartRate < 110:
				z[1] += 600
			case s.HeartRate < 130:
				z[2] += 600
			default:
				z[3] += 600
			}
		}
		avg := sum / cnt
		a.HRAverage, a.HRMin, a.HRMax = &avg, &lo, &hi
		a.HRZone0, a.HRZone1, a.HRZone2, a.HRZone3 = &z[0], &z[1], &z[2], &z[3]
		a.DeviceID, a.HashDeviceID = u.watchDev.id, u.watchDev.id
		a.Brand, a.ModelID, a.Model, a.IsTracker = 1, u.watchDev.modelID, u.watchDev.model, true
	} else {
		a.Steps = 2000 + r.IntN(11000)
		a.Distance = float64(a.Steps) * 0.74
		a.Elevation = float64(r.IntN(12))
		a.Soft, a.Moderate, a.Intense = a.Steps/4, a.Steps/12, r.IntN(1200)
		a.Calories = float64(a.Steps) * 0.045
		a.Brand, a.ModelID, a.Model = 18, u.phoneModel.modelID, u.phoneModel.model
	}
	a.Distance = math.Round(a.Distance*1000) / 1000
	a.Calories = math.Round(a.Calories*1000) / 1000
	a.Active = a.Moderate + a.Intense
	a.TotalCalories = math.Round((a.Calories+u.bmr)*1000) / 1000
	return a
}

// workoutKinds are Withings' workout categories the users practise, with
// a speed (m/s) and a cadence (steps/s, 0 for none).
var workoutKinds = []struct {
	category       int
	speed, cadence float64
}{{1, 1.4, 1.8}, {2, 2.8, 2.7}, {3, 1.2, 1.6}, {6, 6, 0}, {7, 0.7, 0}}

// workout is local day n's workout, on about a third of the days.
func (w *world) workout(u *User, n int) *Workout {
	if n < u.FirstDay {
		return nil
	}
	r := w.rng("workout", u.Index, n)
	if r.Float64() > 0.3 {
		return nil
	}
	start := u.at(n, 17*time.Hour+time.Duration(r.IntN(7200))*time.Second)
	dur := 1500 + r.IntN(3600)
	kind := workoutKinds[r.IntN(len(workoutKinds))]
	cat := kind.category
	hr := u.restHR + 60 + r.IntN(40)
	wo := &Workout{ID: 3_000_000_000 + int64(u.Index)*100_000 + int64(n), Category: cat, Timezone: u.Timezone, Attrib: 0,
		StartDate: start.Unix(), EndDate: start.Unix() + int64(dur), Date: ymd(n)}
	wo.Modified = wo.EndDate + 300
	zones := [4]int{dur / 10, dur / 5, dur / 2, 0}
	zones[3] = dur - zones[0] - zones[1] - zones[2]
	wo.Data = WorkoutData{Calories: dur / 8, Intensity: 30 + r.IntN(70), HRAverage: hr, HRMin: hr - 25, HRMax: hr + 30,
		HRZone0: zones[0], HRZone1: zones[1], HRZone2: zones[2], HRZone3: zones[3], PauseDuration: r.IntN(300),
		Steps: int(float64(dur) * kind.cadence), Distance: int(float64(dur) * kind.speed), Elevation: r.IntN(80)}
	if u.watch {
		wo.Model, wo.DeviceID = u.watchDev.modelID, u.watchDev.id
		wo.Data.SpO2Average = 95 + r.IntN(4)
	} else {
		wo.Model = u.phoneModel.modelID
	}
	return wo
}
