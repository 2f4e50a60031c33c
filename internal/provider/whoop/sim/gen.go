package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Slots number the activities of one night in ids: the main sleep, the nap
// of the following afternoon and up to two workouts of the following day.
const (
	slotMain = iota
	slotNap
	slotWorkout0
	slotWorkout1
	slotCount
)

// night is cycle n of a user: the main sleep that starts on the evening of
// local day n opens it, and it lasts until the next main sleep starts. The
// nap and workouts of day n+1 fall inside it.
type night struct {
	u         *User
	n         int
	start     time.Time // main sleep start = cycle start
	nextStart time.Time // next main sleep start = cycle end
	main      genSleep
	nap       *genSleep
	workouts  []genWorkout
	recovery  genRecovery
	cycle     genCycle
}

type genSleep struct {
	slot       int
	start, end time.Time
	created    time.Time
	unscorable bool
	score      SleepScore
}

type genWorkout struct {
	slot       int
	start, end time.Time
	created    time.Time
	sportID    int
	sportName  string
	unscorable bool
	score      WorkoutScore
}

type genRecovery struct {
	unscorable bool
	score      RecoveryScore
}

type genCycle struct {
	unscorable bool
	score      CycleScore
}

// sports are (sport_id, sport_name) pairs of WHOOP's sport list, and how
// each moves: metres per second, or 0 for none, and whether it climbs.
var sports = []struct {
	id    int
	name  string
	speed float64
	climb bool
}{
	{0, "running", 2.9, true},
	{1, "cycling", 7.5, true},
	{33, "swimming", 0.8, false},
	{44, "yoga", 0, false},
	{45, "weightlifting", 0, false},
	{63, "walking", 1.4, true},
}

// mainStart is when u's main sleep of night n starts. It has its own stream
// so that a cycle's end is known without generating the next night.
func (w *World) mainStart(u *User, n int) time.Time {
	r := w.rng("bed", u.Index, n)
	jitter := time.Duration(r.IntN(76)-30) * time.Minute
	ms := time.Duration(r.IntN(60000)) * time.Millisecond
	return u.localMidnight(n).Add(22*time.Hour + u.bedShift + jitter + ms)
}

