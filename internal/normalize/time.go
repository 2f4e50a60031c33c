package normalize

import (
	"math"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Time handling.
//
// Oura's day fields are already the user's local day and are kept as they
// are. Localized timestamps (bedtimes, workout and session bounds, sample
// starts) keep the offset Oura sent. Heart-rate and battery rows are UTC
// instants: Options.Location places them on a local day and renders them in
// local time. Without a Location, the offset of the user's own localized
// documents nearest in time stands in for it (see zoneFinder), and UTC when
// there are none.

// parseTime parses an Oura timestamp; ok is false for anything unusable,
// including years the ROOK datetime format cannot carry.
func parseTime(s oura.DateTime) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := s.Time()
	// The zero instant means "unknown" to health.Datetime (null), so it
	// is as unusable as a year ROOK's format cannot carry.
	if err != nil || t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// parseTimePtr is parseTime for nullable fields.
func parseTimePtr(s *oura.DateTime) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	return parseTime(*s)
}

// parseDay checks an Oura day and returns it in canonical form. Oura
// sends YYYY-MM-DD; checking that shape by hand avoids a time.Parse per
// document.
func parseDay(d oura.Date) (string, bool) {
	s := string(d)
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

// maxSampleSpan bounds the offset of a granular sample from its series
// start, so that an absurd interval cannot overflow time.Duration.
const maxSampleSpan = 400 * 24 * time.Hour

// sampleOffset is the offset of item i of a series with the given interval
// in seconds; ok is false when the interval is not a positive number or the
// result is out of bounds.
func sampleOffset(interval float64, i int) (time.Duration, bool) {
	if !(interval > 0) || math.IsInf(interval, 0) {
		return 0, false
	}
	s := interval * float64(i)
	if s > maxSampleSpan.Seconds() {
		return 0, false
	}
	return time.Duration(math.Round(s * 1e9)), true
}

// anchor is an instant at which the user's UTC offset is known.
type anchor struct {
	unix   int64
	offset int // seconds east of UTC
}

// anchors is a sorted list of anchors.
type anchors []anchor

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
func (a anchors) nearest(u int64) (anchor, int64, bool) {
	if len(a) == 0 {
		return anchor{}, 0, false
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

// trustedReach is how far from a sleep or activity timestamp its offset is
// trusted before a nearer workout, session or tag offset wins (a trip
// shows in those first when the ring data around it is missing).
const trustedReach = 36 * 60 * 60

// zoneFinder decides the zone of UTC instants: the user's Location when
// given, else the offset of the nearest anchor, else UTC.
type zoneFinder struct {
	loc       *time.Location
	primary   anchors // sleep bedtimes, daily activity: local by construction
	secondary anchors // workouts, sessions, tags: usually local
	zones     map[int]*time.Location
}

func newZoneFinder(loc *time.Location, primary, secondary anchors) *zoneFinder {
	primary.sort()
	secondary.sort()
	return &zoneFinder{loc: loc, primary: primary, secondary: secondary, zones: map[int]*time.Location{}}
}

// fixed returns a cached fixed zone for offset seconds east of UTC.
func (z *zoneFinder) fixed(offset int) *time.Location {
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

// at returns the zone for the instant t.
func (z *zoneFinder) at(t time.Time) *time.Location {
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

// midnight returns the start of local day d (YYYY-MM-DD, already valid).
func (z *zoneFinder) midnight(d string) time.Time {
	day, _ := time.Parse(time.DateOnly, d)
	if z.loc != nil {
		return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, z.loc)
	}
	// The offset in force around noon UTC of that day is the best guess for
	// the whole day.
	loc := z.at(day.Add(12 * time.Hour))
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
}

// anchorOf records the offset t carries.
func anchorOf(t time.Time) anchor {
	_, off := t.Zone()
	return anchor{unix: t.Unix(), offset: off}
}

// collectAnchors gathers the user's offsets from localized timestamps.
// Sleep periods and daily activity are local by construction and come
// first; workouts, sessions and tags only fill gaps, because Oura has been
// seen sending a workout in +00:00 among +02:00 ones. Daily sleep and
// readiness timestamps are midnight UTC, not local, and are never used.
func collectAnchors(in *Input) (primary, secondary anchors) {
	add := func(dst *anchors, s oura.DateTime) {
		if t, ok := parseTime(s); ok && hasOffset(s) {
			*dst = append(*dst, anchorOf(t))
		}
	}
	for i := range in.Sleep {
		add(&primary, in.Sleep[i].BedtimeStart)
		add(&primary, in.Sleep[i].BedtimeEnd)
	}
	for i := range in.DailyActivity {
		add(&primary, in.DailyActivity[i].Timestamp)
	}
	for i := range in.Workout {
		add(&secondary, in.Workout[i].StartDatetime)
	}
	for i := range in.Session {
		add(&secondary, in.Session[i].StartDatetime)
	}
	for i := range in.Tag {
		add(&secondary, in.Tag[i].Timestamp)
	}
	for i := range in.EnhancedTag {
		add(&secondary, in.EnhancedTag[i].StartTime)
	}
	return primary, secondary
}

// hasOffset reports whether a timestamp states its offset (Oura omits it on
// some local fields, which then say nothing about the zone).
func hasOffset(s oura.DateTime) bool {
	n := len(s)
	if n == 0 {
		return false
	}
	if s[n-1] == 'Z' {
		return true
	}
	return n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}
