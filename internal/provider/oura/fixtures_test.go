package oura

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wearlink/wearlink/internal/testutil"
)

type recorded struct {
	Request string          `json:"request"`
	Status  int             `json:"status"`
	Body    json.RawMessage `json:"body"`
}

func loadRecorded(t testing.TB) map[string]recorded {
	t.Helper()
	path := testutil.ReferenceFile(t, "oura-real-responses-2024-12.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Responses map[string]recorded `json:"responses"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Responses) == 0 {
		t.Fatal("no responses in the fixture file")
	}
	return f.Responses
}

// collectionOfRequest takes the collection from the recorded URL.
func collectionOfRequest(t *testing.T, req string) string {
	t.Helper()
	_, path, _ := strings.Cut(req, "/v2/usercollection/")
	path, _, _ = strings.Cut(path, "?")
	name, _, _ := strings.Cut(path, "/")
	if _, ok := LookupCollection(name); !ok {
		t.Fatalf("request %q names no known collection", req)
	}
	return name
}

// roundTrip decodes one document into the collection's model, encodes it
// and decodes it again, returning both decodes and the re-encoded bytes.
func roundTrip(c Collection, raw []byte) (first, second any, encoded []byte, err error) {
	// Document keeps the bytes whatever the model; the table's model is
	// only known at run time, so check that on an untyped value.
	var d Document[any]
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, nil, nil, err
	}
	if string(d.Raw) != string(raw) {
		return nil, nil, nil, &json.UnsupportedValueError{Str: "raw bytes not kept"}
	}
	v := reflect.New(c.Model)
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		return nil, nil, nil, err
	}
	enc, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, nil, nil, err
	}
	again := reflect.New(c.Model)
	if err := json.Unmarshal(enc, again.Interface()); err != nil {
		return nil, nil, nil, err
	}
	return v.Elem().Interface(), again.Elem().Interface(), enc, nil
}

// TestCollectionTable checks the document columns of the table: every
// collection has its own model, a key and required fields its model has.
func TestCollectionTable(t *testing.T) {
	if len(Collections()) != 20 {
		t.Errorf("got %d collections, want the 19 of API v2 and interbeat_interval", len(Collections()))
	}
	seen := map[reflect.Type]string{}
	for _, c := range Collections() {
		if c.Model == nil {
			t.Errorf("collection %s has no model", c.Name)
			continue
		}
		if prev, dup := seen[c.Model]; dup {
			t.Errorf("collections %s and %s share the model %v", prev, c.Name, c.Model)
		}
		seen[c.Model] = c.Name
		fields := jsonFields(c.Model)
		want := KeyID
		if c.Range == RangeDateTime {
			want = KeyTimestamp // time-series rows have no id
		}
		if c.Key != want {
			t.Errorf("%s: key %q, want %q", c.Name, c.Key, want)
		}
		if !fields[string(c.Key)] {
			t.Errorf("%s: key %q is not a field of %v", c.Name, c.Key, c.Model)
		}
		for _, k := range c.Required {
			if !fields[k] {
				t.Errorf("%s: required field %q is not a field of %v", c.Name, k, c.Model)
			}
		}
	}
	// Rows handed out are copies: changing one leaves the table as it was.
	c, _ := LookupCollection(CollSleep)
	c.Required[0] = "changed"
	if again, _ := LookupCollection(CollSleep); again.Required[0] == "changed" {
		t.Error("LookupCollection hands out the table's own slice")
	}
}

// jsonFields lists the top-level JSON names of a model.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			out[name] = true
		}
	}
	return out
}

