// Package normalize maps Oura documents to ROOK health documents. It is pure:
// documents and a time zone in, documents out; no I/O, no clock. What is not
// Oura's (time and zones, value rules, attachment wrappers) comes from
// internal/provider/normkit.
//
// What maps where (details at each builder; attachments in attach.go):
//
//	sleep (main period), daily_sleep, daily_readiness, daily_spo2, sleep_time
//	    -> sleep_summary, one per Oura day
//	daily_activity, daily_stress, heartrate, daily_spo2, vO2_max, daily_resilience
//	    -> physical_summary, one per day
//	readiness temperature, daily_spo2, heartrate, personal_info, tags, ...
//	    -> body_summary, one per day
//	workout, session            -> activity_event (physical), one per document
//	heartrate                   -> heart_rate_event (body pillar), one per local day
//	interbeat_interval          -> sleep_summary HRV where Oura's is null (ibi.go)
//	daily_spo2                  -> oxygenation_event (body pillar), one per day
//	daily_stress                -> stress_event (physical), one per day
//	readiness temperature       -> temperature_event (body), one per day
//	personal_info               -> body_metrics_event and user_info, on the as-of day
//
// heart_rate_event and oxygenation_event exist in both the physical and the
// body pillar; Oura's all-day heart rate and nightly SpO2 are body vitals,
// not exercise data, and ROOK files Oura's SpO2 as a body oxygenation event,
// so both go to the body pillar only. Oura measures no nutrition, mood,
// hydration, blood glucose or blood pressure: those structures are never
// produced.
package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Input is everything known about one user: any number of days of every
// collection, in any order. Structures that join collections (a night's
// sleep_summary needs sleep, daily_sleep, daily_readiness and daily_spo2)
// are only whole when all of them are present.
type Input struct {
	DailyActivity          []oura.DailyActivity
	DailyCardiovascularAge []oura.DailyCardiovascularAge
	DailyReadiness         []oura.DailyReadiness
	DailyResilience        []oura.DailyResilience
	DailySleep             []oura.DailySleep
	DailySpO2              []oura.DailySpO2
	DailyStress            []oura.DailyStress
	EnhancedTag            []oura.EnhancedTag
	HeartRate              []oura.HeartRate
	InterbeatInterval      []oura.InterbeatInterval
	PersonalInfo           []oura.PersonalInfo
	RestModePeriod         []oura.RestModePeriod
	RingBatteryLevel       []oura.RingBatteryLevel
	RingConfiguration      []oura.RingConfiguration
	Session                []oura.Session
	Sleep                  []oura.Sleep
	SleepTime              []oura.SleepTime
	Tag                    []oura.Tag
	VO2Max                 []oura.VO2Max
	Workout                []oura.Workout

	// Raw optionally holds the exact bytes Oura sent, by RawKey(collection,
	// id), the id of a time-series row being its timestamp. Documents attached to non_structured_data_array use them when
	// present, so fields our models do not know yet travel too; otherwise
	// the decoded model is encoded again.
	Raw map[string]json.RawMessage
}

// RawKey is the key of a document's bytes in Input.Raw.
func RawKey(collection, id string) string { return collection + "/" + id }

// Options identify the documents' owner and place samples on local days.
type Options struct {
	ClientUUID string
	UserID     string
	// Location is the user's time zone. Nil: the offset of the user's own
	// localized documents nearest in time (sleep periods and daily
	// activity first) places UTC samples, and UTC when there are none.
	Location *time.Location
	// AsOf (YYYY-MM-DD) is the local day the undated documents
	// (personal_info, ring_configuration) are filed under: user_info,
	// body_metrics_event and that day's body_summary. Empty: the newest day
	// of any input document.
	AsOf string
}

// Result is one normalized document and the key that identifies it among
// the user's documents of its data structure: the day for summaries, the
// source document (or day and kind) for events. Re-normalizing changed
// input gives the same key, so the store can bump document_version.
//
// Keys: summaries, heart_rate_event, oxygenation_event, stress_event,
// temperature_event, body_metrics_event and user_info use the local day
// (YYYY-MM-DD); activity_event uses "workout:<oura id>" or
// "session:<oura id>" ("workout:@<start_datetime>" for a document without
// an id).
//
// Documents are read-only once returned: documents of one day may share
// granular samples.
type Result struct {
	Key string
	Doc health.Doc
}

