package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// histDays is how many earlier timetables the scores look back on.
const histDays = 14

// generate builds user u's full day dn. It is a pure function of (seed, u,
// dn): neighbouring days are consulted only through their timetables and
// period generators, which are pure too.
func (w *World) generate(u, dn int) *Day {
	p := &w.profiles[u]
	loc := w.users[u].Location
	hist := make([]*dayPlan, histDays+2) // dn-14 .. dn+1
	for i := range hist {
		hist[i] = w.plan(u, dn-histDays+i)
	}
	today, next := hist[histDays], hist[histDays+1]
	dayStart, dayEnd := localUnix(loc, dn, 0), localUnix(loc, dn+1, 0)
	windows := w.chargeWindows(u, dn-3*p.chargeEvery, dn+1)
	r := w.rng(u, dn, stDaily)

	d := &Day{Date: dateOf(dn)}

	// Sleep periods and the scores of the main night.
	spans := today.sleepSpans()
	periods := make([]*periodData, len(spans))
	var main *periodData
	for i, ss := range spans {
		periods[i] = w.genPeriod(u, today, ss)
		if ss.typ == oura.SleepTypeLongSleep {
			main = periods[i]
		}
	}
	off := offsetAt(loc, main.midpoint)
	midHour := math.Mod(float64(main.midpoint+int64(off))/3600+24*365, 24)
	if midHour > 12 {
		midHour -= 24
	}
	sleepContrib, sleepScore := dailySleepScores(main, midHour)
	rd := w.readiness(u, p, hist, main, sleepScore, r)
	midnightUTC := oura.DateTime(string(d.Date) + "T00:00:00+00:00")
	d.DailySleep = &oura.DailySleep{
		ID: w.docID(u, idAddr{dn: dn, coll: idDailySleep}), Contributors: sleepContrib,
		Day: d.Date, Score: ip(sleepScore), Timestamp: midnightUTC,
	}
	d.DailyReadiness = &oura.DailyReadiness{
		ID: w.docID(u, idAddr{dn: dn, coll: idDailyReadiness}), Contributors: rd.Contributors,
		Day: d.Date, Score: rd.Score, TemperatureDeviation: rd.TemperatureDeviation,
		TemperatureTrendDeviation: rd.TemperatureTrendDeviation, Timestamp: midnightUTC,
	}
	d.Sleep = make([]oura.Sleep, len(periods))
	for i, pd := range periods {
		doc := pd.doc
		doc.ID = w.docID(u, idAddr{dn: dn, coll: idSleep, item: i})
		doc.Period = i
		if pd == main {
			rcopy := rd
			doc.Readiness = &rcopy
			doc.ReadinessScoreDelta = ip(0)
			doc.SleepScoreDelta = ip(0)
			lvl, _ := w.batteryLevel(u, windows, pd.span.s)
			doc.LowBatteryAlert = lvl < 15
		} else {
			// A nap's own readiness view lacks the night-based inputs.
			nr := rd
			nr.Contributors.BodyTemperature = ip(1)
			nr.Contributors.PreviousNight = ip(1)
			nr.Contributors.RestingHeartRate = ip(1)
			nr.Contributors.RecoveryIndex = ip(1 + r.IntN(20))
			nr.TemperatureDeviation = nil
			if pd.typ != oura.SleepTypeRest && pd.span.seconds() >= 30*60 {
				delta := 1 + r.IntN(6)
				nr.Score = ip(clampInt(*rd.Score+delta, 1, 100))
				doc.ReadinessScoreDelta = ip(delta)
				doc.SleepScoreDelta = ip(1 + r.IntN(7))
			}
			doc.Readiness = &nr
		}
		d.Sleep[i] = doc
	}

	act := w.genActivity(u, today, next, hist[:histDays+1], *rd.Score)
	d.DailyActivity = &act.doc

	// Tonight's periods that start on D give D's evening heart rate.
	hrPeriods := periods
	for _, ss := range next.sleepSpans() {
		if (ss.typ == oura.SleepTypeLongSleep || ss.typ == oura.SleepTypeLateNap) && ss.s < dayEnd {
			hrPeriods = append(hrPeriods[:len(hrPeriods):len(hrPeriods)], w.genPeriod(u, next, ss))
		}
	}
	d.HeartRate = w.genHeartRate(u, today, hrPeriods, act, dayStart, dayEnd)
	d.Interbeat = w.genInterbeat(u, hrPeriods, dayStart, dayEnd)
	d.Battery = w.genBattery(u, dn, windows, dayStart, dayEnd)

	d.Workouts = w.genWorkouts(u, today)
	d.Sessions = w.genSessions(u, today)
	w.genDailies(u, p, today, d, rd, sleepScore, r)
	w.genTags(u, p, today, d)
	return d
}

