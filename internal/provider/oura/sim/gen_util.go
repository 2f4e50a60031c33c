package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Hashing. Every random value derives from (seed, user, day, stream) through
// these mixers, never from shared RNG state, so any day can be generated on
// its own and gives the same values in every process.

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hash4(a, b, c, d uint64) uint64 {
	h := mix64(a + 0x9e3779b97f4a7c15)
	h = mix64(h ^ (b + 0x632be59bd9b4e019))
	h = mix64(h ^ (c + 0x85ebca77c2b2ae63))
	return mix64(h ^ (d + 0xc2b2ae3d27d4eb4f))
}

// Stream identifiers keep the generators of one day independent: adding a
// draw to one generator must not shift the values of another.
const (
	stProfile uint64 = iota + 1
	stPlan
	stSleep
	stActivity
	stHeart
	stBattery
	stDaily
	stWorkout
	stSession
	stTag
	stRestMode
	stRing
	stNoise
	stCharge
	stIDMac
	stIDMask
	stIBI
)

func (w *World) rng(user, dn int, stream uint64) *rand.Rand {
	s := uint64(w.cfg.Seed)
	a := hash4(s, uint64(user), uint64(int64(dn)), stream)
	b := hash4(a, s, stream, 0x5851f42d4c957f2d)
	return rand.New(rand.NewPCG(a, b))
}

// unit returns a deterministic value in [0,1) for the key.
func (w *World) unit(user, dn int, stream, k uint64) float64 {
	return float64(hash4(uint64(w.cfg.Seed)^k*0x9e3779b97f4a7c15, uint64(user), uint64(int64(dn)), stream)>>11) / (1 << 53)
}

// noise is smooth value noise in [-1,1] over days: knots every period days,
// cosine-interpolated, so baselines drift over weeks instead of jumping daily.
func (w *World) noise(user, dn int, key uint64, period int) float64 {
	k := floorDiv(dn, period)
	f := float64(dn-k*period) / float64(period)
	a := w.unit(user, k, stNoise, key)*2 - 1
	b := w.unit(user, k+1, stNoise, key)*2 - 1
	t := (1 - math.Cos(f*math.Pi)) / 2
	return a + (b-a)*t
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// round rounds x to a multiple of step. Fractional steps go through their
// inverse so that 0.1 steps print as 97.1, not 97.10000000000001.
func round(x float64, step float64) float64 {
	if step < 1 {
		inv := math.Round(1 / step)
		return math.Round(x*inv) / inv
	}
	return math.Round(x/step) * step
}

func ip(v int) *int { return &v }

func fp(v float64) *float64 { return &v }

func sp(v string) *string { return &v }

func between(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

func betweenInt(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// score maps x linearly from [bad, good] onto [1, 100] (bad may exceed good).
func score(x, bad, good float64) int {
	f := (x - bad) / (good - bad)
	return clampInt(int(math.Round(1+99*clamp(f, 0, 1))), 1, 100)
}

// Shared item values. Sample items are pointers; every generated value has at
// most one decimal, so they point into one read-only table instead of
// allocating a float per item (a day holds thousands of them).
const itemTableMax = 3000

var itemTable = func() []float64 {
	t := make([]float64, itemTableMax+1)
	for i := range t {
		t[i] = float64(i) / 10
	}
	return t
}()

// item returns a pointer to x rounded to one decimal. Callers must treat the
// pointee as read-only.
func item(x float64) *float64 {
	k := int(math.Round(x * 10))
	if k >= 0 && k <= itemTableMax {
		return &itemTable[k]
	}
	v := float64(k) / 10
	return &v
}

// Dates. A day number is days since 1970-01-01 in the proleptic Gregorian
// calendar; the computations avoid time.Time where a day needs no zone.

func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

// parseDate reads YYYY-MM-DD strictly.
func parseDate(s oura.Date) (int, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, err1 := strconv.Atoi(string(s[0:4]))
	m, err2 := strconv.Atoi(string(s[5:7]))
	d, err3 := strconv.Atoi(string(s[8:10]))
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	dn := daysFromCivil(y, m, d)
	if yy, mm, dd := civilFromDays(dn); yy != y || mm != m || dd != d {
		return 0, false // e.g. 2023-02-30
	}
	return dn, true
}

func dateOf(dn int) oura.Date {
	y, m, d := civilFromDays(dn)
	b := make([]byte, 0, 10)
	b = appendDate(b, y, m, d)
	return oura.Date(b)
}

func weekday(dn int) time.Weekday { return time.Weekday(floorMod(dn+4, 7)) } // 1970-01-01 was a Thursday

// localUnix is the instant of wall-clock (dn, 00:00 + sec) in loc. sec may be
// negative or exceed a day; time.Date normalizes it, so DST gaps and overlaps
// resolve the way Go resolves them.
func localUnix(loc *time.Location, dn, sec int) int64 {
	y, m, d := civilFromDays(dn)
	return time.Date(y, time.Month(m), d, 0, 0, sec, 0, loc).Unix()
}

// localDay is the local date (day number) of instant t.
func localDay(loc *time.Location, t int64) int {
	y, m, d := time.Unix(t, 0).In(loc).Date()
	return daysFromCivil(y, int(m), d)
}

func offsetAt(loc *time.Location, t int64) int {
	_, off := time.Unix(t, 0).In(loc).Zone()
	return off
}

// Timestamp formatting. time.Format is too slow for the thousands of rows a
// day carries, so these append the fixed-width forms Oura uses directly.

func appendDate(b []byte, y, m, d int) []byte {
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendStamp writes t shifted by off seconds as YYYY-MM-DDThh:mm:ss[.000]±hh:mm.
func appendStamp(b []byte, t int64, off int, millis bool) []byte {
	lt := t + int64(off)
	dn := int(floorDiv64(lt, 86400))
	sec := int(lt - int64(dn)*86400)
	y, m, d := civilFromDays(dn)
	b = appendDate(b, y, m, d)
	b = append(b, 'T')
	b = append2(b, sec/3600)
	b = append(b, ':')
	b = append2(b, sec/60%60)
	b = append(b, ':')
	b = append2(b, sec%60)
	if millis {
		b = append(b, ".000"...)
	}
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	b = append(b, sign)
	b = append2(b, off/3600)
	b = append(b, ':')
	return append2(b, off/60%60)
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// localStamp is a LocalizedDateTime: the user's offset at that instant.
func localStamp(loc *time.Location, t int64) oura.DateTime {
	return oura.DateTime(appendStamp(make([]byte, 0, 25), t, offsetAt(loc, t), false))
}

// sampleStamp is a PublicSample timestamp: local offset with milliseconds.
func sampleStamp(loc *time.Location, t int64) oura.DateTime {
	return oura.DateTime(appendStamp(make([]byte, 0, 29), t, offsetAt(loc, t), true))
}

// utcStamp is a UtcDateTime as Oura writes it (+00:00, not Z).
func utcStamp(t int64) oura.DateTime {
	return oura.DateTime(appendStamp(make([]byte, 0, 25), t, 0, false))
}
