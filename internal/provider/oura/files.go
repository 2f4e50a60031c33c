package oura

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

var (
	_ provider.DocumentReader       = (*Provider)(nil)
	_ provider.CollectionRecognizer = (*Provider)(nil)
	_ provider.FileNamer            = (*Provider)(nil)
)

// FilePrefix is how Open Humans names the files of its Oura exports
// (oura-v2-sleep.json); `wearlink pull` keeps that name.
const FilePrefix = "oura-v2-"

// FilePrefix implements provider.FileNamer.
func (p *Provider) FilePrefix() string { return FilePrefix }

// orderFields are the fields that identify a document and place it in
// time.
type orderFields struct {
	ID            string `json:"id"`
	Day           string `json:"day"`
	StartDay      string `json:"start_day"`
	Timestamp     string `json:"timestamp"`
	BedtimeStart  string `json:"bedtime_start"`
	StartDatetime string `json:"start_datetime"`
	StartTime     string `json:"start_time"`
}

// ReadDocument implements provider.DocumentReader. The ID is the id, or
// the timestamp of a time-series row; the day is the document's day (or
// start_day), else the day of its first instant in loc. A document is
// checked as strictly as a file from an unknown source needs: the
// collection's required fields are there and not null, at least one field
// is the collection's, it decodes into the collection's model, and every
// day and timestamp in it parses.
//
// It decodes the document once, into the model, which it keeps in
// Decoded (a pointer to the model) for Tables and the normalizer, and reads
// the top-level fields from the bytes: ReadDocument runs on every document
// a pull fetches.
func (p *Provider) ReadDocument(coll string, raw json.RawMessage, loc *time.Location) (provider.Document, time.Time, error) {
	c, ok := LookupCollection(coll)
	if !ok {
		return provider.Document{Collection: coll, Raw: raw}, time.Time{}, fmt.Errorf("unknown collection %q", coll)
	}
	if c.Name == CollHeartRate {
		if doc, at, err, ok := readHeartRate(c, raw, loc); ok {
			return doc, at, err
		}
	}
	return readDocument(c, raw, loc)
}

// readDocument is ReadDocument for any collection, through encoding/json.
func readDocument(c Collection, raw json.RawMessage, loc *time.Location) (provider.Document, time.Time, error) {
	model := reflect.New(c.Model)
	modelErr := json.Unmarshal(raw, model.Interface())
	var fields []topField
	isObject := false
	if _, invalid := modelErr.(*json.SyntaxError); !invalid {
		var buf [16]topField
		fields, isObject = topFields(raw, buf[:])
	}
	doc, at := identify(c, raw, readOrderFields(raw, fields, isObject), loc)
	if !isObject {
		return doc, at, errors.New("not a JSON object")
	}
	if modelErr == nil {
		doc.Decoded = model.Interface()
	}
	return doc, at, checkDocument(c, fields, model, modelErr)
}

// readOrderFields takes the order fields from a document's top-level
// fields, as decoding the document into orderFields would: a field that is
// not a string stays empty, the last of repeated keys wins. A key that
// matches one only when letter case is ignored, which encoding/json also
// accepts, is left to encoding/json itself.
func readOrderFields(raw json.RawMessage, fields []topField, isObject bool) orderFields {
	var f orderFields
	if !isObject {
		return f
	}
	slots := [...]struct {
		name string
		dst  *string
	}{{"id", &f.ID}, {"day", &f.Day}, {"start_day", &f.StartDay}, {"timestamp", &f.Timestamp},
		{"bedtime_start", &f.BedtimeStart}, {"start_datetime", &f.StartDatetime}, {"start_time", &f.StartTime}}
	for _, fl := range fields {
		var dst *string
		for _, sl := range slots {
			if string(fl.key) == sl.name {
				dst = sl.dst
				break
			}
		}
		if dst == nil {
			for _, sl := range slots {
				if bytes.EqualFold(fl.key, []byte(sl.name)) {
					f = orderFields{}
					_ = json.Unmarshal(raw, &f)
					return f
				}
			}
			continue
		}
		// Anything but a string (null, or a type decoding refuses) leaves
		// the field as it was.
		if fl.value[0] == '"' {
			*dst = string(jsonString(fl.value))
		}
	}
	return f
}

// identify reads what keys a document and orders it, as far as it can.
func identify(c Collection, raw json.RawMessage, f orderFields, loc *time.Location) (provider.Document, time.Time) {
	d := provider.Document{Collection: c.Name, ID: f.ID, Day: f.Day, Raw: raw}
	var at time.Time
	for _, s := range []string{f.Timestamp, f.BedtimeStart, f.StartDatetime, f.StartTime} {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			at = t
			break
		}
	}
	if d.Day == "" {
		d.Day = f.StartDay
	}
	if d.Day == "" && !at.IsZero() {
		t := at
		if loc != nil {
			t = at.In(loc)
		}
		d.Day = t.Format(time.DateOnly)
	}
	switch c.Range {
	case RangeDateTime:
		d.ID = f.Timestamp
	case RangeNone, RangeSingleton:
		d.Day = ""
	}
	return d, at
}

// checkDocument checks one document of collection c from its top-level
// fields and its model, decoded with modelErr.
func checkDocument(c Collection, fields []topField, model reflect.Value, modelErr error) error {
	if err := checkFields(c, fields); err != nil {
		return err
	}
	if modelErr != nil {
		// Drop encoding/json's "json: " prefix: the caller says which file
		// and document it is about.
		if msg, ok := strings.CutPrefix(modelErr.Error(), "json: "); ok {
			return errors.New(msg)
		}
		return modelErr
	}
	return checkTimes(model, "")
}

