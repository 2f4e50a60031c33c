package withings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// The offline side of the provider: reading documents back from files
// (`wearlink pull` keeps withings-<collection>.json, `wearlink normalize`
// takes saved API answers) and telling which collection a file holds.

var (
	_ provider.DocumentReader       = (*Provider)(nil)
	_ provider.CollectionRecognizer = (*Provider)(nil)
	_ provider.FileNamer            = (*Provider)(nil)
)

// FilePrefix implements provider.FileNamer.
func (p *Provider) FilePrefix() string { return DataSource + "-" }

// ReadDocument implements provider.DocumentReader with the ID and day
// Fetch gives (doc.go). A measure group or a sleep segment without a
// "timezone" is placed on a day in loc (nil: UTC); Fetch copies the
// answer's zone into each group, so a group from `wearlink pull` has one.
func (p *Provider) ReadDocument(coll string, raw json.RawMessage, loc *time.Location) (provider.Document, time.Time, error) {
	doc := provider.Document{Collection: coll, Raw: raw}
	if _, ok := answerKeys[coll]; !ok {
		return doc, time.Time{}, fmt.Errorf("unknown collection %q", coll)
	}
	obj, err := object(raw)
	if err != nil {
		return doc, time.Time{}, err
	}
	if _, env := obj["status"]; env {
		if _, body := obj["body"]; body {
			return doc, time.Time{}, errors.New(`an enveloped answer {"status","body"}, not one document: split it first`)
		}
	}
	at, err := identify(&doc, obj, loc)
	if err != nil {
		return doc, at, err
	}
	if got := shapeOf(obj); got != coll {
		if got == "" {
			return doc, at, fmt.Errorf("not a %s document: its fields fit no collection", coll)
		}
		return doc, at, fmt.Errorf("not a %s document: its fields are a %s's", coll, got)
	}
	return doc, at, nil
}

// collectionNames are the names a person or a file may give a
// collection besides its own: the action that reads it and the list its
// answer holds it in.
var collectionNames = map[string]string{
	"getmeas": CollMeasure, "measures": CollMeasure, "measuregrps": CollMeasure, "measurement": CollMeasure,
	"measurements": CollMeasure,
	"getactivity":  CollActivity, "activities": CollActivity,
	"getworkouts": CollWorkout, "workouts": CollWorkout,
	"getsummary": CollSleepSummary, "sleep-summary": CollSleepSummary, "sleepsummary": CollSleepSummary,
	"sleep_summaries": CollSleepSummary,
	"sleep-series":    CollSleep, "sleep_series": CollSleep,
	"getdevice": CollDevice, "devices": CollDevice,
}

// CollectionNamed implements provider.CollectionRecognizer.
func (p *Provider) CollectionNamed(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, p.FilePrefix())
	if _, ok := answerKeys[n]; ok {
		return n, true
	}
	c, ok := collectionNames[n]
	return c, ok
}

// CollectionOf implements provider.CollectionRecognizer: every document
// must be of the same collection. A whole saved answer (an envelope) is
// recognised by its objects, though its documents must be split out of it
// (SplitFile) before they are read.
func (p *Provider) CollectionOf(docs []json.RawMessage) (string, bool) {
	if len(docs) == 1 {
		if c, _, ok, err := SplitAnswer(docs[0]); ok && err == nil {
			return c, true
		}
	}
	return collectionOf(docs)
}

// SplitFile reads a saved answer (an envelope, or a bare list of measure
// groups) into its documents, with where naming document i's place in the
// file. ok is false when the file is neither, so the caller splits it its
// own way (a list of documents, as `wearlink pull` keeps them).
func (p *Provider) SplitFile(data []byte) (docs []json.RawMessage, where func(int) string, ok bool, err error) {
	coll, docs, ok, err := SplitAnswer(data)
	if !ok || err != nil {
		return nil, nil, ok, err
	}
	key := "body." + answerKeys[coll]
	if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "[") {
		key = ""
	}
	return docs, func(i int) string { return fmt.Sprintf("%s[%d]", key, i) }, true, nil
}

func collectionOf(docs []json.RawMessage) (string, bool) {
	if len(docs) == 0 {
		return "", false
	}
	coll := ""
	for _, raw := range docs {
		obj, err := object(raw)
		if err != nil {
			return "", false
		}
		c := shapeOf(obj)
		if c == "" || (coll != "" && c != coll) {
			return "", false
		}
		coll = c
	}
	return coll, true
}

func present(obj map[string]json.RawMessage, key string) bool {
	v, ok := obj[key]
	return ok && string(v) != "null"
}

func presentAny(obj map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if present(obj, k) {
			return true
		}
	}
	return false
}

// shapeOf recognises one object by its fields: a measure group has grpid
// and measures; a sleep segment a state between two instants and no id;
// an activity a day and no instants; of the objects with an id, a day and
// instants, a workout has a category or workout data, a sleep summary
// neither; a device a type and a model and no day. One that fits none
// or several is "".
func shapeOf(obj map[string]json.RawMessage) string {
	var data map[string]json.RawMessage
	_ = json.Unmarshal(obj["data"], &data)
	var fits []string
	if present(obj, "grpid") && present(obj, "measures") {
		fits = append(fits, CollMeasure)
	}
	timed := present(obj, "startdate") && present(obj, "enddate")
	if timed && present(obj, "state") && !present(obj, "id") && !present(obj, "date") {
		fits = append(fits, CollSleep)
	}
	if present(obj, "date") && !timed && !presentAny(obj, "id", "grpid", "measures") {
		var day string
		if json.Unmarshal(obj["date"], &day) == nil && day != "" {
			fits = append(fits, CollActivity)
		}
	}
	if timed && present(obj, "id") && present(obj, "date") {
		sleepish := presentAny(data, "total_timeinbed", "total_sleep_time", "wakeupcount", "deepsleepduration",
			"lightsleepduration", "remsleepduration", "sleep_score", "durationtosleep", "wakeupduration", "waso",
			"sleep_efficiency", "asleepduration")
		workoutish := present(obj, "category") || presentAny(data, "intensity", "manual_intensity", "pause_duration",
			"manual_calories", "manual_distance", "pool_laps", "strokes")
		// A summary read without data_fields has no sleep data, and
		// never a category.
		switch {
		case workoutish && !sleepish:
			fits = append(fits, CollWorkout)
		case !workoutish:
			fits = append(fits, CollSleepSummary)
		}
	}
	if presentAny(obj, "hash_deviceid", "deviceid") && present(obj, "type") && present(obj, "model") &&
		!presentAny(obj, "date", "startdate", "grpid") {
		fits = append(fits, CollDevice)
	}
	if len(fits) != 1 {
		return ""
	}
	return fits[0]
}
