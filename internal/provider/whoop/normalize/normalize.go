// Package normalize maps WHOOP records to ROOK health documents. It is
// pure: records in, documents out; no I/O, no clock. Time, value rules
// and attachment wrappers come from internal/provider/normkit.
//
// What maps where (field by field in MAPPING.md, section WHOOP):
//
//	sleep (the day's main sleep) + its recovery -> sleep_summary, one per day
//	cycle + its recovery's resting heart rate  -> physical_summary, one per day
//	workout                                    -> activity_event, one per workout
//	body_measurement                           -> body_summary and user_info, on the as-of day
//
// A record's day is WHOOP's own: the local day (in the record's
// timezone_offset) a sleep or workout ends, or a cycle starts; a recovery
// takes its sleep's. Datetimes keep the record's offset.
package normalize

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

// source is the provider's name in non_structured_data_array items;
// sourceName is ROOK's spelling in sources_of_data_array.
const (
	source     = whoop.DataSource
	sourceName = whoop.Name
)

// Options identify the documents' owner.
type Options struct {
	ClientUUID, UserID string
	// Location is the user's zone; WHOOP's records carry their own offset,
	// so it only names the zone in user_info.
	Location *time.Location
	// AsOf (YYYY-MM-DD) is the day undated documents (body measurement,
	// profile) are filed under; "" the newest day of the input.
	AsOf string
}

// Result is one normalized document and its key: the day for summaries
// and user_info, "workout:<id>" for activity events.
type Result struct {
	Key string
	Doc health.Doc
}

// Normalizer is WHOOP's normalization behind the provider seam.
type Normalizer struct{}

var _ provider.Normalizer = Normalizer{}

// Normalize implements provider.Normalizer.
func (Normalizer) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	res, err := Normalize(docs, Options{ClientUUID: opt.ClientUUID, UserID: opt.UserID, Location: opt.Location, AsOf: opt.AsOf})
	out := make([]provider.Normalized, len(res))
	for i, r := range res {
		out[i] = provider.Normalized{Key: r.Key, Doc: r.Doc}
	}
	return out, err
}

// rec is one decoded record with its day and bytes.
type rec[T any] struct {
	v   T
	id  string
	day string
	raw json.RawMessage
}

// run holds one call's state.
type run struct {
	opt  Options
	errs []error
	out  []Result

	sleeps     map[string][]*rec[whoop.Sleep] // by day
	recoveries []*rec[whoop.Recovery]
	cycles     map[string][]*rec[whoop.Cycle] // by day
	workouts   []*rec[whoop.Workout]
	bodies     []*rec[whoop.UserBodyMeasurement]
	profiles   []*rec[whoop.UserBasicProfile]
	newest     string
}

// Normalize maps every document. The output is sorted by data structure,
// then key, and is byte-identical for identical input (in any order). A
// document that cannot be used is left out and named in the returned
// error (errors.Join of *provider.InputError); the rest is still mapped.
func Normalize(docs []provider.Document, opt Options) ([]Result, error) {
	r := &run{opt: opt, sleeps: map[string][]*rec[whoop.Sleep]{}, cycles: map[string][]*rec[whoop.Cycle]{}}
	if opt.AsOf != "" {
		if _, ok := normkit.ParseDay(opt.AsOf); !ok {
			return nil, health.Errorf(health.EINVALID, "normalize: as-of day %q is not a YYYY-MM-DD date", opt.AsOf)
		}
	}
	// A stable order first, so that ties are broken the same way whatever
	// order the documents came in.
	docs = append([]provider.Document(nil), docs...)
	sort.SliceStable(docs, func(i, j int) bool {
		if docs[i].Collection != docs[j].Collection {
			return docs[i].Collection < docs[j].Collection
		}
		return docs[i].ID < docs[j].ID
	})
	for _, d := range docs {
		r.add(d)
	}
	r.buildSleep()
	r.buildPhysical()
	r.buildActivities()
	r.buildBody()
	sort.SliceStable(r.out, func(i, j int) bool {
		a, b := r.out[i].Doc, r.out[j].Doc
		if a.DataStructure() != b.DataStructure() {
			return a.DataStructure() < b.DataStructure()
		}
		return r.out[i].Key < r.out[j].Key
	})
	return r.out, errors.Join(r.errs...)
}

func (r *run) fail(d provider.Document, format string, args ...any) {
	r.errs = append(r.errs, &provider.InputError{Collection: d.Collection, ID: d.ID, Reason: fmt.Sprintf(format, args...)})
}