func (w *World) readiness(u int, p *profile, hist []*dayPlan, main *periodData, sleepScore int, r *rand.Rand) oura.Readiness {
	dn := hist[histDays].dn
	loc := w.users[u].Location

	// Sleep balance compares two weeks of sleep (time in bed less the usual
	// wake time) with the user's need.
	var tib float64
	for _, h := range hist[:histDays+1] {
		tib += float64(h.main.seconds())
	}
	avgSleepH := tib / float64(histDays+1) / 3600 * 0.87
	var act float64
	for _, h := range hist[:histDays] {
		act += h.activity
	}
	act /= histDays
	// Regularity: spread of the last week's sleep midpoints, in minutes.
	var mids []float64
	for _, h := range hist[histDays-6 : histDays+1] {
		mid := h.main.s + int64(h.main.seconds()/2)
		mids = append(mids, float64(mid-localUnix(loc, h.dn, 0))/60)
	}
	var hrv3, hrv14 float64
	for k := 0; k < histDays; k++ {
		f := w.hrvFactor(u, p, dn-k)
		if k < 3 {
			hrv3 += f / 3
		}
		hrv14 += f / histDays
	}
	dev := w.tempDeviation(u, p, dn)
	var recent, base float64
	for k := 0; k < 14; k++ {
		v := w.tempDeviation(u, p, dn-k)
		if k < 3 {
			recent += v / 3
		} else {
			base += v / 11
		}
	}
	trend := math.Round((recent-base)*100) / 100

	lowest := float64(p.rhr)
	if main.doc.LowestHeartRate != nil {
		lowest = float64(*main.doc.LowestHeartRate)
	}
	c := oura.ReadinessContributors{
		ActivityBalance:     ip(clampInt(int(math.Round(100-math.Abs(act-1)*130)), 1, 100)),
		BodyTemperature:     ip(score(math.Abs(dev), 1.0, 0.15)),
		HRVBalance:          ip(score(hrv3/hrv14, 0.75, 1.02)),
		PreviousDayActivity: ip(clampInt(int(math.Round(100-math.Abs(hist[histDays-1].activity-1.05)*90)), 1, 100)),
		PreviousNight:       ip(clampInt(sleepScore+betweenInt(r, -6, 8), 1, 100)),
		RecoveryIndex:       ip(score(main.minFrac, 0.92, 0.45)),
		// The night's lowest rate normally sits ~4 bpm under the baseline.
		RestingHeartRate: ip(score(lowest-p.rhr+4, 10, -2)),
		SleepBalance:     ip(score(avgSleepH, p.sleepNeedHour-2.5, p.sleepNeedHour-0.3)),
		SleepRegularity:  ip(score(stddev(mids), 80, 12)),
	}
	s := 0.2*float64(*c.PreviousNight) + 0.15*float64(*c.SleepBalance) + 0.1*float64(*c.PreviousDayActivity) +
		0.1*float64(*c.ActivityBalance) + 0.1*float64(*c.BodyTemperature) + 0.1*float64(*c.HRVBalance) +
		0.1*float64(*c.RestingHeartRate) + 0.1*float64(*c.RecoveryIndex) + 0.05*float64(*c.SleepRegularity)
	return oura.Readiness{
		Contributors:              c,
		Score:                     ip(clampInt(int(math.Round(s)), 1, 100)),
		TemperatureDeviation:      fp(dev),
		TemperatureTrendDeviation: fp(trend),
	}
}

func stddev(xs []float64) float64 {
	var m, v float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)))
}

