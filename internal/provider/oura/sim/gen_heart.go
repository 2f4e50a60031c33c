package sim

import (
	"math"
	"slices"
	"strings"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

type hrPoint struct {
	t   int64
	bpm int
	src oura.HeartRateSource
}

// genHeartRate builds the samples whose local date is D: the 5-minute sleep
// and rest samples of every period touching D (including tonight's, which
// belongs to D+1), dense samples during workouts and irregular bursts while
// awake. periods must hold D's periods and the ones of D+1 that start on D.
func (w *World) genHeartRate(u int, pl *dayPlan, periods []*periodData, act *activityDay, dayStart, dayEnd int64) []oura.HeartRate {
	p := &w.profiles[u]
	r := w.rng(u, pl.dn, stHeart)
	pts := make([]hrPoint, 0, 1024)
	busy := make([]span, 0, 12)

	for _, pd := range periods {
		busy = append(busy, pd.span)
		if pd.doc.HeartRate == nil {
			continue
		}
		src := oura.HeartRateSleep
		if pd.typ == oura.SleepTypeRest {
			src = oura.HeartRateRest
		}
		for g, v := range pd.doc.HeartRate.Items {
			t := pd.span.s + int64(g)*300
			if v != nil && t >= dayStart && t < dayEnd {
				pts = append(pts, hrPoint{t, int(*v), src})
			}
		}
	}

	awakeBase := p.rhr + w.rhrDelta(u, p, pl.dn) + 14
	for _, wk := range pl.workouts {
		busy = append(busy, wk.span)
		target := awakeBase + 20 + (wk.met-3)*9
		if wk.intensity == "hard" {
			target += 8
		}
		target = clamp(target, 90, 185)
		dur := float64(wk.seconds())
		for t := wk.s; t < wk.e; t += int64(5 + r.IntN(6)) {
			x := float64(t - wk.s)
			ramp := smoothStep(x, 0, 240) * (1 - 0.35*smoothStep(x, dur-150, dur))
			bpm := awakeBase + (target-awakeBase)*ramp + r.NormFloat64()*3
			if t >= dayStart && t < dayEnd {
				pts = append(pts, hrPoint{t, int(math.Round(bpm)), oura.HeartRateWorkout})
			}
		}
	}
	if pl.charge.ok() {
		busy = append(busy, pl.charge)
	}
	// The night before D starts on D-1 and tonight's may end on D+1; both
	// bound the awake time even when their documents were not generated.
	busy = append(busy, pl.main)

	// Awake: bursts of a few samples seconds apart, minutes of silence in
	// between, as the ring measures opportunistically during the day.
	t := dayStart + int64(r.IntN(600))
	for t < dayEnd {
		if s, ok := inAny(busy, t); ok {
			t = s.e + int64(r.IntN(120))
			continue
		}
		cls := byte('2')
		if i := (t - act.t0) / 300; i >= 0 && i < 288 {
			cls = act.classes[i]
		}
		mean := awakeBase + awakeLift[cls-'0'] + r.NormFloat64()*5
		n := 2 + r.IntN(7)
		for k := 0; k < n && t < dayEnd; k++ {
			if _, ok := inAny(busy, t); ok {
				break
			}
			pts = append(pts, hrPoint{t, int(math.Round(clamp(mean+r.NormFloat64()*3, 40, 190))), oura.HeartRateAwake})
			t += int64(1 + r.IntN(15))
		}
		t += int64(4*60 + r.IntN(17*60))
	}

	slices.SortFunc(pts, func(a, b hrPoint) int { return int(a.t - b.t) })
	pts = slices.CompactFunc(pts, func(a, b hrPoint) bool { return a.t == b.t })

	// One backing string and one int64 slice for all rows: a day holds
	// hundreds of rows and per-row allocations dominated the cost.
	var sb strings.Builder
	sb.Grow(len(pts) * 25)
	buf := make([]byte, 0, 32)
	for _, pt := range pts {
		buf = appendStamp(buf[:0], pt.t, 0, false)
		sb.Write(buf)
	}
	all := sb.String()
	unix := make([]int64, len(pts))
	rows := make([]oura.HeartRate, len(pts))
	for i, pt := range pts {
		unix[i] = pt.t * 1000
		rows[i] = oura.HeartRate{
			BPM:           pt.bpm,
			Source:        pt.src,
			Timestamp:     oura.DateTime(all[i*25 : i*25+25]),
			TimestampUnix: &unix[i],
		}
	}
	return rows
}

// awakeLift raises awake heart rate with the activity class of the moment.
var awakeLift = [6]float64{0, -6, 0, 12, 28, 45}

func inAny(spans []span, t int64) (span, bool) {
	for _, s := range spans {
		if s.has(t) {
			return s, true
		}
	}
	return span{}, false
}

// Battery. The level is a function of time alone: the ring charges after
// waking on every chargeEvery-th day and drains linearly in between, so any
// instant's level needs only the charge windows around it, not history.

// chargeWindows lists the charge windows of days from..to, ascending.
func (w *World) chargeWindows(u, from, to int) []span {
	p := &w.profiles[u]
	var out []span
	for c := from + floorMod(-(from+p.chargePhase), p.chargeEvery); c <= to; c += p.chargeEvery {
		if ch := w.plan(u, c).charge; ch.ok() {
			out = append(out, ch)
		}
	}
	return out
}

// batteryLevel reads the level at t from windows that must include the last
// two charges before t.
func (w *World) batteryLevel(u int, ws []span, t int64) (level int, charging bool) {
	drain := 90 / (float64(w.profiles[u].chargeEvery) * 86400)
	i := len(ws) - 1
	for i >= 0 && ws[i].s > t {
		i--
	}
	if i < 0 {
		return 60, false
	}
	ch := ws[i]
	if ch.has(t) {
		start := 100.0
		if i > 0 {
			start = 100 - drain*float64(ch.s-ws[i-1].e)
		}
		start = math.Max(start, 2)
		f := float64(t-ch.s) / float64(ch.seconds())
		return int(math.Min(100, start+(100-start)*f*1.3)), true
	}
	return int(math.Max(2, 100-drain*float64(t-ch.e))), false
}

func (w *World) genBattery(u int, dn int, ws []span, dayStart, dayEnd int64) []oura.RingBatteryLevel {
	r := w.rng(u, dn, stBattery)
	var rows []oura.RingBatteryLevel
	for t := dayStart + int64(r.IntN(1800)); t < dayEnd; {
		lvl, ch := w.batteryLevel(u, ws, t)
		in := ch
		ts := t * 1000
		rows = append(rows, oura.RingBatteryLevel{
			Timestamp: utcStamp(t), TimestampUnix: &ts, Charging: &ch, InCharger: &in, Level: lvl,
		})
		if ch {
			t += int64(600 + r.IntN(600))
		} else {
			t += int64(1800 + r.IntN(1800))
		}
	}
	return rows
}
