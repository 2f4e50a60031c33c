package whoop

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// The offline side of the provider: reading documents back from files
// (`wearlink pull` keeps whoop-<collection>.json, `wearlink normalize`
// takes saved API answers) and telling which collection a file holds. The
// files take the default prefix, "whoop-".

var (
	_ provider.DocumentReader       = (*Provider)(nil)
	_ provider.CollectionRecognizer = (*Provider)(nil)
	_ provider.Tabler               = (*Provider)(nil)
)

// fileRule is what a document of a collection must have, and what it must
// not: a field another collection has and this one never does. Anything
// else WHOOP adds is ignored.
type fileRule struct {
	// required fields, present and not null; an inner list is satisfied by
	// any one of its fields.
	required [][]string
	// foreign fields mark a document of another collection.
	foreign []string
}

func one(names ...string) [][]string {
	out := make([][]string, len(names))
	for i, n := range names {
		out[i] = []string{n}
	}
	return out
}

// fileRules follow the v2 spec's required fields where a file from an
// unknown source needs them to be told apart: a workout has no nap and a
// sleep no sport, a cycle neither (a v1 sleep or workout had a numeric id
// too), a recovery has its sleep's and its cycle's ids.
var fileRules = map[string]fileRule{
	CollCycle:           {required: one("id", "start", "timezone_offset"), foreign: []string{"nap", "sport_name", "sport_id", "sleep_id"}},
	CollSleep:           {required: one("id", "start", "end", "timezone_offset", "nap"), foreign: []string{"sport_name", "sport_id", "sleep_id"}},
	CollWorkout:         {required: append(one("id", "start", "end", "timezone_offset"), []string{"sport_name", "sport_id"}), foreign: []string{"nap", "sleep_id"}},
	CollRecovery:        {required: one("cycle_id", "sleep_id"), foreign: []string{"start", "nap", "sport_name"}},
	CollProfile:         {required: one("user_id", "email")},
	CollBodyMeasurement: {required: one("height_meter", "weight_kilogram")},
}

// ReadDocument implements provider.DocumentReader with the ID and day
// Fetch gives: a cycle's numeric id and the local day it starts, a sleep's
// or a workout's UUID and the local day it ends, each in the record's own
// timezone_offset (loc does not move them); a recovery's sleep_id; the
// profile's user_id; no id for the body measurement; no day for either.
//
// A recovery carries no offset and no time of its own: Fetch gives it its
// sleep's day, which a lone document cannot know. It is given the day its
// created_at falls on in loc (nil: UTC), which is the day its sleep ended
// when loc is the user's zone (WHOOP makes the recovery when the sleep is
// scored, on waking); the normalizer files it under its sleep's day
// whenever the sleep is among the documents.
//
// The document must be a JSON object with the collection's required fields
// and none that mark another collection, decode into the collection's
// model, and have instants and an offset that parse.
func (p *Provider) ReadDocument(coll string, raw json.RawMessage, loc *time.Location) (provider.Document, time.Time, error) {
	doc := provider.Document{Collection: coll, Raw: raw}
	rule, ok := fileRules[coll]
	if !ok {
		return doc, time.Time{}, fmt.Errorf("unknown collection %q", coll)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return doc, time.Time{}, errors.New("not a JSON object")
	}
	at, err := identify(&doc, obj, loc)
	if cerr := checkFields(rule, obj); cerr != nil {
		return doc, at, cerr
	}
	if derr := decodeModel(coll, raw); derr != nil {
		return doc, at, derr
	}
	return doc, at, err
}