func (w *World) genWorkouts(u int, pl *dayPlan) []oura.Workout {
	if len(pl.workouts) == 0 {
		return nil
	}
	p := &w.profiles[u]
	loc := w.users[u].Location
	r := w.rng(u, pl.dn, stWorkout)
	out := make([]oura.Workout, len(pl.workouts))
	for i, wk := range pl.workouts {
		kind := workoutKinds[wk.kind]
		hours := float64(wk.seconds()) / 3600
		var cal, dist *float64
		if r.Float64() > 0.08 {
			cal = fp(math.Round((wk.met-1)*p.weight*hours*between(r, 0.9, 1.1)*1000) / 1000)
		}
		if kind.speed > 0 && r.Float64() < 0.6 {
			// float32 precision, as the API reports distances
			dist = fp(float64(float32(kind.speed * float64(wk.seconds()) * between(r, 0.85, 1.15))))
		}
		src := oura.WorkoutSource(pick(r, []string{"confirmed", "autodetected", "confirmed"}))
		if wk.kind != 0 {
			src = oura.WorkoutSource(pick(r, []string{"manual", "workout_heart_rate", "confirmed", "autodetected"}))
		}
		out[i] = oura.Workout{
			ID:            w.docID(u, idAddr{dn: pl.dn, coll: idWorkout, item: i}),
			Activity:      kind.name,
			Calories:      cal,
			Day:           dateOf(pl.dn),
			Distance:      dist,
			EndDatetime:   localStamp(loc, wk.e),
			Intensity:     wk.intensity,
			Label:         nil,
			Source:        src,
			StartDatetime: localStamp(loc, wk.s),
		}
	}
	return out
}

func (w *World) genSessions(u int, pl *dayPlan) []oura.Session {
	if len(pl.sessions) == 0 {
		return nil
	}
	p := &w.profiles[u]
	loc := w.users[u].Location
	r := w.rng(u, pl.dn, stSession)
	out := make([]oura.Session, len(pl.sessions))
	for i, s := range pl.sessions {
		n := (s.seconds() + 4) / 5
		motion := make([]*float64, n)
		mv := 0.0
		for k := range motion {
			switch {
			case k == 0:
				mv = 0
			case k < 8:
				mv = math.Round(between(r, 5, 50))
			default:
				mv = math.Max(0, math.Round(mv*0.5+r.NormFloat64()*6))
			}
			motion[k] = item(mv)
		}
		doc := oura.Session{
			ID:            w.docID(u, idAddr{dn: pl.dn, coll: idSession, item: i}),
			Day:           dateOf(pl.dn),
			StartDatetime: localStamp(loc, s.s),
			EndDatetime:   localStamp(loc, s.e),
			Type:          s.kind,
			MotionCount:   &oura.Sample{Interval: 5, Items: motion, Timestamp: sampleStamp(loc, s.s)},
		}
		if r.Float64() < 0.7 {
			hr := make([]*float64, n)
			hv := make([]*float64, n)
			lead, leadV, trailV := 2+r.IntN(5), 8+r.IntN(8), r.IntN(10)
			v := p.rhr + w.rhrDelta(u, p, pl.dn) + 10 + r.NormFloat64()*3
			hrvLevel := math.Round(p.hrv * between(r, 0.4, 0.8))
			for k := 0; k < n; k++ {
				v += r.NormFloat64()*0.15 - 0.004*float64(k%40-20)
				if k >= lead {
					hr[k] = item(round(v, 0.1))
				}
				if k >= leadV && k < n-trailV {
					hv[k] = item(math.Max(3, hrvLevel+float64(r.IntN(3)-1)))
				}
			}
			doc.HeartRate = &oura.Sample{Interval: 5, Items: hr, Timestamp: sampleStamp(loc, s.s)}
			doc.HeartRateVariability = &oura.Sample{Interval: 5, Items: hv, Timestamp: sampleStamp(loc, s.s)}
		}
		if r.Float64() < 0.75 {
			m := pick(r, []oura.MomentMood{"great", "good", "good", "same", "same", "worse", "bad"})
			doc.Mood = &m
		}
		out[i] = doc
	}
	return out
}

