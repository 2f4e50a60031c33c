package whoop

import (
	"fmt"
	"strings"
	"time"
)

// Days. WHOOP stamps every record with UTC instants and the user's offset
// at the time (timezone_offset). wearlink files a sleep, a workout (and a
// recovery, through its sleep) under the local day of its end, the day the
// user woke up or finished; a cycle under the local day it starts, because
// the current cycle has no end yet.

// ParseOffset reads a Time Zone Designator: "+hh:mm", "-hh:mm" or "Z"
// (and "+hhmm", which some clients write).
func ParseOffset(s string) (*time.Location, error) {
	if s == "Z" || s == "z" {
		return time.UTC, nil
	}
	if len(s) < 5 || (s[0] != '+' && s[0] != '-') {
		return nil, fmt.Errorf("whoop: timezone_offset %q is not ±hh:mm", s)
	}
	t, err := time.Parse("-07:00", s)
	if err != nil {
		t, err = time.Parse("-0700", strings.TrimSpace(s))
	}
	if err != nil {
		return nil, fmt.Errorf("whoop: timezone_offset %q is not ±hh:mm", s)
	}
	_, off := t.Zone()
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone("", off), nil
}

// LocalDay is the local day (YYYY-MM-DD) of instant at in offset.
func LocalDay(at Time, offset string) (string, error) {
	t, err := at.Parse()
	if err != nil {
		return "", fmt.Errorf("whoop: time %q: %w", at, err)
	}
	loc, err := ParseOffset(offset)
	if err != nil {
		return "", err
	}
	return t.In(loc).Format(time.DateOnly), nil
}

// Day is the local day a sleep belongs to: that of its end.
func (s Sleep) Day() (string, error) { return LocalDay(s.End, s.TimezoneOffset) }

// Day is the local day a workout belongs to: that of its end.
func (w Workout) Day() (string, error) { return LocalDay(w.End, w.TimezoneOffset) }

// Day is the local day a cycle belongs to: that of its start, the only
// bound the current cycle has.
func (c Cycle) Day() (string, error) { return LocalDay(c.Start, c.TimezoneOffset) }

// Offsets run from -12:00 to +14:00, so a local day D lies within
// [D 00:00 UTC - 14 h, D+1 00:00 UTC + 12 h).
const (
	maxEast = 14 * time.Hour
	maxWest = 12 * time.Hour
	// maxSpan is the longest record the query is widened for: a record
	// whose day is D may have started this long before D began (a cycle
	// lasts about a day; a long sleep or an ultra workout less). A longer
	// record is still found by its own window's query if it starts inside.
	maxSpan = 48 * time.Hour
)

// queryRange widens local days from..to (inclusive) to the instants to ask
// WHOOP for, whatever the zone: every record whose end (or start) falls on
// one of the days in its own offset started inside the range. WHOOP's
// start is inclusive and its end exclusive.
func queryRange(from, to string) (Range, error) {
	d1, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return Range{}, fmt.Errorf("whoop: start day %q: %w", from, err)
	}
	d2, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return Range{}, fmt.Errorf("whoop: end day %q: %w", to, err)
	}
	if d2.Before(d1) {
		return Range{}, fmt.Errorf("whoop: end day %s is before start day %s", to, from)
	}
	return Range{Start: d1.Add(-maxEast - maxSpan), End: d2.AddDate(0, 0, 1).Add(maxWest)}, nil
}