// identify fills the document's ID and Day and returns the instant that
// orders it, as far as the fields read; the error names the first that
// does not.
func identify(doc *provider.Document, obj map[string]json.RawMessage, loc *time.Location) (time.Time, error) {
	switch doc.Collection {
	case CollCycle, CollSleep, CollWorkout:
		doc.ID = idText(obj["id"])
	case CollRecovery:
		doc.ID = idText(obj["sleep_id"])
	case CollProfile:
		doc.ID = idText(obj["user_id"])
	}
	// Read from the fields already decoded, not from the document again.
	var f struct {
		Start, End, CreatedAt, UpdatedAt Time
		TimezoneOffset                   string
	}
	for k, v := range map[string]any{"start": &f.Start, "end": &f.End, "created_at": &f.CreatedAt, "updated_at": &f.UpdatedAt,
		"timezone_offset": &f.TimezoneOffset} {
		if raw, ok := obj[k]; ok {
			_ = json.Unmarshal(raw, v)
		}
	}
	for _, t := range []struct {
		name string
		v    Time
	}{{"start", f.Start}, {"end", f.End}, {"created_at", f.CreatedAt}, {"updated_at", f.UpdatedAt}} {
		if t.v == "" {
			continue
		}
		if _, err := t.v.Parse(); err != nil {
			return time.Time{}, fmt.Errorf("%s: %q is not an ISO 8601 timestamp", t.name, string(t.v))
		}
	}
	if f.TimezoneOffset != "" {
		if _, err := ParseOffset(f.TimezoneOffset); err != nil {
			return time.Time{}, fmt.Errorf("timezone_offset: %q is not ±hh:mm", f.TimezoneOffset)
		}
	}
	start, _ := f.Start.Parse()
	var err error
	switch doc.Collection {
	case CollCycle:
		doc.Day, err = LocalDay(f.Start, f.TimezoneOffset)
		return start, err
	case CollSleep, CollWorkout:
		doc.Day, err = LocalDay(f.End, f.TimezoneOffset)
		return start, err
	case CollRecovery:
		created, cerr := f.CreatedAt.Parse()
		if cerr != nil {
			return time.Time{}, nil // no day: the normalizer takes its sleep's
		}
		if loc == nil {
			loc = time.UTC
		}
		doc.Day = created.In(loc).Format(time.DateOnly)
		return created, nil
	}
	return time.Time{}, nil
}

// present is true when obj has key with a value other than null.
func present(obj map[string]json.RawMessage, key string) bool {
	v, ok := obj[key]
	return ok && string(v) != "null"
}

func checkFields(rule fileRule, obj map[string]json.RawMessage) error {
	for _, alts := range rule.required {
		found := false
		for _, k := range alts {
			found = found || present(obj, k)
		}
		if !found {
			quoted := make([]string, len(alts))
			for i, k := range alts {
				quoted[i] = strconv.Quote(k)
			}
			return fmt.Errorf("missing %s (does the file hold another collection?)", strings.Join(quoted, " or "))
		}
	}
	for _, k := range rule.foreign {
		if present(obj, k) {
			return fmt.Errorf("has %q, which this collection never has (does the file hold another collection?)", k)
		}
	}
	return nil
}

// decodeModel decodes raw into coll's model, which checks the types.
func decodeModel(coll string, raw json.RawMessage) error {
	var v any
	switch coll {
	case CollCycle:
		v = new(Cycle)
	case CollSleep:
		v = new(Sleep)
	case CollWorkout:
		v = new(Workout)
	case CollRecovery:
		v = new(Recovery)
	case CollProfile:
		v = new(UserBasicProfile)
	case CollBodyMeasurement:
		v = new(UserBodyMeasurement)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		// Drop encoding/json's "json: " prefix: the caller says which file
		// and document it is about.
		if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
			return errors.New(msg)
		}
		return err
	}
	return nil
}

// collectionAliases are the names a person or a file may use for each
// collection, after lower-casing and turning "/", "-", "." and spaces into
// "_": WHOOP's resource names, the API's paths (activity/sleep,
// profile/basic, measurement/body, with or without user/), the plurals of
// the scopes (read:cycles) and the collection names themselves.
var collectionAliases = map[string]string{
	"cycle": CollCycle, "cycles": CollCycle,
	"sleep": CollSleep, "sleeps": CollSleep, "activity_sleep": CollSleep,
	"recovery": CollRecovery, "recoveries": CollRecovery,
	"workout": CollWorkout, "workouts": CollWorkout, "activity_workout": CollWorkout,
	"profile": CollProfile, "profile_basic": CollProfile, "user_profile_basic": CollProfile, "basic_profile": CollProfile,
	"body_measurement": CollBodyMeasurement, "body_measurements": CollBodyMeasurement, "measurement_body": CollBodyMeasurement,
	"user_measurement_body": CollBodyMeasurement, "body": CollBodyMeasurement,
}

var nameSeparators = strings.NewReplacer("/", "_", "-", "_", ".", "_", " ", "_")

// CollectionNamed implements provider.CollectionRecognizer: any of
// collectionAliases in any letter case, after an optional "whoop-" (or
// "whoop_") file prefix and an optional v2/ (or developer/v2/) path
// prefix.
func (p *Provider) CollectionNamed(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, prefix := range []string{DataSource + "-", DataSource + "_"} {
		if s, ok := strings.CutPrefix(n, prefix); ok {
			n = s
			break
		}
	}
	n = strings.Trim(n, "/")
	n = strings.TrimPrefix(n, "developer/")
	for _, v := range []string{"v2/", "v1/"} {
		n = strings.TrimPrefix(n, v)
	}
	c, ok := collectionAliases[nameSeparators.Replace(n)]
	return c, ok
}

