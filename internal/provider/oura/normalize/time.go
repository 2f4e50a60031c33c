package normalize

import (
	"time"

	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Time handling.
//
// Oura's day fields are already the user's local day and are kept as they
// are. Localized timestamps (bedtimes, workout and session bounds, sample
// starts) keep the offset Oura sent. Heart-rate and battery rows are UTC
// instants: Options.Location places them on a local day and renders them in
// local time. Without a Location, the offset of the user's own localized
// documents nearest in time stands in for it (see normkit.Zones), and UTC
// when there are none.

// parseTime parses an Oura timestamp; ok is false for anything unusable,
// including years the ROOK datetime format cannot carry.
func parseTime(s oura.DateTime) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := s.Time()
	if err != nil || !normkit.Usable(t) {
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

// parseDay checks an Oura day and returns it in canonical form.
func parseDay(d oura.Date) (string, bool) { return normkit.ParseDay(string(d)) }

// collectAnchors gathers the user's offsets from localized timestamps.
// Sleep periods and daily activity are local by construction and come
// first; workouts, sessions and tags only fill gaps, because Oura has been
// seen sending a workout in +00:00 among +02:00 ones. Daily sleep and
// readiness timestamps are midnight UTC, not local, and are never used.
func collectAnchors(in *Input) (primary, secondary []normkit.Anchor) {
	add := func(dst *[]normkit.Anchor, s oura.DateTime) {
		if t, ok := parseTime(s); ok && normkit.HasOffset(string(s)) {
			*dst = append(*dst, normkit.AnchorOf(t))
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
