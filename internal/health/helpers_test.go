package health

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Values the fully populated examples use. Datetimes keep an offset, as
// normalized Oura data does.
const (
	testClientUUID = "6f1a3c52-9d4e-4b7a-8c21-0e5d9f3a7b10"
	testUserID     = "user-42"
	testDay        = "2024-12-01"
	testDatetime   = "2024-12-01T23:18:33.000000+01:00"
)

var rawMessageType = reflect.TypeOf(json.RawMessage{})

// fullExample returns the structure's document with every field set: every
// pointer non-nil, every array with one item, so that a field missing from
// our types, a misspelled key or a wrong type shows up in validation.
func fullExample(t *testing.T, s Structure) Doc {
	t.Helper()
	d := s.New()
	fill(reflect.ValueOf(d).Elem(), "")
	*d.Envelope() = Header{ClientUUID: testClientUUID, UserID: testUserID, DocumentVersion: 3, Day: testDay}
	return d
}

// fill sets v (and everything under it) to a non-zero value chosen from the
// JSON name of the field holding it.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), name)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fill(v.Field(i), tag)
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			v.SetBytes([]byte(`{"source_id":"oura-1","score":85}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name)
		v.Set(s)
	case reflect.String:
		switch {
		case strings.HasSuffix(name, "datetime_string"):
			v.SetString(testDatetime)
		case strings.HasSuffix(name, "date_string"):
			v.SetString(testDay)
		case name == "user_id_string":
			v.SetString(testUserID)
		case name == "sources_of_data_array":
			v.SetString("Oura")
		default:
			v.SetString("text")
		}
	case reflect.Int:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	}
}

// withOneEmptyEvent returns the structure's empty document; for events it
// holds one zero record, so that the record's keys are emitted too.
func withOneEmptyEvent(s Structure) Doc {
	d := s.New()
	if f := reflect.ValueOf(d).Elem().FieldByName("Events"); f.IsValid() {
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	}
	*d.Envelope() = Header{ClientUUID: testClientUUID, UserID: testUserID, DocumentVersion: 1, Day: testDay}
	return d
}

// decodeAny unmarshals b into plain maps, slices and float64s.
func decodeAny(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, b)
	}
	return m
}

// stripNulls removes null members, because ROOK's schema marks nothing
// nullable although ROOK sends null for unknown values.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = stripNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, stripNulls(e))
			}
		}
		return out
	}
	return v
}

// jsonPaths collects the path of every key in v (dots between names, "[]"
// into array items), not descending into non_structured_data_array, whose
// items are free-form.
func jsonPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := joinPath(prefix, k)
			out[p] = true
			if k != "non_structured_data_array" {
				jsonPaths(e, p, out)
			}
		}
	case []any:
		for _, e := range x {
			jsonPaths(e, prefix+"[]", out)
		}
	}
}

// nonNullLeaves lists the paths of values in v that are not null, below
// the given keys.
func nonNullLeaves(v any, prefix string, out *[]string) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range x {
			nonNullLeaves(e, joinPath(prefix, k), out)
		}
	case []any:
		for _, e := range x {
			nonNullLeaves(e, prefix+"[]", out)
		}
	default:
		*out = append(*out, prefix)
	}
}

// nullLeaves lists the paths of null values in v.
func nullLeaves(v any, prefix string, out *[]string) {
	switch x := v.(type) {
	case nil:
		*out = append(*out, prefix)
	case map[string]any:
		for k, e := range x {
			nullLeaves(e, joinPath(prefix, k), out)
		}
	case []any:
		for _, e := range x {
			nullLeaves(e, prefix+"[]", out)
		}
	}
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// difference returns the sorted keys of a that are not in b.
func difference(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// dig follows a Typo-style path ("a.b[].c") through decoded JSON, taking
// the first item of arrays, and returns the object found there.
func dig(v any, path string) (map[string]any, bool) {
	for _, seg := range strings.Split(path, ".") {
		name, isArray := strings.CutSuffix(seg, "[]")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = m[name]
		if isArray {
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				return nil, false
			}
			v = a[0]
		}
	}
	m, ok := v.(map[string]any)
	return m, ok
}