// CollectionOf implements provider.CollectionRecognizer by shape, document
// by document: every document must be recognised as the same collection.
func (p *Provider) CollectionOf(docs []json.RawMessage) (string, bool) {
	if len(docs) == 0 {
		return "", false
	}
	coll := ""
	for _, raw := range docs {
		c := shapeOf(raw)
		if c == "" || (coll != "" && c != coll) {
			return "", false
		}
		coll = c
	}
	return coll, true
}

// shapeOf recognises one document by its fields: a recovery has cycle_id
// and sleep_id and no time of its own; the profile an email and a first
// name; the body measurement height_meter; of the records with a start, a
// sleep has nap or a stage summary in its score, a workout a sport or zone
// durations in its score, a cycle a numeric id and neither (its score, if
// any, has strain). A document that fits none, or more than one, is "".
func shapeOf(raw json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return ""
	}
	var score map[string]json.RawMessage
	_ = json.Unmarshal(obj["score"], &score)
	inScore := func(k string) bool { return present(score, k) }

	var fits []string
	if present(obj, "cycle_id") && present(obj, "sleep_id") && !present(obj, "start") {
		fits = append(fits, CollRecovery)
	}
	if present(obj, "email") && (present(obj, "first_name") || present(obj, "user_id")) && !present(obj, "start") {
		fits = append(fits, CollProfile)
	}
	if present(obj, "height_meter") && !present(obj, "start") {
		fits = append(fits, CollBodyMeasurement)
	}
	if present(obj, "start") {
		sleepish := present(obj, "nap") || inScore("stage_summary") || inScore("sleep_needed")
		workoutish := present(obj, "sport_name") || present(obj, "sport_id") || inScore("zone_durations")
		numericID := false
		if id, ok := obj["id"]; ok {
			var n int64
			numericID = json.Unmarshal(id, &n) == nil
		}
		switch {
		case sleepish && !workoutish:
			fits = append(fits, CollSleep)
		case workoutish && !sleepish:
			fits = append(fits, CollWorkout)
		case !sleepish && !workoutish && numericID && (score == nil || inScore("strain")):
			fits = append(fits, CollCycle)
		}
	}
	if len(fits) != 1 {
		return ""
	}
	return fits[0]
}

// TableWorkoutZones is the long table of workout heart-rate zones.
const TableWorkoutZones = "workout_heart_rate_zones"

func cellString(s string) provider.Cell { return provider.Cell{Kind: provider.CellString, Text: s} }
func cellNumber(s string) provider.Cell { return provider.Cell{Kind: provider.CellNumber, Text: s} }

// Tables implements provider.Tabler: the time each scored workout spent in
// each of WHOOP's six heart-rate zones (0 to 5, by share of the maximum
// heart rate), one row per workout and zone, in the order of docs. WHOOP's
// API has no finer samples; loc is not needed, every workout carries its
// own offset.
func (p *Provider) Tables(docs []provider.Document, _ *time.Location) []provider.Table {
	t := provider.Table{Name: TableWorkoutZones,
		Columns: []string{"workout_id", "day", "start", "sport_name", "zone", "duration_milli"}}
	for _, d := range docs {
		if d.Collection != CollWorkout {
			continue
		}
		var w Workout
		if json.Unmarshal(d.Raw, &w) != nil || w.Score == nil {
			continue
		}
		day, err := w.Day()
		if err != nil {
			continue
		}
		start := string(w.Start)
		if s, err := w.Start.Parse(); err == nil {
			if l, err := ParseOffset(w.TimezoneOffset); err == nil {
				start = s.In(l).Format(time.RFC3339Nano)
			}
		}
		z := w.Score.ZoneDurations
		for zone, ms := range []int64{z.ZoneZeroMilli, z.ZoneOneMilli, z.ZoneTwoMilli, z.ZoneThreeMilli, z.ZoneFourMilli, z.ZoneFiveMilli} {
			t.Rows = append(t.Rows, []provider.Cell{cellString(w.ID), cellString(day), cellString(start),
				cellString(w.SportName), cellNumber(strconv.Itoa(zone)), cellNumber(strconv.FormatInt(ms, 10))})
		}
	}
	return []provider.Table{t}
}