func (w *World) genDailies(u int, p *profile, pl *dayPlan, d *Day, rd oura.Readiness, sleepScore int, r *rand.Rand) {
	dn := pl.dn
	loc := w.users[u].Location
	day := d.Date
	start, _ := parseDate(w.cfg.HistoryStart)
	age := p.age + max(0, (dn-start)/365)

	spo2 := &oura.DailySpO2{ID: w.docID(u, idAddr{dn: dn, coll: idDailySpO2}), Day: day}
	if r.Float64() >= p.nullSpO2Odds {
		spo2.SpO2Percentage = &oura.SpO2Aggregate{Average: math.Round(clamp(p.spo2+r.NormFloat64()*0.6, 92, 99.6)*1000) / 1000}
		spo2.BreathingDisturbanceIndex = ip(clampInt(int(math.Round(math.Abs(8+r.NormFloat64()*6))), 0, 100))
	}
	d.DailySpO2 = spo2

	stressHigh := 900 * int(math.Round(math.Max(0, pl.stress*4*3600+r.NormFloat64()*1800)/900))
	recHigh := 900 * int(math.Round(math.Max(0, (1-pl.stress)*3*3600+r.NormFloat64()*1800)/900))
	st := &oura.DailyStress{ID: w.docID(u, idAddr{dn: dn, coll: idDailyStress}), Day: day, StressHigh: ip(stressHigh), RecoveryHigh: ip(recHigh)}
	if stressHigh > 0 || recHigh > 0 {
		sum := oura.DailyStressSummary("normal")
		switch {
		case float64(stressHigh) > 1.5*float64(recHigh):
			sum = "stressful"
		case float64(recHigh) > 2*float64(stressHigh):
			sum = "restored"
		}
		st.DaySummary = &sum
	}
	d.DailyStress = st

	sr := round(clamp(float64(*rd.Score)*0.6+r.NormFloat64()*8, 0, 100), 0.1)
	dr := round(clamp((1-pl.stress)*70+r.NormFloat64()*8, 0, 100), 0.1)
	sx := round(clamp(pl.stress*70+r.NormFloat64()*8, 0, 100), 0.1)
	lvl := oura.ResilienceLevel("exceptional")
	switch avg := (sr + dr + 100 - sx) / 3; {
	case avg < 35:
		lvl = "limited"
	case avg < 50:
		lvl = "adequate"
	case avg < 62:
		lvl = "solid"
	case avg < 75:
		lvl = "strong"
	}
	d.DailyResilience = &oura.DailyResilience{
		ID: w.docID(u, idAddr{dn: dn, coll: idDailyResilience}), Day: day,
		Contributors: oura.ResilienceContributors{SleepRecovery: sr, DaytimeRecovery: dr, Stress: sx},
		Level:        lvl,
	}

	vasc := clampInt(int(math.Round(float64(age)+4*w.noise(u, dn, 41, 30)-6*(p.fitness-0.5))), 18, 100)
	d.DailyCardiovascularAge = &oura.DailyCardiovascularAge{
		ID: w.docID(u, idAddr{dn: dn, coll: idDailyCardiovascularAge}), Day: day,
		PulseWaveVelocity: fp(round(3.4+0.085*float64(vasc)+0.2*w.noise(u, dn, 42, 10), 0.1)),
		VascularAge:       ip(vasc),
	}

	if weekday(dn) == time.Weekday(p.vo2Weekday) { // a weekly estimate, as the app updates it
		d.VO2Max = &oura.VO2Max{
			ID: w.docID(u, idAddr{dn: dn, coll: idVO2Max}), Day: day,
			Timestamp: localStamp(loc, pl.main.e+int64(2*hh+r.IntN(2*hh))),
			VO2Max:    int(math.Round(p.vo2 + 1.5*w.noise(u, dn, 43, 35))),
		}
	}

	stt := &oura.SleepTime{ID: w.docID(u, idAddr{dn: dn, coll: idSleepTime}), Day: day}
	var status oura.SleepTimeStatus
	var rec oura.SleepTimeRecommendation
	x := r.Float64()
	switch {
	case dn-start < 14:
		status = "not_enough_nights"
	case x < 0.55:
		status = "optimal_found"
	case x < 0.85:
		status, rec = "only_recommended_found", pick(r, []oura.SleepTimeRecommendation{"earlier_bedtime", "later_bedtime", "earlier_bedtime"})
	case x < 0.95:
		status = "not_enough_recent_nights"
	default:
		status, rec = "bad_sleep_quality", "improve_efficiency"
	}
	if status == "optimal_found" {
		centre := int(math.Round(float64(p.bedSec)/900)) * 900
		stt.OptimalBedtime = &oura.SleepTimeWindow{
			DayTZ:       offsetAt(loc, localUnix(loc, dn, 12*hh)),
			StartOffset: centre - 1800,
			EndOffset:   centre + 1800,
		}
		bed := int(pl.main.s - localUnix(loc, dn, 0))
		switch {
		case bed > centre+1800:
			rec = "earlier_bedtime"
		case bed < centre-1800:
			rec = "later_bedtime"
		default:
			rec = "follow_optimal_bedtime"
		}
	}
	stt.Status = &status
	if rec != "" {
		stt.Recommendation = &rec
	}
	d.SleepTime = stt
}