// InputError names an input document that could not be used at all: no
// valid day, no day to file an undated document under, or (for heart-rate
// and battery rows, which have no id; ID is then empty and Reason counts
// them) no usable timestamp. Everything else in the input is still
// normalized.
type InputError = provider.InputError

// Normalize maps every document of in. The output is deterministic: sorted
// by data structure, then key, and byte-identical for identical input.
//
// Malformed parts of a document (bad timestamps, null samples, series longer
// than their period) are skipped. A document that cannot be used at all is
// left out and named in the returned error (errors.Join of *InputError);
// the results then still hold every other document, so a caller may store
// them and report the error. An invalid Options.AsOf returns no results.
func Normalize(in *Input, opt Options) ([]Result, error) {
	if in == nil {
		return nil, nil
	}
	primary, secondary := collectAnchors(in)
	r := &run{opt: opt, zf: normkit.NewZones(opt.Location, primary, secondary), rawDocs: in.Raw}
	if opt.AsOf != "" {
		d, ok := parseDay(oura.Date(opt.AsOf))
		if !ok {
			return nil, health.Errorf(health.EINVALID, "normalize: as-of day %q is not a YYYY-MM-DD date", opt.AsOf)
		}
		r.asOf = d
	}
	r.prepare(in)
	r.build()
	sort.Slice(r.out, func(i, j int) bool {
		a, b := r.out[i].Doc, r.out[j].Doc
		if a.DataStructure() != b.DataStructure() {
			return a.DataStructure() < b.DataStructure()
		}
		if a.Pillar() != b.Pillar() {
			return a.Pillar() < b.Pillar()
		}
		return r.out[i].Key < r.out[j].Key
	})
	return r.out, errors.Join(r.errs...)
}

// item is one input document with what ordering and attaching need.
type item[T any] struct {
	v   *T
	id  string
	day string    // canonical local day; "" for undated collections
	at  time.Time // the document's own instant; zero when it has none
	raw []byte    // the document as JSON
}

// group is a daily collection's documents for one day: the one mapped and
// any others.
type group[T any] struct {
	main       *item[T]
	superseded []*item[T]
}

// run holds one call's state.
type run struct {
	opt     Options
	rawDocs map[string]json.RawMessage
	zf      *normkit.Zones
	errs    []error
	out     []Result
	asOf    string

	sleep      map[string][]*item[oura.Sleep] // by day, by bedtime_start
	mainSleep  map[string]*item[oura.Sleep]
	dailySleep map[string]*group[oura.DailySleep]
	readiness  map[string]*group[oura.DailyReadiness]
	activity   map[string]*group[oura.DailyActivity]
	spo2       map[string]*group[oura.DailySpO2]
	stress     map[string]*group[oura.DailyStress]
	resilience map[string]*group[oura.DailyResilience]
	cvAge      map[string]*group[oura.DailyCardiovascularAge]
	vo2        map[string]*group[oura.VO2Max]
	sleepTime  map[string]*group[oura.SleepTime]
	tags       map[string][]*item[oura.Tag]
	etags      map[string][]*item[oura.EnhancedTag]
	restMode   map[string][]*item[oura.RestModePeriod]
	workouts   []*item[oura.Workout]
	sessions   []*item[oura.Session]
	personal   []*item[oura.PersonalInfo]
	rings      []*item[oura.RingConfiguration]
	battery    map[string][]*item[oura.RingBatteryLevel]

	hr         []hrSample            // every usable sample, by instant
	hrDays     map[string][]hrSample // by local day, by instant
	hrGranular map[string][]health.HRSample
	ibi        []ibiRow // interbeat rows, by instant

	flags     map[string]dayFlags // what each day has
	days      []string            // every day of flags, sorted
	dayStarts map[string]*string  // local midnight of a day, formatted
	sources   []string            // sources_of_data_array, shared
	userID    *string             // user_id_string, shared
}

// dayFlags records which collections have documents on a day, so that each
// builder can list its days without building key sets.
type dayFlags uint32

const (
	hasSleep dayFlags = 1 << iota
	hasDailySleep
	hasReadiness
	hasActivity
	hasSpO2
	hasStress
	hasResilience
	hasCVAge
	hasVO2
	hasSleepTime
	hasTag
	hasEnhancedTag
	hasRestMode
	hasHR
	hasBattery
	hasWorkout
	hasSession
	hasTemperature // a known temperature deviation
	hasAsOf        // the day undated documents are filed under
)