func (r *run) seen(day string) {
	if day > r.newest {
		r.newest = day
	}
}

func decode[T any](r *run, d provider.Document) (*rec[T], bool) {
	x := &rec[T]{id: d.ID, day: d.Day, raw: d.Raw}
	if err := json.Unmarshal(d.Raw, &x.v); err != nil {
		r.fail(d, "does not decode: %v", err)
		return nil, false
	}
	return x, true
}

// add decodes one document and files it under its day.
func (r *run) add(d provider.Document) {
	switch d.Collection {
	case whoop.CollSleep:
		x, ok := decode[whoop.Sleep](r, d)
		if !ok {
			return
		}
		day, err := x.v.Day()
		if err != nil {
			r.fail(d, "no day: %v", err)
			return
		}
		x.id, x.day = x.v.ID, day
		r.sleeps[day] = append(r.sleeps[day], x)
		r.seen(day)
	case whoop.CollRecovery:
		if x, ok := decode[whoop.Recovery](r, d); ok {
			x.id = x.v.SleepID
			r.recoveries = append(r.recoveries, x)
		}
	case whoop.CollCycle:
		x, ok := decode[whoop.Cycle](r, d)
		if !ok {
			return
		}
		day, err := x.v.Day()
		if err != nil {
			r.fail(d, "no day: %v", err)
			return
		}
		x.id, x.day = whoop.CycleID(x.v.ID), day
		r.cycles[day] = append(r.cycles[day], x)
		r.seen(day)
	case whoop.CollWorkout:
		x, ok := decode[whoop.Workout](r, d)
		if !ok {
			return
		}
		day, err := x.v.Day()
		if err != nil {
			r.fail(d, "no day: %v", err)
			return
		}
		x.id, x.day = x.v.ID, day
		r.workouts = append(r.workouts, x)
		r.seen(day)
	case whoop.CollBodyMeasurement:
		if x, ok := decode[whoop.UserBodyMeasurement](r, d); ok {
			r.bodies = append(r.bodies, x)
		}
	case whoop.CollProfile:
		if x, ok := decode[whoop.UserBasicProfile](r, d); ok {
			r.profiles = append(r.profiles, x)
		}
	default:
		r.fail(d, "unknown collection")
	}
}

func (r *run) header(day string) health.Header {
	return health.Header{ClientUUID: r.opt.ClientUUID, UserID: r.opt.UserID, DocumentVersion: 1, Day: day}
}

func (r *run) metadata(at *string) health.Metadata {
	var uid *string
	if r.opt.UserID != "" {
		uid = health.String(r.opt.UserID)
	}
	return health.Metadata{Datetime: at, SourcesOfData: []string{sourceName}, UserID: uid}
}

func (r *run) emit(key string, d health.Doc) { r.out = append(r.out, Result{Key: key, Doc: d}) }

// local parses an instant and places it in the record's own offset; ok is
// false when either does not read or ROOK's format cannot carry it.
func local(t whoop.Time, offset string) (time.Time, bool) {
	v, err := t.Parse()
	if err != nil {
		return time.Time{}, false
	}
	loc, err := whoop.ParseOffset(offset)
	if err != nil {
		return time.Time{}, false
	}
	v = v.In(loc)
	return v, normkit.Usable(v)
}

// midnight is the start of day in offset, for documents with no instant
// of their own.
func midnight(day, offset string) *string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil
	}
	loc, err := whoop.ParseOffset(offset)
	if err != nil {
		loc = time.UTC
	}
	return health.Datetime(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc))
}

// seconds converts WHOOP milliseconds to whole seconds, rounded; negative
// or absurd values are unknown.
func seconds(ms int64) *int {
	if ms < 0 || ms/1000 > normkit.MaxInt32 {
		return nil
	}
	return normkit.RoundInt(float64(ms) / 1000)
}

// kcal converts kilojoules: 1 kcal = 4.184 kJ (the thermochemical
// calorie, which energy labels use).
func kcal(kj float64) *float64 {
	if !(kj >= 0) {
		return nil
	}
	return normkit.NonNegFloat(health.Float(round3(kj / 4.184)))
}

// round3 keeps three decimals, enough for energy and strain and stable in
// golden files.
func round3(f float64) float64 {
	r := normkit.RoundInt(f * 1000)
	if r == nil {
		return f
	}
	return float64(*r) / 1000
}

func wrap(coll, role string, raw []byte) json.RawMessage {
	return normkit.Wrap(source, coll, role, raw)
}
