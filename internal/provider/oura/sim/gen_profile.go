package sim

import (
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // the simulator must give the same offsets on hosts without a zoneinfo database

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// zones spreads users over offsets that exercise date-boundary code: both
// hemispheres' DST rules, a half-hour offset, negative offsets and UTC.
var zones = []string{
	"Europe/Helsinki",
	"America/Los_Angeles",
	"Asia/Tokyo",
	"Europe/London",
	"America/New_York",
	"Australia/Sydney",
	"UTC",
	"Asia/Kolkata",
	"Europe/Berlin",
	"America/Sao_Paulo",
	"America/Chicago",
	"Pacific/Auckland",
}

var femaleNames = []string{"aino", "maya", "sofia", "noor", "priya", "lucia", "hana", "emma"}
var maleNames = []string{"kenji", "oliver", "liam", "jonas", "ethan", "mateo", "arjun", "leo"}
var lastNames = []string{"virtanen", "garcia", "tanaka", "smith", "rossi", "brown", "haddad", "sharma", "muller", "silva", "miller", "ngata"}

// workoutKind describes an activity the generator can schedule.
type workoutKind struct {
	name     string
	met      [2]float64 // MET range during the workout
	speed    float64    // m/s, 0 when distance is not measured
	stepRate float64    // steps per minute
}

var workoutKinds = []workoutKind{
	{"walking", [2]float64{3.2, 4.5}, 1.35, 105},
	{"running", [2]float64{8, 11.5}, 2.9, 162},
	{"cycling", [2]float64{5.5, 9}, 6.0, 0},
	{"strength_training", [2]float64{3.5, 6}, 0, 10},
	{"yoga", [2]float64{2.5, 3.5}, 0, 5},
	{"hiking", [2]float64{5, 7}, 1.2, 95},
	{"swimming", [2]float64{6, 9}, 0.7, 0},
	{"tennis", [2]float64{6, 8}, 0, 60},
	{"dancing", [2]float64{4.5, 7}, 0, 70},
	{"rowing", [2]float64{6, 9}, 0, 0},
}

type ringSpec struct {
	hardware oura.RingHardwareType
	color    oura.RingColor
	design   oura.RingDesign
	firmware string
	size     int
	setUpAt  int64 // unix seconds; 0 is the epoch quirk of old rings
}

// profile is the hidden physiology and habits of one user: the baselines
// from which every day is drawn.
type profile struct {
	age           int
	female        bool
	weight        float64 // kg
	height        float64 // m
	rhr           float64 // resting heart rate during sleep
	hrv           float64 // typical nightly rMSSD
	breath        float64
	spo2          float64
	bedSec        int // usual bedtime, seconds from local midnight of the wake day (negative: the evening before)
	wakeSec       int // usual wake time, seconds from local midnight
	fitness       float64
	vo2           float64
	workoutProb   float64
	favorites     []int // indexes into workoutKinds
	napProb       float64
	restProb      float64
	sessionProb   float64
	tagProb       float64
	chargeEvery   int
	chargePhase   int
	targetCal     int
	stride        float64
	vo2Weekday    int
	cycleDays     float64 // temperature cycle length for female users
	cyclePhase    float64
	rings         []ringSpec
	restModeOdds  float64
	lateNapProb   float64
	nullSpO2Odds  float64
	sleepNeedHour float64
}

func (w *World) newUser(i int) (*User, profile) {
	r := w.rng(i, 0, stProfile)
	tz := zones[i%len(zones)]
	loc, err := time.LoadLocation(tz)
	if err != nil {
		tz, loc = "UTC", time.UTC
	}
	p := profile{}
	p.female = r.IntN(2) == 0
	p.age = betweenInt(r, 24, 66)
	if p.female {
		p.height = round(between(r, 1.55, 1.78), 0.01)
		p.weight = round(between(r, 52, 85), 0.1)
		p.cycleDays = between(r, 26, 31)
		p.cyclePhase = r.Float64() * p.cycleDays
	} else {
		p.height = round(between(r, 1.68, 1.94), 0.01)
		p.weight = round(between(r, 64, 102), 0.1)
	}
	p.fitness = r.Float64()
	p.rhr = 64 - 14*p.fitness + between(r, -3, 3)
	p.hrv = (70 - 0.7*float64(p.age-25)) * (0.75 + 0.5*p.fitness) * between(r, 0.8, 1.2)
	p.hrv = clamp(p.hrv, 15, 120)
	p.breath = between(r, 13.2, 16.2)
	p.spo2 = between(r, 95.6, 98.2)
	p.bedSec = betweenInt(r, -95*60, 15*60)         // 22:25 .. 00:15
	p.wakeSec = betweenInt(r, 6*3600+30*60, 8*3600) // 06:30 .. 08:00
	p.sleepNeedHour = between(r, 7, 8.3)
	p.vo2 = 30 + 22*p.fitness - 0.2*float64(p.age-25) + between(r, -2, 2)
	if p.female {
		p.vo2 -= 4
	}
	p.workoutProb = 0.2 + 0.45*p.fitness
	nfav := betweenInt(r, 2, 4)
	p.favorites = append(p.favorites, 0) // everyone walks
	for len(p.favorites) < nfav {
		k := r.IntN(len(workoutKinds))
		dup := false
		for _, f := range p.favorites {
			dup = dup || f == k
		}
		if !dup {
			p.favorites = append(p.favorites, k)
		}
	}
	p.napProb = between(r, 0.05, 0.15)
	p.lateNapProb = between(r, 0.02, 0.06)
	p.restProb = between(r, 0.03, 0.08)
	p.sessionProb = between(r, 0.05, 0.3)
	p.tagProb = between(r, 0.06, 0.18)
	p.chargeEvery = betweenInt(r, 4, 7)
	p.chargePhase = r.IntN(p.chargeEvery)
	p.targetCal = 300 + 50*r.IntN(12)
	p.stride = p.height * between(r, 0.4, 0.45)
	p.vo2Weekday = r.IntN(7)
	p.restModeOdds = between(r, 0.25, 0.6)
	p.nullSpO2Odds = between(r, 0.01, 0.05)
	firstName := pick(r, maleNames)
	if p.female {
		firstName = pick(r, femaleNames)
	}
	lastName := pick(r, lastNames)

	// One or two rings; the older may carry the 1970 set_up_at seen on
	// rings paired before the field existed.
	colors := []oura.RingColor{"stealth_black", "silver", "glossy_black", "brushed_silver", "rose", "matt_gold", "titanium", "glossy_gold"}
	size := betweenInt(r, 6, 13)
	start, _ := parseDate(w.cfg.HistoryStart)
	first := ringSpec{
		hardware: "gen3", color: pick(r, colors), design: "heritage",
		firmware: fmt.Sprintf("2.%d.%d", betweenInt(r, 8, 9), betweenInt(r, 10, 40)), size: size,
		setUpAt: localUnix(loc, start-betweenInt(r, 20, 500), betweenInt(r, 8*3600, 21*3600)),
	}
	if r.Float64() < 0.3 {
		first.setUpAt = 0
	}
	p.rings = append(p.rings, first)
	if r.Float64() < 0.5 {
		second := ringSpec{
			hardware: "gen4", color: pick(r, []oura.RingColor{"silver", "stealth_black", "brushed_silver", "rose", "tide", "midnight"}),
			design:   pick(r, []oura.RingDesign{"heritage", "horizon"}),
			firmware: fmt.Sprintf("1.%d.%d", betweenInt(r, 1, 4), betweenInt(r, 0, 9)), size: size,
			setUpAt: localUnix(loc, start+betweenInt(r, 30, 200), betweenInt(r, 8*3600, 21*3600)),
		}
		p.rings = append(p.rings, second)
	}

	u := &User{
		Index:    i,
		OuraID:   w.ouraUserID(i),
		Email:    fmt.Sprintf("%s.%s%d@example.com", firstName, lastName, i),
		TimeZone: tz,
		Location: loc,
	}
	return u, p
}

// PersonalInfo is u's personal_info document.
func (w *World) PersonalInfo(u *User) oura.PersonalInfo {
	p := w.profiles[u.Index]
	sex := "male"
	if p.female {
		sex = "female"
	}
	// Age grows with the simulated clock so long-running demos stay plausible.
	age := p.age
	if start, ok := parseDate(w.cfg.HistoryStart); ok {
		now := w.cfg.Now().In(u.Location)
		y, m, d := now.Date()
		if years := (daysFromCivil(y, int(m), d) - start) / 365; years > 0 {
			age += years
		}
	}
	return oura.PersonalInfo{
		ID:            u.OuraID,
		Age:           ip(age),
		Weight:        fp(p.weight),
		Height:        fp(p.height),
		BiologicalSex: sp(sex),
		Email:         sp(u.Email),
	}
}

// RingConfigurations are u's rings, oldest first.
func (w *World) RingConfigurations(u *User) []oura.RingConfiguration {
	p := w.profiles[u.Index]
	out := make([]oura.RingConfiguration, len(p.rings))
	for i, rs := range p.rings {
		hw, col, des := rs.hardware, rs.color, rs.design
		set := utcStamp(rs.setUpAt)
		out[i] = oura.RingConfiguration{
			ID:              w.docID(u.Index, idAddr{coll: idRingConfiguration, item: i}),
			Color:           &col,
			Design:          &des,
			FirmwareVersion: sp(rs.firmware),
			HardwareType:    &hw,
			SetUpAt:         &set,
			Size:            ip(rs.size),
		}
	}
	return out
}

// tempDeviation is the body temperature deviation of night dn (°C): slow
// drift, a menstrual-cycle step for female users, and fever in rest mode.
func (w *World) tempDeviation(u int, p *profile, dn int) float64 {
	v := 0.12*w.noise(u, dn, 11, 6) + 0.08*(w.unit(u, dn, stDaily, 12)*2-1)
	if p.female {
		ph := math.Mod(float64(dn)+p.cyclePhase, p.cycleDays) / p.cycleDays
		v += 0.3*smoothStep(ph, 0.45, 0.55) - 0.3*smoothStep(ph, 0.92, 1.0) - 0.1
	}
	if rm, ok := w.restMode(u, p, dn); ok {
		k := dn - rm.start
		v += 0.9 - 0.2*float64(k)
	}
	return math.Round(v*100) / 100
}

func smoothStep(x, a, b float64) float64 {
	t := clamp((x-a)/(b-a), 0, 1)
	return t * t * (3 - 2*t)
}

// hrvFactor and rhrDelta are the day-to-day swings of the night's HRV and
// heart rate around the baselines.
func (w *World) hrvFactor(u int, p *profile, dn int) float64 {
	f := 1 + 0.15*w.noise(u, dn, 21, 9) + 0.1*(w.unit(u, dn, stDaily, 22)*2-1)
	if _, ok := w.restMode(u, p, dn); ok {
		f *= 0.7
	}
	return f
}

func (w *World) rhrDelta(u int, p *profile, dn int) float64 {
	d := 2.5*w.noise(u, dn, 31, 8) + 1.5*(w.unit(u, dn, stDaily, 32)*2-1)
	if _, ok := w.restMode(u, p, dn); ok {
		d += 6
	}
	return d
}

type restModeSpan struct {
	start, days int
}

// restMode reports the rest-mode period covering dn. Periods are placed per
// 91-day block (at most one, never crossing the block end) so the answer
// needs no history.
func (w *World) restMode(u int, p *profile, dn int) (restModeSpan, bool) {
	const block = 91
	b := floorDiv(dn, block)
	if w.unit(u, b, stRestMode, 1) >= p.restModeOdds {
		return restModeSpan{}, false
	}
	start := b*block + 3 + int(w.unit(u, b, stRestMode, 2)*80)
	days := 1 + int(w.unit(u, b, stRestMode, 3)*4)
	if dn >= start && dn < start+days {
		return restModeSpan{start, days}, true
	}
	return restModeSpan{}, false
}