// markDays flags every key of m.
func markDays[V any](r *run, m map[string]V, f dayFlags) {
	for d := range m {
		r.flags[d] |= f
	}
}

// daysWith lists, in order, the days that have any of the flags.
func (r *run) daysWith(f dayFlags) []string {
	var out []string
	for _, d := range r.days {
		if r.flags[d]&f != 0 {
			out = append(out, d)
		}
	}
	return out
}

// indexDays fills flags and days, and decides the as-of day.
func (r *run) indexDays() {
	r.flags = map[string]dayFlags{}
	markDays(r, r.sleep, hasSleep)
	markDays(r, r.dailySleep, hasDailySleep)
	markDays(r, r.readiness, hasReadiness)
	markDays(r, r.activity, hasActivity)
	markDays(r, r.spo2, hasSpO2)
	markDays(r, r.stress, hasStress)
	markDays(r, r.resilience, hasResilience)
	markDays(r, r.cvAge, hasCVAge)
	markDays(r, r.vo2, hasVO2)
	markDays(r, r.sleepTime, hasSleepTime)
	markDays(r, r.tags, hasTag)
	markDays(r, r.etags, hasEnhancedTag)
	markDays(r, r.restMode, hasRestMode)
	markDays(r, r.hrDays, hasHR)
	markDays(r, r.battery, hasBattery)
	for _, w := range r.workouts {
		r.flags[w.day] |= hasWorkout
	}
	for _, s := range r.sessions {
		r.flags[s.day] |= hasSession
	}
	for d, f := range r.flags {
		if f&(hasReadiness|hasSleep) != 0 && r.temperatureDelta(d) != nil {
			r.flags[d] |= hasTemperature
		}
	}
	if r.asOf == "" {
		// The newest day of any input document.
		for d := range r.flags {
			r.asOf = max(r.asOf, d)
		}
	}
	if r.asOf != "" && len(r.personal)+len(r.rings) > 0 {
		r.flags[r.asOf] |= hasAsOf
	}
	r.days = make([]string, 0, len(r.flags))
	for d := range r.flags {
		r.days = append(r.days, d)
	}
	sort.Strings(r.days)
}

// dayStart is the formatted local midnight of a day, the datetime of
// documents that describe a whole day.
func (r *run) dayStart(day string) *string {
	if s, ok := r.dayStarts[day]; ok {
		return s
	}
	if r.dayStarts == nil {
		r.dayStarts = map[string]*string{}
	}
	t := r.zf.Midnight(day)
	if t.IsZero() {
		return nil
	}
	// The fast formatter: every document of a day carries this value.
	v := string(normkit.AppendDatetime(nil, t))
	r.dayStarts[day] = &v
	return &v
}

func (r *run) fail(coll, id, format string, args ...any) {
	r.errs = append(r.errs, &InputError{Collection: coll, ID: id, Reason: fmt.Sprintf(format, args...)})
}

