package oura

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// RawDocument is one document as Oura sent it, with the keys wearlink
// stores it under.
type RawDocument struct {
	Collection string
	// ID is the document id; time-series rows have none and use their
	// timestamp instead.
	ID string
	// Day is the user's local day the document belongs to ("" for
	// ring_configuration and personal_info, which belong to no day).
	Day Date
	Raw json.RawMessage
}

// docKey is the part of any document needed to place it on a day.
type docKey struct {
	ID        string   `json:"id"`
	Day       Date     `json:"day"`
	StartDay  Date     `json:"start_day"`
	Timestamp DateTime `json:"timestamp"`
}

// Days returns exactly the documents of coll that belong to the user's local
// days d1..d2 (inclusive). Oura filters each collection differently (some
// inclusive, some end-exclusive, sleep on bedtime_start, workouts on the UTC
// start), so the request is widened as the collection needs and the answer
// is filtered on the document's own day. loc is the user's time zone; it
// places heart-rate and battery samples (UTC timestamps) on local days.
func (u *User) Days(ctx context.Context, coll string, d1, d2 Date, loc *time.Location) ([]RawDocument, error) {
	c, ok := LookupCollection(coll)
	if !ok {
		return nil, fmt.Errorf("oura: unknown collection %q", coll)
	}
	t1, err := d1.Time()
	if err != nil {
		return nil, fmt.Errorf("oura: start day %q: %w", d1, err)
	}
	t2, err := d2.Time()
	if err != nil {
		return nil, fmt.Errorf("oura: end day %q: %w", d2, err)
	}
	if t2.Before(t1) {
		return nil, fmt.Errorf("oura: end day %s is before start day %s", d2, d1)
	}
	if loc == nil {
		loc = time.UTC
	}
	if c.Range == RangeSingleton {
		d, err := u.PersonalInfo(ctx)
		if err != nil {
			return nil, err
		}
		return []RawDocument{{Collection: c.Name, ID: d.Value.ID, Raw: d.Raw}}, nil
	}

	var q Query
	switch c.Filter {
	case FilterDay:
		q = Query{StartDate: d1, EndDate: d2}
	case FilterInstantInclusive, FilterInstantExclusive:
		// A document of local day D has its instant between D-1 evening and
		// D+1 morning in UTC for any offset in [-12, +14]: two days of margin
		// on each side cover both the offset and the exclusive end.
		q = Query{StartDate: dateOf(t1.AddDate(0, 0, -2)), EndDate: dateOf(t2.AddDate(0, 0, 2))}
	case FilterDateTime:
		q = Query{
			StartDatetime: time.Date(t1.Year(), t1.Month(), t1.Day(), 0, 0, 0, 0, loc),
			EndDatetime:   time.Date(t2.Year(), t2.Month(), t2.Day()+1, 0, 0, 0, 0, loc),
		}
	}
	docs, err := List[docKey](ctx, u, c.Name, q)
	if err != nil {
		return nil, err
	}
	out := make([]RawDocument, 0, len(docs))
	for _, d := range docs {
		rd := RawDocument{Collection: c.Name, ID: d.Value.ID, Raw: d.Raw}
		switch {
		case c.Range == RangeNone:
			out = append(out, rd)
			continue
		case c.Range == RangeDateTime:
			ts, err := d.Value.Timestamp.Time()
			if err != nil {
				return nil, fmt.Errorf("oura: %s row with bad timestamp %q: %w", c.Name, d.Value.Timestamp, err)
			}
			rd.ID = string(d.Value.Timestamp)
			rd.Day = dateOf(ts.In(loc))
		case d.Value.Day != "":
			rd.Day = d.Value.Day
		default:
			rd.Day = d.Value.StartDay // enhanced_tag, rest_mode_period
		}
		if rd.Day >= d1 && rd.Day <= d2 {
			out = append(out, rd)
		}
	}
	return out, nil
}

// DaysOf is Days with every document decoded into T.
func DaysOf[T any](ctx context.Context, u *User, coll string, d1, d2 Date, loc *time.Location) ([]Document[T], error) {
	raws, err := u.Days(ctx, coll, d1, d2, loc)
	if err != nil {
		return nil, err
	}
	out := make([]Document[T], len(raws))
	for i, r := range raws {
		if err := out[i].UnmarshalJSON(r.Raw); err != nil {
			return nil, fmt.Errorf("oura: decode %s %s: %w", coll, r.ID, err)
		}
	}
	return out, nil
}

func dateOf(t time.Time) Date { return Date(t.Format(time.DateOnly)) }
