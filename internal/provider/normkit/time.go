package normkit

import (
	"math"
	"sort"
	"time"
)

// Usable reports whether a parsed instant can be a ROOK datetime: the zero
// instant means "unknown" to health.Datetime (null), and ROOK's format
// carries years 1 to 9999 only.
func Usable(t time.Time) bool {
	return !t.IsZero() && t.Year() >= 1 && t.Year() <= 9999
}

// ParseDay checks a YYYY-MM-DD day and returns it in canonical form.
// Checking that shape by hand avoids a time.Parse per document.
func ParseDay(s string) (string, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, day := num(0, 4), num(5, 7), num(8, 10)
	if y < 1 || m < 1 || m > 12 || day < 1 || day > daysIn(time.Month(m), y) {
		return "", false
	}
	return s, true
}

// daysIn is the length of month m of year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// HasOffset reports whether an ISO 8601 timestamp states its offset
// ("Z" or ±hh:mm). Providers omit it on some local fields, which then say
// nothing about the zone.
func HasOffset(s string) bool {
	n := len(s)
	if n == 0 {
		return false
	}
	if s[n-1] == 'Z' {
		return true
	}
	return n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}

// MaxSampleSpan bounds the offset of a granular sample from its series
// start, so that an absurd interval cannot overflow time.Duration.
const MaxSampleSpan = 400 * 24 * time.Hour

// SampleOffset is the offset of item i of a series with the given interval
// in seconds; ok is false when the interval is not a positive number or the
// result is out of bounds.
func SampleOffset(interval float64, i int) (time.Duration, bool) {
	if !(interval > 0) || math.IsInf(interval, 0) {
		return 0, false
	}
	s := interval * float64(i)
	if s > MaxSampleSpan.Seconds() {
		return 0, false
	}
	return time.Duration(math.Round(s * 1e9)), true
}

// An Anchor is an instant at which the user's UTC offset is known.
type Anchor struct {
	unix   int64
	offset int // seconds east of UTC
}

// AnchorOf records the offset t carries.
func AnchorOf(t time.Time) Anchor {
	_, off := t.Zone()
	return Anchor{unix: t.Unix(), offset: off}
}

// anchors is a sorted list of anchors.
type anchors []Anchor

func (a anchors) sort() {
	sort.Slice(a, func(i, j int) bool {
		if a[i].unix != a[j].unix {
			return a[i].unix < a[j].unix
		}
		return a[i].offset < a[j].offset
	})
}

// nearest returns the anchor nearest to u (on a tie the earlier one, whose
// offset was already in force) and its distance in seconds.
func (a anchors) nearest(u int64) (Anchor, int64, bool) {
	if len(a) == 0 {
		return Anchor{}, 0, false
	}
	i := sort.Search(len(a), func(i int) bool { return a[i].unix >= u })
	switch {
	case i == 0:
		return a[0], a[0].unix - u, true
	case i == len(a):
		return a[i-1], u - a[i-1].unix, true
	}
	if a[i].unix-u < u-a[i-1].unix {
		return a[i], a[i].unix - u, true
	}
	return a[i-1], u - a[i-1].unix, true
}

// trustedReach is how far from a primary anchor its offset is trusted
// before a nearer secondary one wins (a trip shows in workouts, sessions or
// tags first when the ring or strap data around it is missing).
const trustedReach = 36 * 60 * 60

// Zones decides the zone of UTC instants: the user's Location when given,
// else the offset of the nearest anchor, else UTC.
type Zones struct {
	loc       *time.Location
	primary   anchors // local by construction (sleep bedtimes, a day's activity)
	secondary anchors // usually local (workouts, sessions, tags)
	zones     map[int]*time.Location
}

// NewZones builds Zones from the user's Location (nil: unknown) and the
// anchors of their documents. It sorts the anchor slices in place.
func NewZones(loc *time.Location, primary, secondary []Anchor) *Zones {
	anchors(primary).sort()
	anchors(secondary).sort()
	return &Zones{loc: loc, primary: primary, secondary: secondary, zones: map[int]*time.Location{}}
}

// fixed returns a cached fixed zone for offset seconds east of UTC.
func (z *Zones) fixed(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if l, ok := z.zones[offset]; ok {
		return l
	}
	l := time.FixedZone("", offset)
	z.zones[offset] = l
	return l
}

// At returns the zone for the instant t.
func (z *Zones) At(t time.Time) *time.Location {
	if z.loc != nil {
		return z.loc
	}
	u := t.Unix()
	p, dp, okP := z.primary.nearest(u)
	if okP && dp <= trustedReach {
		return z.fixed(p.offset)
	}
	if s, ds, okS := z.secondary.nearest(u); okS && (!okP || ds < dp) {
		return z.fixed(s.offset)
	}
	if okP {
		return z.fixed(p.offset)
	}
	return time.UTC
}

// Midnight returns the start of local day d (YYYY-MM-DD, already valid).
func (z *Zones) Midnight(d string) time.Time {
	day, _ := time.Parse(time.DateOnly, d)
	if z.loc != nil {
		return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, z.loc)
	}
	// The offset in force around noon UTC of that day is the best guess for
	// the whole day.
	loc := z.At(day.Add(12 * time.Hour))
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
}
