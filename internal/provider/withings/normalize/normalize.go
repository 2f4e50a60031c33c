// Package normalize maps Withings documents to ROOK health documents. It
// is pure: documents in, documents out; no I/O, no clock. Time, value
// rules and attachment wrappers come from internal/provider/normkit.
//
// What maps where (field by field, and every measure type code, in
// MAPPING.md, section Withings):
//
//	measure (device measurements)  -> body_summary per local day, and the
//	                                  day's body_metrics_event,
//	                                  blood_pressure_event, heart_rate_event,
//	                                  temperature_event, oxygenation_event
//	measure (entered by the user)  -> the same events under "manual:<day>",
//	                                  auto_detected false; never the summary
//	measure (objectives, ambiguous)-> attached to the day's body_summary only
//	sleep_summary + sleep segments -> sleep_summary per night
//	activity                       -> physical_summary per day
//	workout                        -> activity_event per workout
//	device                         -> nothing (kept raw only)
//
// Every Withings object names its IANA zone ("timezone"); a document's
// instants are placed in it. Where one carries none (sleep segments, a
// bare list of measure groups), the zone of its night's summary, else
// Options.Location, else UTC decides.
package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// source is the provider's name in non_structured_data_array items;
// sourceName is ROOK's spelling in sources_of_data_array.
const (
	source     = withings.DataSource
	sourceName = withings.Name
)

// Options identify the documents' owner and place them in time.
type Options struct {
	ClientUUID, UserID string
	// Location is the user's zone, for documents that name none.
	Location *time.Location
	// AsOf is accepted for the seam's sake; every Withings document that
	// is normalized has a day of its own.
	AsOf string
}

// Result is one normalized document and its key.
type Result struct {
	Key string
	Doc health.Doc
}

// Normalizer is Withings' normalization behind the provider seam.
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

// rec is one decoded document with its bytes, its day and its zone.
type rec[T any] struct {
	v   T
	id  string
	day string
	loc *time.Location
	raw json.RawMessage
}

// run holds one call's state.
type run struct {
	opt   Options
	errs  []error
	out   []Result
	zones map[string]*time.Location

	groups     []*group
	activities map[string][]*rec[Activity]
	workouts   []*rec[Workout]
	summaries  []*night
	segments   []*segment
}

// Normalize maps every document. The output is sorted by data structure,
// then key, and is byte-identical for identical input in any order. A
// document that cannot be used is left out and named in the returned
// error (errors.Join of *provider.InputError); the rest is still mapped.
func Normalize(docs []provider.Document, opt Options) ([]Result, error) {
	if opt.AsOf != "" {
		if _, ok := normkit.ParseDay(opt.AsOf); !ok {
			return nil, health.Errorf(health.EINVALID, "normalize: as-of day %q is not a YYYY-MM-DD date", opt.AsOf)
		}
	}
	r := &run{opt: opt, zones: map[string]*time.Location{}, activities: map[string][]*rec[Activity]{}}
	// A stable order first, so that ties are broken the same way whatever
	// order the documents came in.
	docs = append([]provider.Document(nil), docs...)
	sort.SliceStable(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		if a.Collection != b.Collection {
			return a.Collection < b.Collection
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return bytes.Compare(a.Raw, b.Raw) < 0
	})
	for _, d := range docs {
		r.add(d)
	}
	r.buildBody()
	r.buildSleep()
	r.buildPhysical()
	r.buildActivities()
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

func decode[T any](r *run, d provider.Document) (*rec[T], bool) {
	x := &rec[T]{id: d.ID, day: d.Day, raw: d.Raw}
	if err := json.Unmarshal(d.Raw, &x.v); err != nil {
		r.fail(d, "does not decode: %v", err)
		return nil, false
	}
	return x, true
}

// add decodes one document and files it.
func (r *run) add(d provider.Document) {
	switch d.Collection {
	case withings.CollMeasure:
		r.addGroup(d)
	case withings.CollActivity:
		x, ok := decode[Activity](r, d)
		if !ok {
			return
		}
		day, ok := normkit.ParseDay(string(x.v.Date))
		if !ok {
			r.fail(d, "no day: date %q", x.v.Date)
			return
		}
		x.day, x.loc = day, r.zone(x.v.Timezone)
		r.activities[day] = append(r.activities[day], x)
	case withings.CollWorkout:
		x, ok := decode[Workout](r, d)
		if !ok {
			return
		}
		x.loc = r.zone(x.v.Timezone)
		day, ok := normkit.ParseDay(string(x.v.Date))
		if !ok && x.v.StartDate.OK {
			day, ok = r.localDay(x.v.StartDate.V, x.loc)
		}
		if !ok || !x.v.ID.OK {
			r.fail(d, "no id or day")
			return
		}
		x.id, x.day = strconv.FormatInt(x.v.ID.V, 10), day
		r.workouts = append(r.workouts, x)
	case withings.CollSleepSummary:
		r.addNight(d)
	case withings.CollSleep:
		r.addSegment(d)
	case withings.CollDevice:
		// Kept raw only: a device says nothing about the user's health,
		// and its battery and firmware change without the data changing.
		var v Device
		if err := json.Unmarshal(d.Raw, &v); err != nil {
			r.fail(d, "does not decode: %v", err)
		}
	default:
		r.fail(d, "unknown collection")
	}
}

// zone returns the location of an IANA name, else the user's, else UTC.
// A name that does not load is treated as absent.
func (r *run) zone(name Text) *time.Location {
	if name != "" {
		l, seen := r.zones[string(name)]
		if !seen {
			l, _ = time.LoadLocation(string(name))
			r.zones[string(name)] = l
		}
		if l != nil {
			return l
		}
	}
	if r.opt.Location != nil {
		return r.opt.Location
	}
	return time.UTC
}

// at places an epoch second in loc; ok is false when ROOK's format cannot
// carry it.
func at(epoch int64, loc *time.Location) (time.Time, bool) {
	t := time.Unix(epoch, 0).In(loc)
	return t, epoch > 0 && normkit.Usable(t)
}

func (r *run) localDay(epoch int64, loc *time.Location) (string, bool) {
	t, ok := at(epoch, loc)
	if !ok {
		return "", false
	}
	return t.Format(time.DateOnly), true
}

// midnight is the start of day in loc.
func midnight(day string, loc *time.Location) *string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil
	}
	return health.Datetime(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc))
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

func (r *run) eventMetadata(at *string, exercise *bool) health.EventMetadata {
	return health.EventMetadata{Metadata: r.metadata(at), WasTheUserUnderPhysicalActivity: exercise}
}

func (r *run) emit(key string, d health.Doc) { r.out = append(r.out, Result{Key: key, Doc: d}) }

func wrap(coll, role string, raw []byte) json.RawMessage {
	return normkit.Wrap(source, coll, role, raw)
}

// round keeps n decimals, enough for derived values (BMI, averages) and
// stable in golden files.
func round(f float64, n int) float64 {
	p := 1.0
	for range n {
		p *= 10
	}
	v := normkit.RoundInt(f * p)
	if v == nil {
		return f
	}
	return float64(*v) / p
}

// nonNegRound rounds a non-negative quantity (seconds, steps, counts).
func nonNegRound(f Float) *int {
	if !f.OK || f.V < 0 {
		return nil
	}
	return normkit.RoundInt(f.V)
}

func posRound(f Float) *int { return normkit.PositiveRound(f.Ptr()) }

func nonNegFloat(f Float) *float64 { return normkit.NonNegFloat(f.Ptr()) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortStable[T any](s []T, less func(a, b T) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}