var tagCodes = []string{
	"tag_generic_nocaffeine", "tag_generic_fasting", "tag_generic_party", "tag_generic_dark_bedroom",
	"tag_sleep_latemeal", "tag_sleep_alcohol", "tag_generic_cold", "tag_generic_pain", "tag_generic_headache",
	"tag_generic_caffeine", "tag_generic_sauna", "tag_generic_late_screen_time",
}

func (w *World) genTags(u int, p *profile, pl *dayPlan, d *Day) {
	dn := pl.dn
	loc := w.users[u].Location
	r := w.rng(u, dn, stTag)

	if r.Float64() < p.tagProb {
		n := 1
		if r.Float64() < 0.25 {
			n = 2
		}
		starts := make([]int, n)
		for i := range starts {
			starts[i] = betweenInt(r, 7*hh, 23*hh+30*hm)
		}
		if n == 2 && starts[1] < starts[0] {
			starts[0], starts[1] = starts[1], starts[0]
		}
		for i, st := range starts {
			t0 := localUnix(loc, dn, st)
			tg := oura.EnhancedTag{
				ID:        w.docID(u, idAddr{dn: dn, coll: idEnhancedTag, item: i}),
				StartTime: localStamp(loc, t0),
				StartDay:  d.Date,
				Comment:   sp(""),
			}
			switch x := r.Float64(); {
			case x < 0.06:
				tg.TagTypeCode = sp("custom")
				tg.CustomName = sp(pick(r, []string{"Sauna", "Late screen time", "Cold shower", "Travel"}))
			case x < 0.1:
				tg.Comment = sp(pick(r, []string{"Long flight", "Late dinner", "Busy day at work"}))
			default:
				tg.TagTypeCode = sp(pick(r, tagCodes))
			}
			if r.Float64() < 0.4 {
				t1 := t0 + int64(betweenInt(r, 30, 240)*hm)
				end := localStamp(loc, t1)
				endDay := dateOf(localDay(loc, t1))
				tg.EndTime, tg.EndDay = &end, &endDay
			}
			d.EnhancedTags = append(d.EnhancedTags, tg)
		}
	}

	if r.Float64() < p.tagProb/6 {
		t0 := localUnix(loc, dn, betweenInt(r, 8*hh, 22*hh))
		tg := oura.Tag{
			ID:        w.docID(u, idAddr{dn: dn, coll: idTag}),
			Day:       d.Date,
			Timestamp: localStamp(loc, t0),
			Tags:      []string{},
		}
		if r.Float64() < 0.5 {
			tg.Text = sp(pick(r, []string{"Felt tired", "Long run today", "Travelling", "Stressful meeting"}))
		}
		if tg.Text == nil || r.Float64() < 0.5 {
			tg.Tags = append(tg.Tags, pick(r, []string{"tag_generic_tired", "tag_generic_jetlag", "tag_generic_hotel", "tag_generic_airplane"}))
		}
		d.Tags = []oura.Tag{tg}
	}

	if rm, ok := w.restMode(u, p, dn); ok && rm.start == dn {
		t0 := localUnix(loc, dn, betweenInt(r, 7*hh, 11*hh))
		var t1 int64
		if rm.days == 1 && r.Float64() < 0.3 {
			t1 = t0 // switched on and off at once, as seen in real data
		} else {
			t1 = max(t0+hh, localUnix(loc, dn+rm.days-1, betweenInt(r, 9*hh, 20*hh)))
		}
		endDay := dateOf(localDay(loc, t1))
		st, et := localStamp(loc, t0), localStamp(loc, t1)
		period := oura.RestModePeriod{
			ID:        w.docID(u, idAddr{dn: dn, coll: idRestModePeriod}),
			EndDay:    &endDay,
			EndTime:   &et,
			Episodes:  []oura.RestModeEpisode{},
			StartDay:  d.Date,
			StartTime: &st,
		}
		var times []int64
		for k := r.IntN(3); k > 0 && t1 > t0; k-- {
			times = append(times, t0+r.Int64N(t1-t0))
		}
		slices.Sort(times)
		for _, te := range times {
			tags := []string{pick(r, []string{"tag_generic_cold", "tag_generic_headache", "tag_generic_pain", "tag_generic_fever"})}
			if r.Float64() < 0.3 {
				tags = append(tags, "tag_sleep_alcohol")
			}
			period.Episodes = append(period.Episodes, oura.RestModeEpisode{Tags: tags, Timestamp: sampleStamp(loc, te)})
		}
		d.RestModePeriods = []oura.RestModePeriod{period}
	}
}
