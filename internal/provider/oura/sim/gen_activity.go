package sim

import (
	"math"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// activityDay is D's daily_activity plus the per-slot classes the heart-rate
// generator reuses, so awake heart rate follows the activity it reports.
type activityDay struct {
	doc     oura.DailyActivity
	t0      int64 // 04:00 local on D
	classes [288]byte
}

// metRange is the MET range of each class_5_min character; minutes inside a
// slot stay within their class's range, so the per-class times and MET
// minutes agree with class_5_min.
var metRange = [6][2]float64{
	{0.1, 0.1},  // '0' non-wear
	{0.9, 1.0},  // '1' rest
	{1.0, 1.4},  // '2' inactive
	{1.5, 2.9},  // '3' low
	{3.0, 5.9},  // '4' medium
	{6.0, 12.5}, // '5' high
}

func (w *World) genActivity(u int, today, next *dayPlan, hist []*dayPlan, readinessScore int) *activityDay {
	p := &w.profiles[u]
	loc := w.users[u].Location
	r := w.rng(u, today.dn, stActivity)
	a := &activityDay{t0: localUnix(loc, today.dn, 4*hh)}

	type block struct {
		span
		class byte
		wk    *plannedWorkout
	}
	blocks := make([]block, 0, 12)
	if today.charge.ok() {
		blocks = append(blocks, block{today.charge, '0', nil})
	}
	for _, s := range []span{today.main, today.dayNap, today.rest, next.lateNap, next.main} {
		if s.ok() {
			blocks = append(blocks, block{s, '1', nil})
		}
	}
	for i := range today.workouts {
		wk := &today.workouts[i]
		c := byte('4')
		if wk.met >= 6 {
			c = '5'
		}
		blocks = append(blocks, block{wk.span, c, wk})
	}
	for _, s := range today.sessions {
		blocks = append(blocks, block{s.span, '1', nil})
	}

	metItems := make([]*float64, 1440)
	var (
		counts     [6]int
		metSum     [6]float64
		totalMET   float64
		activeMET  float64
		steps      float64
		state      = byte('2')
		inactRun   int
		alerts     int
		sedentaryH float64
	)
	for i := 0; i < 288; i++ {
		mid := a.t0 + int64(i)*300 + 150
		var cur *block
		for k := range blocks {
			if blocks[k].has(mid) {
				cur = &blocks[k]
				break
			}
		}
		c := state
		if cur != nil {
			c = cur.class
		} else {
			c = w.nextAwakeState(r, state, 4+float64(i)/12, today.activity)
			state = c
		}
		a.classes[i] = c
		ci := c - '0'
		counts[ci]++
		if c == '2' && i >= 48 && i < 216 { // an hour sitting between 08:00 and 22:00
			inactRun++
			if inactRun == 12 {
				alerts++
				inactRun = 0
			}
		} else {
			inactRun = 0
		}
		lo, hi := metRange[ci][0], metRange[ci][1]
		for m := 0; m < 5; m++ {
			var v float64
			switch {
			case cur != nil && cur.wk != nil:
				v = clamp(cur.wk.met+r.NormFloat64()*0.6, lo, hi)
				steps += workoutKinds[cur.wk.kind].stepRate * between(r, 0.85, 1.1)
			case c == '1' && r.Float64() < 0.85:
				v = 0.9
			default:
				v = lo + (hi-lo)*math.Pow(r.Float64(), 1.6)
			}
			if cur == nil || cur.wk == nil {
				switch c {
				case '2':
					steps += between(r, 0, 1.5)
				case '3':
					steps += between(r, 3, 16)
				case '4':
					steps += between(r, 70, 110)
				case '5':
					steps += between(r, 110, 160)
				}
			}
			v = round(v, 0.1)
			metItems[i*5+m] = item(v)
			metSum[ci] += v
			totalMET += math.Max(v, 0.9)
			activeMET += math.Max(v-1, 0)
		}
		if c == '2' {
			sedentaryH += 5.0 / 60
		}
	}

	weight := p.weight
	active := int(math.Round(activeMET * weight / 60))
	total := int(math.Round(totalMET * weight / 60))
	perKm := 0.65 * weight // kcal per km walked
	ewd := int(math.Round(float64(active) * 1000 / perKm))
	target := p.targetCal
	if readinessScore < 70 {
		target = int(math.Round(float64(target)*0.8/50)) * 50
	}
	targetMeters := int(math.Round(float64(target)*1000/perKm/1000)) * 1000
	toTarget := int(math.Round(float64(targetMeters-ewd)/100)) * 100

	// Seven-day contributors read the neighbouring timetables.
	var workouts7, volume7, highDays, lowDays float64
	for _, h := range hist[len(hist)-8 : len(hist)-1] {
		for _, wk := range h.workouts {
			workouts7++
			volume7 += wk.met * float64(wk.seconds()) / 60
		}
		if h.activity >= 1 {
			highDays++
		}
		if h.activity < 0.8 {
			lowDays++
		}
	}
	recovery := 100
	if lowDays == 0 {
		recovery = 55 + r.IntN(20)
	}
	contrib := oura.ActivityContributors{
		MeetDailyTargets:  ip(clampInt(int(math.Round(35+65*highDays/7)), 1, 100)),
		MoveEveryHour:     ip(clampInt(100-alerts*15, 1, 100)),
		RecoveryTime:      ip(recovery),
		StayActive:        ip(score(sedentaryH, 13, 5.5)),
		TrainingFrequency: ip(score(workouts7, 0, 4)),
		TrainingVolume:    ip(score(volume7, 0, 1500)),
	}
	sc := 0.25*float64(*contrib.MeetDailyTargets) + 0.15*float64(*contrib.MoveEveryHour) +
		0.1*float64(*contrib.RecoveryTime) + 0.2*float64(*contrib.StayActive) +
		0.15*float64(*contrib.TrainingFrequency) + 0.15*float64(*contrib.TrainingVolume)

	cls := string(a.classes[:])
	d := &a.doc
	d.ID = w.docID(u, idAddr{dn: today.dn, coll: idDailyActivity})
	d.Class5Min = &cls
	d.Score = ip(clampInt(int(math.Round(sc)), 1, 100))
	d.ActiveCalories = active
	d.AverageMETMinutes = round(totalMET/1440, 1.0/32)
	d.Contributors = contrib
	d.EquivalentWalkingDistance = ewd
	d.HighActivityMETMinutes = int(math.Round(metSum[5]))
	d.HighActivityTime = counts[5] * 300
	d.InactivityAlerts = alerts
	d.LowActivityMETMinutes = int(math.Round(metSum[3]))
	d.LowActivityTime = counts[3] * 300
	d.MediumActivityMETMinutes = int(math.Round(metSum[4]))
	d.MediumActivityTime = counts[4] * 300
	d.MET = oura.Sample{Interval: 60, Items: metItems, Timestamp: sampleStamp(loc, a.t0)}
	d.MetersToTarget = toTarget
	d.NonWearTime = counts[0] * 300
	d.RestingTime = counts[1] * 300
	d.SedentaryMETMinutes = int(math.Round(metSum[2]))
	d.SedentaryTime = counts[2] * 300
	d.Steps = int(math.Round(steps))
	d.TargetCalories = target
	d.TargetMeters = targetMeters
	d.TotalCalories = total
	d.Day = dateOf(today.dn)
	d.Timestamp = localStamp(loc, a.t0)
	return a
}

// nextAwakeState walks a sticky Markov chain over the awake classes, with
// weights by hour of day: active mornings and evenings, a desk in between.
func (w *World) nextAwakeState(r interface{ Float64() float64 }, cur byte, hour, level float64) byte {
	if r.Float64() < 0.72 {
		return cur
	}
	h := math.Mod(hour, 24)
	var w1, w2, w3, w4 float64
	switch {
	case h >= 7 && h < 9.5:
		w1, w2, w3, w4 = 0.02, 0.35, 0.45, 0.18
	case h >= 9.5 && h < 17:
		w1, w2, w3, w4 = 0.03, 0.62, 0.3, 0.05
	case h >= 17 && h < 22:
		w1, w2, w3, w4 = 0.04, 0.45, 0.38, 0.13
	default:
		w1, w2, w3, w4 = 0.1, 0.7, 0.18, 0.02
	}
	w3 *= level
	w4 *= level * level
	x := r.Float64() * (w1 + w2 + w3 + w4)
	switch {
	case x < w1:
		return '1'
	case x < w1+w2:
		return '2'
	case x < w1+w2+w3:
		return '3'
	default:
		return '4'
	}
}
