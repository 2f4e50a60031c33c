package oura

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// The plain reading of heart-rate rows gives what encoding/json's does,
// checks and errors included, for the rows it takes, and leaves every
// other row to it.
func TestReadHeartRateAsDecoding(t *testing.T) {
	c, _ := LookupCollection(CollHeartRate)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	plain := []string{
		`{"bpm":48,"source":"sleep","timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":1764893083000}`,
		`{"bpm":48,"source":"sleep","timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"timestamp":"2025-12-05T23:59:59.5Z","bpm":-0,"source":""}`,
		`{"bpm":0,"timestamp":"2025-12-05T00:04:43+09:00","timestamp_unix":null,"producer_timestamp":null}`,
		`{"bpm":61,"source":"awake","timestamp":"2025-12-05T00:04:43","producer_timestamp":"2025-12-05T00:04:44+00:00"}`,
		`{"bpm":999999999999999999,"source":"x y","timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":-5}`,
		// Rejected by the checks, with their errors.
		`{"bpm":60,"source":"rest"}`,
		`{"source":"rest","timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"timestamp":"yesterday"}`,
		`{"bpm":60,"timestamp":""}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","producer_timestamp":"soon"}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","producer_timestamp":""}`,
	}
	other := []string{
		`{}`, `null`, `[1]`, `{"bpm":`, `{"bpm":60}x`, ` {"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm": 60,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60.0,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":6e1,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":060,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":9999999999999999999,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":"60","timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":null,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"timestamp":null}`,
		`{"bpm":60,"bpm":61,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"BPM":60,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"Timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","extra":1}`,
		`{"bpm":60,"source":"sl\u0065ep","timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"source":"schlaf ü","timestamp":"2025-12-05T00:04:43+00:00"}`,
		"{\"bpm\":60,\"source\":\"a\x01\",\"timestamp\":\"2025-12-05T00:04:43+00:00\"}",
		"{\"bpm\":60,\"source\":\"\xff\",\"timestamp\":\"2025-12-05T00:04:43+00:00\"}",
		`{"bpm":60,"source":7,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"source":null,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":1.5}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":"1"}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00","producer_timestamp":5}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00",}`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00"`,
		`{"bpm":60,"timestamp":"2025-12-05T00:04:43+00:00"}}`,
		`{"bpm":60 ,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":-,"timestamp":"2025-12-05T00:04:43+00:00"}`,
		`{"bpm":60,"timestamp_unix":nul}`,
		`{"bpm":60,"timestamp_unix":nullx}`,
		`{"bpm":60:"timestamp":"2025-12-05T00:04:43+00:00"}`,
	}
	for _, loc := range []*time.Location{nil, time.UTC, tokyo} {
		for _, raw := range append(append([]string(nil), plain...), other...) {
			wantDoc, wantAt, wantErr := readDocument(c, json.RawMessage(raw), loc)
			gotDoc, gotAt, gotErr, ok := readHeartRate(c, json.RawMessage(raw), loc)
			if !ok {
				continue
			}
			if !reflect.DeepEqual(gotDoc, wantDoc) || !gotAt.Equal(wantAt) || gotAt.Location().String() != wantAt.Location().String() || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s in %v:\n got %+v %v %v\nwant %+v %v %v", raw, loc, gotDoc, gotAt, gotErr, wantDoc, wantAt, wantErr)
			}
		}
	}
	for _, raw := range plain {
		if _, _, _, ok := readHeartRate(c, json.RawMessage(raw), nil); !ok {
			t.Errorf("%s: not read plainly", raw)
		}
	}
	for _, raw := range other {
		if _, _, _, ok := readHeartRate(c, json.RawMessage(raw), nil); ok {
			t.Errorf("%s: read plainly, but decoding may read it differently", raw)
		}
	}
}