// night generates cycle n of u (n >= the first night).
func (w *World) night(u *User, n int) *night {
	r := w.rng("night", u.Index, n)
	nt := &night{u: u, n: n, start: w.mainStart(u, n), nextStart: w.mainStart(u, n+1)}

	// Main sleep: 5h30 to 9h30 in bed, ending before the next evening.
	dur := time.Duration(clamp(7.5+r.NormFloat64()*0.75, 5.5, 9.5) * float64(time.Hour))
	dur = dur.Round(time.Millisecond)
	nt.main = w.sleep(u, r, slotMain, nt.start, nt.start.Add(dur), n)

	day := u.localMidnight(n + 1)
	// A nap on some afternoons, 14:00-15:30 start, 20-60 minutes.
	if r.Float64() < 0.12 {
		st := day.Add(14*time.Hour + time.Duration(r.IntN(90*60000))*time.Millisecond)
		en := st.Add(time.Duration(20+r.IntN(41)) * time.Minute)
		s := w.sleep(u, r, slotNap, st, en, n)
		nt.nap = &s
	}
	// Workouts on some days: one after waking (if awake by 09:00) and/or one
	// in the early evening, each ending well before the next bedtime.
	wake := nt.main.end
	slot := slotWorkout0
	if r.Float64() < 0.3 && wake.Before(day.Add(9*time.Hour)) {
		st := wake.Add(time.Duration(45+r.IntN(75)) * time.Minute)
		nt.workouts = append(nt.workouts, w.workout(u, r, slot, st))
		slot++
	}
	if r.Float64() < 0.4 {
		st := day.Add(17*time.Hour + 30*time.Minute + time.Duration(r.IntN(120*60000))*time.Millisecond)
		nt.workouts = append(nt.workouts, w.workout(u, r, slot, st))
	}

	// Recovery from the main sleep.
	rec := &nt.recovery
	rec.unscorable = nt.main.unscorable || r.Float64() < 0.01
	hrv := u.hrvBase * clamp(1+r.NormFloat64()*0.15, 0.6, 1.4)
	rec.score = RecoveryScore{
		UserCalibrating:  n-w.firstN < 4,
		RecoveryScore:    math.Round(clamp(55+(hrv/u.hrvBase-1)*150+r.NormFloat64()*8, 1, 99)),
		RestingHeartRate: float64(u.restHR + r.IntN(9) - 3),
		HrvRmssdMilli:    round(hrv, 6),
	}
	if u.strap4 {
		spo2 := round(94+r.Float64()*4.5, 4)
		temp := round(33+r.Float64()*1.6, 2)
		rec.score.Spo2Percentage, rec.score.SkinTempCelsius = &spo2, &temp
	}

	// Cycle: a resting expenditure over its length plus the workouts'.
	hours := nt.nextStart.Sub(nt.start).Hours()
	kj := hours * u.bmrKJPerHour * (0.95 + r.Float64()*0.15)
	maxHR := u.restHR + 45 + r.IntN(30)
	var wStrain float64
	for _, wo := range nt.workouts {
		kj += wo.score.Kilojoule
		maxHR = max(maxHR, wo.score.MaxHeartRate)
		wStrain += wo.score.Strain
	}
	avgHR := u.restHR + 12 + r.IntN(10) + len(nt.workouts)*4
	nt.cycle = genCycle{
		unscorable: r.Float64() < 0.01,
		score: CycleScore{
			Strain:           round(clamp(3+r.Float64()*4+wStrain*0.7, 0, 21), 6),
			Kilojoule:        round(kj, 3),
			AverageHeartRate: avgHR,
			MaxHeartRate:     min(maxHR, u.MaxHeartRate),
		},
	}
	return nt
}

// sleep generates one sleep whose stages add up to its time in bed.
func (w *World) sleep(u *User, r *rand.Rand, slot int, start, end time.Time, n int) genSleep {
	inBed := end.Sub(start).Milliseconds()
	s := genSleep{slot: slot, start: start, end: end, created: syncTime(r, end), unscorable: r.Float64() < 0.02}
	nap := slot == slotNap
	awakeF := 0.04 + r.Float64()*0.08
	if nap {
		awakeF = 0.05 + r.Float64()*0.15
	}
	awake := int64(float64(inBed) * awakeF)
	var noData int64
	if r.Float64() < 0.15 {
		noData = min(int64(1+r.IntN(15))*60000, inBed/10)
	}
	asleep := inBed - awake - noData
	sws := int64(float64(asleep) * (0.17 + r.Float64()*0.08))
	rem := int64(float64(asleep) * (0.18 + r.Float64()*0.08))
	if nap {
		sws, rem = int64(float64(asleep)*r.Float64()*0.2), int64(float64(asleep)*r.Float64()*0.1)
	}
	light := asleep - sws - rem
	cycles := max(int(math.Round(float64(asleep)/float64(90*time.Minute/time.Millisecond))), 1)
	need := SleepNeeded{
		BaselineMilli:             (u.needBase + time.Duration(r.IntN(20*60))*time.Second).Milliseconds(),
		NeedFromSleepDebtMilli:    int64(r.IntN(90*60)) * 1000,
		NeedFromRecentStrainMilli: int64(r.IntN(40*60)) * 1000,
	}
	if r.Float64() < 0.1 {
		need.NeedFromRecentNapMilli = -int64(r.IntN(30*60)) * 1000
	}
	total := need.BaselineMilli + need.NeedFromSleepDebtMilli + need.NeedFromRecentStrainMilli + need.NeedFromRecentNapMilli
	perf := round(math.Min(100, float64(asleep)/float64(total)*100), 2)
	eff := round(float64(asleep)/float64(inBed)*100, 6)
	cons := round(55+r.Float64()*42, 0)
	resp := round(13.5+r.Float64()*4, 6)
	s.score = SleepScore{
		StageSummary: SleepStageSummary{
			TotalInBedTimeMilli:         inBed,
			TotalAwakeTimeMilli:         awake,
			TotalNoDataTimeMilli:        noData,
			TotalLightSleepTimeMilli:    light,
			TotalSlowWaveSleepTimeMilli: sws,
			TotalRemSleepTimeMilli:      rem,
			SleepCycleCount:             cycles,
			DisturbanceCount:            2 + r.IntN(14),
		},
		SleepNeeded:                need,
		RespiratoryRate:            &resp,
		SleepPerformancePercentage: &perf,
		SleepEfficiencyPercentage:  &eff,
	}
	// Consistency needs a few nights of history first.
	if n-w.firstN >= 3 {
		s.score.SleepConsistencyPercentage = &cons
	}
	return s
}

