package sim

import (
	"math/rand/v2"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// span is a half-open interval of unix seconds.
type span struct{ s, e int64 }

func (s span) ok() bool             { return s.e > s.s }
func (s span) has(t int64) bool     { return t >= s.s && t < s.e }
func (s span) overlaps(o span) bool { return s.s < o.e && o.s < s.e }
func (s span) seconds() int         { return int(s.e - s.s) }

type plannedWorkout struct {
	span
	kind      int // index into workoutKinds
	met       float64
	intensity oura.WorkoutIntensity
}

type plannedSession struct {
	span
	kind oura.MomentType
}

// dayPlan is the timetable of one local day: when the user slept, trained,
// charged the ring. It is cheap to compute, so neighbouring days can consult
// each other's timetables (tonight's bedtime, last week's workouts) without
// generating those days in full.
type dayPlan struct {
	dn       int
	main     span // the night ending on the morning of dn
	lateNap  span // evening of dn-1, before main; counts for dn
	dayNap   span
	rest     span
	workouts []plannedWorkout
	sessions []plannedSession
	charge   span
	restMode bool
	activity float64 // daily activity multiplier around 1
	stress   float64 // 0..1
}

// Local wall-clock anchors, seconds from midnight.
const (
	hm            = 60
	hh            = 3600
	lateNapWindow = -(2*hh + 25*hm) // 21:35 the evening before
	eveningEnd    = 21*hh + 30*hm   // daytime items end by 21:30
)

func (w *World) plan(u int, dn int) *dayPlan {
	p := &w.profiles[u]
	loc := w.users[u].Location
	r := w.rng(u, dn, stPlan)
	pl := &dayPlan{dn: dn}
	_, pl.restMode = w.restMode(u, p, dn)
	wd := weekday(dn)
	weekend := wd == time.Saturday || wd == time.Sunday

	bed := p.bedSec + int(r.NormFloat64()*25*60)
	wake := p.wakeSec + int(r.NormFloat64()*20*60)
	if weekend {
		bed += 35 * 60
		wake += 50 * 60
	}
	if pl.restMode {
		bed -= 40 * 60
		wake += 30 * 60
	}
	bed = clampInt(bed, -2*hh, 1*hh) // 22:00 .. 01:00
	wake = clampInt(wake, 6*hh, 9*hh)
	pl.main = span{localUnix(loc, dn, bed), localUnix(loc, dn, wake)}

	if bed >= -45*hm && r.Float64() < p.lateNapProb {
		dur := betweenInt(r, 15, 40) * hm
		room := bed - 30*hm - lateNapWindow - dur
		if room >= 0 {
			st := lateNapWindow + r.IntN(room+1)
			pl.lateNap = span{localUnix(loc, dn, st), localUnix(loc, dn, st+dur)}
		}
	}
	napProb := p.napProb
	if pl.restMode {
		napProb *= 2.5 // ill people nap
	}
	if r.Float64() < napProb {
		dur := betweenInt(r, 16, 100) * hm
		st := 13*hh + 15*hm + r.IntN(105*hm-dur+1)
		pl.dayNap = span{localUnix(loc, dn, st), localUnix(loc, dn, st+dur)}
	}
	if r.Float64() < p.restProb {
		dur := betweenInt(r, 15, 60) * hm
		st := 15*hh + 15*hm + r.IntN(120*hm-dur+1)
		pl.rest = span{localUnix(loc, dn, st), localUnix(loc, dn, st+dur)}
	}

	// Charging right after waking up, every few days. The ring is off the
	// finger then: no heart rate, class '0' in class_5_min.
	chargeEnd := wake + 10*hm
	if floorMod(dn+p.chargePhase, p.chargeEvery) == 0 {
		st := wake + betweenInt(r, 8, 25)*hm
		dur := betweenInt(r, 45, 75) * hm
		pl.charge = span{localUnix(loc, dn, st), localUnix(loc, dn, st+dur)}
		chargeEnd = st + dur
	}

	pl.activity = between(r, 0.65, 1.35)
	if weekend {
		pl.activity *= between(r, 0.9, 1.25)
	}
	pl.stress = r.Float64()
	if pl.restMode {
		pl.activity *= 0.5
		pl.stress *= 0.5
	}

	if !pl.restMode {
		wp := p.workoutProb
		if r.Float64() < wp*0.35 {
			st := max(wake+100*hm, chargeEnd+10*hm) + r.IntN(30*hm)
			dur := betweenInt(r, 20, 60) * hm
			if end := min(st+dur, 11*hh+40*hm); end-st >= 15*hm {
				pl.workouts = append(pl.workouts, w.planWorkout(r, p, loc, dn, st, end))
			}
		}
		if r.Float64() < 0.12 {
			st := 11*hh + 45*hm + r.IntN(30*hm)
			dur := betweenInt(r, 15, 40) * hm
			end := min(st+dur, 13*hh)
			wk := w.planWorkout(r, p, loc, dn, st, end)
			wk.kind, wk.intensity = 0, "easy"
			wk.met = between(r, workoutKinds[0].met[0], workoutKinds[0].met[1])
			pl.workouts = append(pl.workouts, wk)
		}
		if r.Float64() < wp*0.7 {
			st := 17*hh + 30*hm + r.IntN(120*hm)
			dur := betweenInt(r, 20, 90) * hm
			end := min(st+dur, 21*hh)
			pl.workouts = append(pl.workouts, w.planWorkout(r, p, loc, dn, st, end))
		}
	}

	if r.Float64() < p.sessionProb {
		st := 21*hh + r.IntN(20*hm)
		dur := betweenInt(r, 180, 600)
		kind := pick(r, []oura.MomentType{"meditation", "breathing", "relaxation", "meditation", "body_status"})
		pl.sessions = append(pl.sessions, plannedSession{span{localUnix(loc, dn, st), localUnix(loc, dn, min(st+dur, eveningEnd))}, kind})
	}
	if !pl.rest.ok() && r.Float64() < p.sessionProb/2 {
		st := 15*hh + 30*hm + r.IntN(60*hm)
		dur := betweenInt(r, 300, 1200)
		kind := pick(r, []oura.MomentType{"rest", "relaxation", "breathing", "nap"})
		pl.sessions = append(pl.sessions, plannedSession{span{localUnix(loc, dn, st), localUnix(loc, dn, st+dur)}, kind})
	}
	// Sessions go in start order: ids and list order follow it.
	if len(pl.sessions) == 2 && pl.sessions[1].s < pl.sessions[0].s {
		pl.sessions[0], pl.sessions[1] = pl.sessions[1], pl.sessions[0]
	}
	return pl
}

func (w *World) planWorkout(r *rand.Rand, p *profile, loc *time.Location, dn, st, end int) plannedWorkout {
	k := p.favorites[r.IntN(len(p.favorites))]
	wk := workoutKinds[k]
	met := wk.met[0] + r.Float64()*(wk.met[1]-wk.met[0])
	f := (met - wk.met[0]) / (wk.met[1] - wk.met[0] + 1e-9)
	intensity := oura.WorkoutIntensity("moderate")
	switch {
	case f < 0.33:
		intensity = "easy"
	case f > 0.75:
		intensity = "hard"
	}
	// Workouts are recorded to the minute.
	st, end = st-floorMod(st, 60), end-floorMod(end, 60)
	return plannedWorkout{span: span{localUnix(loc, dn, st), localUnix(loc, dn, end)}, kind: k, met: met, intensity: intensity}
}

// sleepSpans lists the plan's sleep periods in start order with their types.
func (pl *dayPlan) sleepSpans() []sleepSpan {
	out := make([]sleepSpan, 0, 4)
	if pl.lateNap.ok() {
		out = append(out, sleepSpan{pl.lateNap, oura.SleepTypeLateNap})
	}
	out = append(out, sleepSpan{pl.main, oura.SleepTypeLongSleep})
	if pl.dayNap.ok() {
		out = append(out, sleepSpan{pl.dayNap, oura.SleepTypeSleep})
	}
	if pl.rest.ok() {
		out = append(out, sleepSpan{pl.rest, oura.SleepTypeRest})
	}
	return out
}

type sleepSpan struct {
	span
	typ oura.SleepType
}