// prepare validates, de-duplicates and groups the input.
func (r *run) prepare(in *Input) {
	sleeps := prepare(r, oura.CollSleep, in.Sleep, func(v *oura.Sleep) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.BedtimeStart
	})
	r.sleep = byDay(sleeps)
	r.dailySleep = groups(prepare(r, oura.CollDailySleep, in.DailySleep, func(v *oura.DailySleep) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.Timestamp
	}))
	r.readiness = groups(prepare(r, oura.CollDailyReadiness, in.DailyReadiness, func(v *oura.DailyReadiness) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.Timestamp
	}))
	r.activity = groups(prepare(r, oura.CollDailyActivity, in.DailyActivity, func(v *oura.DailyActivity) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.Timestamp
	}))
	r.spo2 = groups(prepare(r, oura.CollDailySpO2, in.DailySpO2, func(v *oura.DailySpO2) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, ""
	}))
	r.stress = groups(prepare(r, oura.CollDailyStress, in.DailyStress, func(v *oura.DailyStress) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, ""
	}))
	r.resilience = groups(prepare(r, oura.CollDailyResilience, in.DailyResilience, func(v *oura.DailyResilience) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, ""
	}))
	r.cvAge = groups(prepare(r, oura.CollDailyCardiovascularAge, in.DailyCardiovascularAge, func(v *oura.DailyCardiovascularAge) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, ""
	}))
	r.vo2 = groups(prepare(r, oura.CollVO2Max, in.VO2Max, func(v *oura.VO2Max) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.Timestamp
	}))
	r.sleepTime = groups(prepare(r, oura.CollSleepTime, in.SleepTime, func(v *oura.SleepTime) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, ""
	}))
	r.tags = byDay(prepare(r, oura.CollTag, in.Tag, func(v *oura.Tag) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.Timestamp
	}))
	r.etags = byDay(prepare(r, oura.CollEnhancedTag, in.EnhancedTag, func(v *oura.EnhancedTag) (string, oura.Date, oura.DateTime) {
		return v.ID, v.StartDay, v.StartTime
	}))
	r.restMode = byDay(prepare(r, oura.CollRestModePeriod, in.RestModePeriod, func(v *oura.RestModePeriod) (string, oura.Date, oura.DateTime) {
		var st oura.DateTime
		if v.StartTime != nil {
			st = *v.StartTime
		}
		return v.ID, v.StartDay, st
	}))
	r.workouts = prepare(r, oura.CollWorkout, in.Workout, func(v *oura.Workout) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.StartDatetime
	})
	r.sessions = prepare(r, oura.CollSession, in.Session, func(v *oura.Session) (string, oura.Date, oura.DateTime) {
		return v.ID, v.Day, v.StartDatetime
	})
	r.personal = prepareUndated(r, oura.CollPersonalInfo, in.PersonalInfo, func(v *oura.PersonalInfo) (string, oura.DateTime) {
		return v.ID, ""
	})
	r.rings = prepareUndated(r, oura.CollRingConfiguration, in.RingConfiguration, func(v *oura.RingConfiguration) (string, oura.DateTime) {
		var st oura.DateTime
		if v.SetUpAt != nil {
			st = *v.SetUpAt
		}
		return v.ID, st
	})
	r.prepareHeartRate(in.HeartRate)
	r.prepareInterbeat(in.InterbeatInterval)
	r.prepareBattery(in.RingBatteryLevel)

	r.mainSleep = map[string]*item[oura.Sleep]{}
	for day, ps := range r.sleep {
		if m := pickMain(ps); m != nil {
			r.mainSleep[day] = m
		}
	}
	r.indexDays()
	if r.asOf == "" {
		for _, p := range r.personal {
			r.fail(oura.CollPersonalInfo, p.id, "no day to file it under: the input has no dated document and Options.AsOf is empty")
		}
		for _, p := range r.rings {
			r.fail(oura.CollRingConfiguration, p.id, "no day to file it under: the input has no dated document and Options.AsOf is empty")
		}
	}
	r.sources = []string{"Oura"}
	r.userID = health.String(r.opt.UserID)
}

// prepare turns a dated collection into items: documents without a valid
// day are reported and left out, repeated documents (same id, or same
// bytes when there is no id) are kept once, and the rest is sorted by day,
// instant, id and bytes so that input order never shows in the output.
func prepare[T any](r *run, coll string, docs []T, key func(*T) (string, oura.Date, oura.DateTime)) []*item[T] {
	out := make([]*item[T], 0, len(docs))
	for i := range docs {
		v := &docs[i]
		id, d, at := key(v)
		day, ok := parseDay(d)
		if !ok {
			r.fail(coll, id, "day %q is not a YYYY-MM-DD date", d)
			continue
		}
		it := &item[T]{v: v, id: id, day: day}
		if t, ok := parseTime(at); ok {
			it.at = t
		}
		if err := it.encode(r.raw(coll, id)); err != nil {
			r.fail(coll, id, "cannot encode: %v", err)
			continue
		}
		out = append(out, it)
	}
	return dedupe(out)
}

// raw returns the bytes Oura sent for a document, when the caller gave them.
func (r *run) raw(coll, id string) json.RawMessage {
	if id == "" || r.rawDocs == nil {
		return nil
	}
	return r.rawDocs[RawKey(coll, id)]
}

// prepareUndated is prepare for collections that belong to no day.
func prepareUndated[T any](r *run, coll string, docs []T, key func(*T) (string, oura.DateTime)) []*item[T] {
	out := make([]*item[T], 0, len(docs))
	for i := range docs {
		v := &docs[i]
		id, at := key(v)
		it := &item[T]{v: v, id: id}
		if t, ok := parseTime(at); ok {
			it.at = t
		}
		if err := it.encode(r.raw(coll, id)); err != nil {
			r.fail(coll, id, "cannot encode: %v", err)
			continue
		}
		out = append(out, it)
	}
	return dedupe(out)
}