// workout generates one workout starting at start.
func (w *World) workout(u *User, r *rand.Rand, slot int, start time.Time) genWorkout {
	sp := sports[r.IntN(len(sports))]
	dur := time.Duration(25*60000+r.IntN(55*60000)) * time.Millisecond
	end := start.Add(dur)
	avg := min(105+r.IntN(55), u.MaxHeartRate-20)
	mx := min(avg+12+r.IntN(19), u.MaxHeartRate)
	mins := dur.Minutes()
	kj := mins * float64(avg-60) * (0.3 + r.Float64()*0.1)
	pct := 100.0
	if r.Float64() < 0.2 {
		pct = round(92+r.Float64()*8, 4)
	}
	recorded := int64(float64(dur.Milliseconds()) * pct / 100)
	// Zone weights lean on the intensity; the last zone takes the rest so
	// that the zones sum exactly to the recorded time.
	inten := float64(avg-100) / 60
	weights := []float64{0.05, 0.2 - inten*0.1, 0.3, 0.2 + inten*0.1, 0.1 + inten*0.1, 0.02 + inten*0.05}
	var sum float64
	for i := range weights {
		weights[i] = max(weights[i]*(0.7+r.Float64()*0.6), 0)
		sum += weights[i]
	}
	z := make([]int64, 6)
	var used int64
	for i := 0; i < 5; i++ {
		z[i] = int64(float64(recorded) * weights[i] / sum)
		used += z[i]
	}
	z[5] = recorded - used
	g := genWorkout{slot: slot, start: start, end: end, created: syncTime(r, end), sportID: sp.id, sportName: sp.name, unscorable: r.Float64() < 0.02}
	g.score = WorkoutScore{
		Strain:           round(21*(1-math.Exp(-kj/1800)), 4),
		AverageHeartRate: avg,
		MaxHeartRate:     mx,
		Kilojoule:        round(kj, 4),
		PercentRecorded:  pct,
		ZoneDurations:    ZoneDurations{z[0], z[1], z[2], z[3], z[4], z[5]},
	}
	if sp.speed > 0 {
		d := round(sp.speed*(0.85+r.Float64()*0.3)*dur.Seconds(), 4)
		g.score.DistanceMeter = &d
		if sp.climb {
			gain := round(d*r.Float64()*0.015, 4)
			change := round((r.Float64()*2-1)*gain*0.3, 4)
			g.score.AltitudeGainMeter, g.score.AltitudeChangeMeter = &gain, &change
		}
	}
	return g
}

// syncTime is when WHOOP records an activity: a few minutes after it ends,
// once the strap has synced.
func syncTime(r *rand.Rand, end time.Time) time.Time {
	return end.Add(time.Duration(3*60000+r.IntN(20*60000)) * time.Millisecond)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