// checkFields checks that a document's top-level fields are those of
// collection c: its required ones not null, and at least one of its
// model's.
func checkFields(c Collection, fields []topField) error {
	for _, k := range c.Required {
		var v []byte
		for _, f := range fields {
			if string(f.key) == k {
				v = f.value // the last one, as in a map
			}
		}
		if v == nil || string(v) == "null" {
			return fmt.Errorf("missing %q (does the file hold another collection?)", k)
		}
	}
	known := modelKeys[c.Name]
	if !slices.ContainsFunc(fields, func(f topField) bool { return known[string(f.key)] }) {
		return errors.New("none of the collection's fields (does the file hold another collection?)")
	}
	return nil
}

// CollectionNamed implements provider.CollectionRecognizer: a collection's
// path name or webhook data type in any letter case, after an optional
// oura-v2- (or oura_v2_) prefix, and heart_rate for heartrate (the only
// collection whose path name is not snake case).
func (p *Provider) CollectionNamed(name string) (string, bool) {
	lower := strings.ToLower(name)
	for _, prefix := range []string{FilePrefix, "oura_v2_"} {
		if strings.HasPrefix(lower, prefix) {
			name = name[len(prefix):]
			break
		}
	}
	if c, ok := LookupCollection(name); ok {
		return c.Name, true
	}
	for _, c := range collections {
		if strings.EqualFold(name, c.Name) || (c.DataType != "" && strings.EqualFold(name, string(c.DataType))) {
			return c.Name, true
		}
	}
	if strings.EqualFold(name, "heart_rate") {
		return CollHeartRate, true
	}
	return "", false
}

// CollectionOf implements provider.CollectionRecognizer. A collection fits
// when every document has its required fields and at least one of its
// model's; among those that fit, the one whose model leaves the fewest of
// the documents' fields unknown wins, then the one with the fewest of its
// own fields missing from the documents (daily_sleep's fields are a subset
// of daily_readiness's).
func (p *Provider) CollectionOf(docs []json.RawMessage) (string, bool) {
	if len(docs) == 0 {
		return "", false
	}
	objs := make([]map[string]json.RawMessage, len(docs))
	for i, raw := range docs {
		if err := json.Unmarshal(raw, &objs[i]); err != nil || objs[i] == nil {
			return "", false
		}
	}
	best, tie := "", false
	var bestUnknown, bestAbsent int
	for _, c := range collections {
		known := modelKeys[c.Name]
		unknown, absent, fits := 0, 0, true
		for _, o := range objs {
			for _, k := range c.Required {
				if v, ok := o[k]; !ok || string(v) == "null" {
					fits = false
				}
			}
			hit := false
			for k := range o {
				if known[k] {
					hit = true
				} else {
					unknown++
				}
			}
			for k := range known {
				if _, ok := o[k]; !ok {
					absent++
				}
			}
			if !hit || !fits {
				fits = false
				break
			}
		}
		if !fits {
			continue
		}
		switch {
		case best == "" || unknown < bestUnknown || (unknown == bestUnknown && absent < bestAbsent):
			best, bestUnknown, bestAbsent, tie = c.Name, unknown, absent, false
		case unknown == bestUnknown && absent == bestAbsent:
			tie = true
		}
	}
	if best == "" || tie {
		return "", false
	}
	return best, true
}

// modelKeys holds the top-level JSON names of each collection's model,
// derived once from the collection table.
var modelKeys = func() map[string]map[string]bool {
	m := make(map[string]map[string]bool, len(collections))
	for _, c := range collections {
		m[c.Name] = jsonKeys(c.Model)
	}
	return m
}()

// jsonKeys lists the top-level JSON names of a model.
func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for f := range t.Fields() {
		if name := jsonName(f); name != "" {
			keys[name] = true
		}
	}
	return keys
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

var (
	dateType     = reflect.TypeFor[Date]()
	dateTimeType = reflect.TypeFor[DateTime]()
)

// checkTimes rejects a day or timestamp that does not parse, anywhere in a
// decoded document, so the error can name the document rather than surface
// later without it.
func checkTimes(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkTimes(v.Elem(), path)
	case reflect.Slice:
		if !mayHoldTimes(v.Type().Elem()) {
			// Samples (numbers): nothing to check in them, and a path
			// formatted per element would cost more than the decoding.
			return nil
		}
		for i := range v.Len() {
			if err := checkTimes(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			name := jsonName(v.Type().Field(i))
			if name == "" {
				continue
			}
			if path != "" {
				name = path + "." + name
			}
			if err := checkTimes(v.Field(i), name); err != nil {
				return err
			}
		}
	case reflect.String:
		s := v.String()
		if s == "" {
			return nil
		}
		switch v.Type() {
		case dateType:
			if _, err := Date(s).Time(); err != nil {
				return fmt.Errorf("%s: %q is not a YYYY-MM-DD day", path, s)
			}
		case dateTimeType:
			if _, err := DateTime(s).Time(); err != nil {
				return fmt.Errorf("%s: %q is not an ISO 8601 timestamp", path, s)
			}
		}
	}
	return nil
}

// mayHoldTimes reports whether a value of type t can hold a day or a
// timestamp that checkTimes would look at.
func mayHoldTimes(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return mayHoldTimes(t.Elem())
	case reflect.Struct:
		for f := range t.Fields() {
			if jsonName(f) != "" && mayHoldTimes(f.Type) {
				return true
			}
		}
	case reflect.String:
		return t == dateType || t == dateTimeType
	}
	return false
}