// encode stores the document's JSON. A document built in Go (not decoded
// from JSON) can hold a NaN, which JSON cannot carry: the caller reports it
// and leaves it out.
func (it *item[T]) encode(raw json.RawMessage) error {
	if len(raw) > 0 {
		// Used as given: encoding a health document compacts the
		// attachments it carries, so indentation never reaches the output.
		it.raw = raw
		return nil
	}
	b, err := json.Marshal(it.v)
	if err != nil {
		return err
	}
	it.raw = b
	return nil
}

// dedupe keeps one document per id (per content when there is no id),
// choosing by content so the choice does not depend on input order, and
// sorts the rest.
func dedupe[T any](items []*item[T]) []*item[T] {
	// Same identity: same id, or both without id and the same bytes.
	cmpKey := func(a, b *item[T]) int {
		switch {
		case a.id != "" && b.id != "":
			return strings.Compare(a.id, b.id)
		case a.id != "":
			return -1
		case b.id != "":
			return 1
		}
		return bytes.Compare(a.raw, b.raw)
	}
	sort.Slice(items, func(i, j int) bool {
		if c := cmpKey(items[i], items[j]); c != 0 {
			return c < 0
		}
		return bytes.Compare(items[i].raw, items[j].raw) > 0
	})
	out := items[:0]
	for i, it := range items {
		if i > 0 && cmpKey(it, items[i-1]) == 0 {
			continue
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

// less orders items by day, instant, id and content.
func less[T any](a, b *item[T]) bool {
	if a.day != b.day {
		return a.day < b.day
	}
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return bytes.Compare(a.raw, b.raw) < 0
}

// byDay groups sorted items by day, keeping their order.
func byDay[T any](items []*item[T]) map[string][]*item[T] {
	m := make(map[string][]*item[T])
	for _, it := range items {
		m[it.day] = append(m[it.day], it)
	}
	return m
}

// groups picks, per day, the newest document (last in order) to map.
func groups[T any](items []*item[T]) map[string]*group[T] {
	m := make(map[string]*group[T])
	for _, it := range items {
		g := m[it.day]
		if g == nil {
			g = &group[T]{}
			m[it.day] = g
		}
		if g.main != nil {
			g.superseded = append(g.superseded, g.main)
		}
		g.main = it
	}
	return m
}

// get returns the mapped document of a group, nil when there is none.
func (g *group[T]) get() *T {
	if g == nil || g.main == nil {
		return nil
	}
	return g.main.v
}

// attachGroup appends a group's documents to a non_structured_data_array.
func attachGroup[T any](nsd health.NonStructuredData, coll string, g *group[T]) health.NonStructuredData {
	if g == nil {
		return nsd
	}
	if g.main != nil {
		nsd = append(nsd, wrap(coll, "", g.main.raw))
	}
	for _, s := range g.superseded {
		nsd = append(nsd, wrap(coll, normkit.RoleSuperseded, s.raw))
	}
	return nsd
}

// attachItems appends documents to a non_structured_data_array.
func attachItems[T any](nsd health.NonStructuredData, coll, role string, items []*item[T]) health.NonStructuredData {
	for _, it := range items {
		nsd = append(nsd, wrap(coll, role, it.raw))
	}
	return nsd
}

// header is the envelope of every document.
func (r *run) header(day string) health.Header {
	return health.Header{ClientUUID: r.opt.ClientUUID, UserID: r.opt.UserID, DocumentVersion: 1, Day: day}
}

// metadata is the metadata of summaries and user_info. Documents share
// the sources slice and the user id: they are read-only once returned.
func (r *run) metadata(at *string) health.Metadata {
	return health.Metadata{Datetime: at, SourcesOfData: r.sources, UserID: r.userID}
}

// eventMetadata is the metadata of events.
func (r *run) eventMetadata(at *string, active *bool) health.EventMetadata {
	return health.EventMetadata{Metadata: r.metadata(at), WasTheUserUnderPhysicalActivity: active}
}

func (r *run) emit(key string, d health.Doc) {
	r.out = append(r.out, Result{Key: key, Doc: d})
}

// build produces every document.
func (r *run) build() {
	r.buildSleep()
	r.buildPhysical()
	r.buildActivityEvents()
	r.buildBody()
	r.buildDailyEvents()
	r.buildPersonal()
}