// TestRecordedResponsesRoundTrip decodes every real Oura body and checks that
// a decode, encode, decode round trip keeps every field and value.
func TestRecordedResponsesRoundTrip(t *testing.T) {
	docs := 0
	for name, rec := range loadRecorded(t) {
		t.Run(name, func(t *testing.T) {
			if rec.Status != 200 {
				detail, _ := parseDetail(rec.Body)
				if detail == "" {
					t.Errorf("status %d body %s: no detail parsed", rec.Status, rec.Body)
				}
				return
			}
			coll, _ := LookupCollection(collectionOfRequest(t, rec.Request))
			var bodies []json.RawMessage
			if strings.HasPrefix(name, "multiple_") {
				var p struct {
					Data      []json.RawMessage `json:"data"`
					NextToken *string           `json:"next_token"`
				}
				if err := json.Unmarshal(rec.Body, &p); err != nil {
					t.Fatalf("envelope: %v", err)
				}
				bodies = p.Data
			} else {
				bodies = []json.RawMessage{rec.Body}
			}
			for i, raw := range bodies {
				first, second, enc, err := roundTrip(coll, raw)
				if err != nil {
					t.Fatalf("document %d: %v", i, err)
				}
				if diff := cmp.Diff(first, second); diff != "" {
					t.Errorf("document %d changed in a round trip (-first +second):\n%s", i, diff)
				}
				if missing := lostFields(t, raw, enc); len(missing) > 0 {
					t.Errorf("document %d lost or changed fields after encoding: %v", i, missing)
				}
				docs++
			}
		})
	}
	if docs < 40 {
		t.Errorf("only %d documents decoded; the fixture holds more", docs)
	}
}

// lostFields lists the paths of orig whose value differs in or is absent from enc.
func lostFields(t *testing.T, orig, enc []byte) []string {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(orig, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &b); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		xm, ok := x.(map[string]any)
		if !ok {
			if !reflect.DeepEqual(x, y) {
				out = append(out, path)
			}
			return
		}
		ym, _ := y.(map[string]any)
		for k, v := range xm {
			yv, present := ym[k]
			if !present {
				out = append(out, path+"."+k+" (absent)")
				continue
			}
			walk(path+"."+k, v, yv)
		}
	}
	walk("", a, b)
	sort.Strings(out)
	return out
}

// TestDecodeToleratesNewFieldsAndEnums: Oura adds fields and enum values
// without notice; neither may break ingestion.
func TestDecodeToleratesNewFieldsAndEnums(t *testing.T) {
	raw := []byte(`{"id":"x","bedtime_start":"2024-10-10T01:01:59+02:00","bedtime_end":"2024-10-10T08:00:00+02:00",
		"day":"2024-10-10","low_battery_alert":false,"period":0,"time_in_bed":25081,"type":"micro_nap",
		"sleep_analysis_reason":"brand_new_reason","brand_new_field":{"nested":[1,2,3]}}`)
	var d Document[Sleep]
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("decode with unknown field and enum: %v", err)
	}
	if d.Value.Type == nil || *d.Value.Type != "micro_nap" {
		t.Errorf("unknown enum value not kept: %v", d.Value.Type)
	}
	if !strings.Contains(string(d.Raw), "brand_new_field") {
		t.Error("raw bytes lost the unknown field")
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if string(out) != compact.String() {
		t.Error("a Document does not marshal back to its raw bytes")
	}
}

func TestNullableFieldsArePointers(t *testing.T) {
	// Every field a null may reach must be a pointer, slice or map, or a
	// null would silently become a zero value.
	var d Document[Sleep]
	raw := []byte(`{"id":"x","average_breath":null,"average_heart_rate":null,"heart_rate":null,"readiness":null,"type":null,"total_sleep_duration":null}`)
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Value.AverageBreath != nil || d.Value.HeartRate != nil || d.Value.Type != nil || d.Value.TotalSleepDuration != nil {
		t.Errorf("nulls decoded as values: %+v", d.Value)
	}
	enc, _ := json.Marshal(d.Value)
	if !strings.Contains(string(enc), `"total_sleep_duration":null`) {
		t.Errorf("unknown values must encode as null: %s", enc)
	}
}
