package withings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Splitting answers into stored documents: one object of an answer per
// document, with the ID and local day doc.go gives each collection.

// badRecord reports an object Withings sent that cannot be identified or
// placed on a day.
func badRecord(coll, id string, err error) error {
	return &provider.Error{Kind: provider.KindServer, Err: fmt.Errorf("withings %s %s: %w", coll, id, err)}
}

// numberText is a JSON number's digits or a JSON string's text, "" else:
// Withings sends ids as numbers, and some clients save them as strings.
func numberText(raw json.RawMessage) string {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// epochField reads an epoch-seconds field.
func epochField(obj map[string]json.RawMessage, key string) (time.Time, error) {
	raw, ok := obj[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return time.Time{}, fmt.Errorf("no %q", key)
	}
	n, err := strconv.ParseInt(numberText(raw), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %s is not epoch seconds", key, raw)
	}
	return time.Unix(n, 0), nil
}

// stringField reads a string field; "" when absent or null.
func stringField(obj map[string]json.RawMessage, key string) string {
	var s string
	_ = json.Unmarshal(obj[key], &s)
	return s
}

// dayField reads a YYYY-MM-DD field.
func dayField(obj map[string]json.RawMessage, key string) (string, error) {
	s := stringField(obj, key)
	if s == "" {
		return "", fmt.Errorf("no %q", key)
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("%s: %q is not YYYY-MM-DD", key, s)
	}
	return s, nil
}

// zoneOf is the object's own "timezone", else loc, else UTC.
func zoneOf(obj map[string]json.RawMessage, loc *time.Location) (*time.Location, error) {
	if tz := stringField(obj, "timezone"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("timezone: %q is not an IANA zone", tz)
		}
		return l, nil
	}
	if loc != nil {
		return loc, nil
	}
	return time.UTC, nil
}

func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("not a JSON object")
	}
	return obj, nil
}

// withTimezone returns a group with "timezone" set to tz when it has none,
// the rest of its bytes untouched.
func withTimezone(raw json.RawMessage, obj map[string]json.RawMessage, tz string) json.RawMessage {
	if tz == "" || stringField(obj, "timezone") != "" {
		return raw
	}
	val, _ := json.Marshal(tz)
	if _, had := obj["timezone"]; had {
		// A null zone: replace the field rather than send it twice.
		cp := make(map[string]json.RawMessage, len(obj))
		for k, v := range obj {
			cp[k] = v
		}
		cp["timezone"] = val
		b, _ := json.Marshal(cp)
		return b
	}
	rest := bytes.TrimSpace(bytes.TrimSpace(raw)[1:])
	out := append([]byte(`{"timezone":`), val...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// identify gives a document of coll its ID and Day from its own fields and
// returns the instant that orders it (zero when it has none). loc places
// instants of objects without a zone (nil: UTC).
func identify(doc *provider.Document, obj map[string]json.RawMessage, loc *time.Location) (time.Time, error) {
	switch doc.Collection {
	case CollMeasure:
		doc.ID = numberText(obj["grpid"])
		if doc.ID == "" {
			return time.Time{}, errors.New(`no "grpid"`)
		}
		at, err := epochField(obj, "date")
		if err != nil {
			return time.Time{}, err
		}
		z, err := zoneOf(obj, loc)
		if err != nil {
			return at, err
		}
		doc.Day = at.In(z).Format(time.DateOnly)
		if heightOnly(obj) {
			// A height is typed in once and holds for every later
			// weigh-in (BMI): kept with no day, so that the
			// normalization of any day sees it, as undated documents are
			// read with every span.
			doc.Day = ""
		}
		return at, nil
	case CollActivity:
		day, err := dayField(obj, "date")
		doc.ID, doc.Day = day, day
		return time.Time{}, err
	case CollWorkout, CollSleepSummary:
		doc.ID = numberText(obj["id"])
		day, err := dayField(obj, "date")
		doc.Day = day
		if doc.ID == "" {
			return time.Time{}, errors.New(`no "id"`)
		}
		if err != nil {
			return time.Time{}, err
		}
		at, _ := epochField(obj, "startdate")
		return at, nil
	case CollSleep:
		start, err := epochField(obj, "startdate")
		if err != nil {
			return time.Time{}, err
		}
		doc.ID = strconv.FormatInt(start.Unix(), 10)
		end, err := epochField(obj, "enddate")
		if err != nil {
			return start, err
		}
		if end.Before(start) {
			return start, errors.New("enddate before startdate")
		}
		z, err := zoneOf(obj, loc)
		if err != nil {
			return start, err
		}
		doc.Day = end.In(z).Format(time.DateOnly)
		return start, nil
	case CollDevice:
		doc.ID = stringField(obj, "hash_deviceid")
		if doc.ID == "" {
			doc.ID = stringField(obj, "deviceid")
		}
		if doc.ID == "" {
			return time.Time{}, errors.New(`no "hash_deviceid" or "deviceid"`)
		}
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("unknown collection %q", doc.Collection)
}

// heightOnly reports whether a measure group holds a height (type 4) and
// nothing else.
func heightOnly(obj map[string]json.RawMessage) bool {
	var ms []struct {
		Type json.Number `json:"type"`
	}
	if json.Unmarshal(obj["measures"], &ms) != nil || len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if m.Type.String() != "4" {
			return false
		}
	}
	return true
}

// documents makes documents of coll from an answer's objects. bodyTZ is
// the answer's zone (getmeas), copied into each object that lacks one so
// that the stored document stands alone.
func documents(coll string, raws []json.RawMessage, bodyTZ string, loc *time.Location) ([]provider.Document, error) {
	out := make([]provider.Document, 0, len(raws))
	for i, raw := range raws {
		obj, err := object(raw)
		if err != nil {
			return out, badRecord(coll, fmt.Sprintf("[%d]", i), err)
		}
		if coll == CollMeasure && bodyTZ != "" && stringField(obj, "timezone") == "" {
			raw = withTimezone(raw, obj, bodyTZ)
			if obj, err = object(raw); err != nil {
				return out, badRecord(coll, fmt.Sprintf("[%d]", i), err)
			}
		}
		d := provider.Document{Collection: coll, Raw: raw}
		if _, err := identify(&d, obj, loc); err != nil {
			id := d.ID
			if id == "" {
				id = fmt.Sprintf("[%d]", i)
			}
			return out, badRecord(coll, id, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// MeasureDocuments splits a getmeas answer: one document per measure
// group, the answer's timezone copied into each group without one.
func MeasureDocuments(m Measures, loc *time.Location) ([]provider.Document, error) {
	return documents(CollMeasure, m.Groups, m.Timezone, loc)
}

// Documents splits the objects of one collection's answer (activities,
// workouts, sleep summaries, sleep segments, devices; measure groups
// already carrying their zone). loc places the instants of objects without
// a zone (sleep segments) on days; nil: UTC.
func Documents(coll string, raws []json.RawMessage, loc *time.Location) ([]provider.Document, error) {
	return documents(coll, raws, "", loc)
}

// answerKeys are the list each collection's answer carries its objects in.
var answerKeys = map[string]string{
	CollMeasure: "measuregrps", CollActivity: "activities", CollDevice: "devices",
	CollWorkout: "series", CollSleepSummary: "series", CollSleep: "series",
}

// SplitAnswer reads one saved answer: an envelope {"status":0,"body":...}
// of any action wearlink stores, or a bare list of measure groups. It
// recognises the action by the shape of the objects, and returns their
// raw documents (measure groups with the body's zone copied in) and
// their collection. ok is false when data is neither; an envelope with a
// non-zero status is an error, never an empty result.
func SplitAnswer(data []byte) (coll string, docs []json.RawMessage, ok bool, err error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", nil, false, nil
	}
	if trimmed[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(trimmed, &list) != nil || len(list) == 0 {
			return "", nil, false, nil
		}
		c, fits := collectionOf(list)
		if !fits || c != CollMeasure {
			return "", nil, false, nil
		}
		return CollMeasure, list, true, nil
	}
	var env struct {
		Status *int            `json:"status"`
		Body   json.RawMessage `json:"body"`
		Error  string          `json:"error"`
	}
	if json.Unmarshal(trimmed, &env) != nil || env.Status == nil {
		return "", nil, false, nil
	}
	if *env.Status != StatusOK {
		return "", nil, true, &Error{Kind: KindOfStatus(*env.Status), Status: *env.Status, Detail: detail(env.Error)}
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(env.Body, &body) != nil || body == nil {
		return "", nil, true, errors.New("status 0 without a body object")
	}
	tz := stringField(body, "timezone")
	for _, key := range []string{"measuregrps", "activities", "devices", "series"} {
		rawList, has := body[key]
		if !has {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(rawList, &list); err != nil {
			return "", nil, true, fmt.Errorf("body.%s: %w", key, err)
		}
		switch key {
		case "measuregrps":
			coll = CollMeasure
		case "activities":
			coll = CollActivity
		case "devices":
			coll = CollDevice
		default:
			// series is the list of three actions: tell them apart by
			// their objects. An empty one cannot be told.
			c, fits := collectionOf(list)
			if !fits {
				if len(list) == 0 {
					// Which of them it answers cannot be told, and
					// does not matter: it holds nothing.
					return "", []json.RawMessage{}, true, nil
				}
				return "", nil, true, errors.New("body.series: objects of no single collection")
			}
			coll = c
		}
		if coll == CollMeasure {
			for i, raw := range list {
				if obj, err := object(raw); err == nil {
					list[i] = withTimezone(raw, obj, tz)
				}
			}
		}
		return coll, list, true, nil
	}
	return "", nil, true, errors.New("body holds none of measuregrps, activities, devices, series")
}
