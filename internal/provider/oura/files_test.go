package oura

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Every recorded answer of the real API reads back as its own collection:
// by its shape alone, and document by document with the id and day the
// client gives.
func TestRecordedResponsesReadBack(t *testing.T) {
	p := &Provider{}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	recognised := 0
	for name, rec := range loadRecorded(t) {
		if rec.Status != 200 {
			continue
		}
		coll := collectionOfRequest(t, rec.Request)
		bodies := []json.RawMessage{rec.Body}
		if strings.HasPrefix(name, "multiple_") {
			var page struct{ Data []json.RawMessage }
			if err := json.Unmarshal(rec.Body, &page); err != nil {
				t.Fatal(err)
			}
			bodies = page.Data
		}
		for i, raw := range bodies {
			doc, _, err := p.ReadDocument(coll, raw, berlin)
			if err != nil {
				t.Errorf("%s: document %d: %v", name, i, err)
				continue
			}
			var k docKey
			_ = json.Unmarshal(raw, &k)
			c, _ := LookupCollection(coll)
			want := k.ID
			if c.Range == RangeDateTime {
				want = string(k.Timestamp)
			}
			if doc.ID != want || doc.Collection != coll {
				t.Errorf("%s: document %d read as %s %q, want %s %q", name, i, doc.Collection, doc.ID, coll, want)
			}
			if (doc.Day == "") != (c.Range == RangeNone || c.Range == RangeSingleton) {
				t.Errorf("%s: document %d has day %q", name, i, doc.Day)
			}
		}
		if len(bodies) == 0 {
			continue
		}
		got, ok := p.CollectionOf(bodies)
		if !ok || got != coll {
			t.Errorf("%s: recognised as %q, %v; want %s", name, got, ok, coll)
		}
		recognised++
	}
	if recognised < 10 {
		t.Errorf("only %d answers recognised", recognised)
	}
}

func TestReadDocumentPlacesRowsInTheZone(t *testing.T) {
	p := &Provider{}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	row := json.RawMessage(`{"bpm":60,"source":"awake","timestamp":"2024-03-01T20:00:00+00:00"}`)
	doc, at, err := p.ReadDocument(CollHeartRate, row, tokyo)
	if err != nil || doc.ID != "2024-03-01T20:00:00+00:00" || doc.Day != "2024-03-02" || !at.Equal(time.Date(2024, 3, 1, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v at %v, %v", doc, at, err)
	}
	if doc, _, _ := p.ReadDocument(CollHeartRate, row, nil); doc.Day != "2024-03-01" {
		t.Errorf("without a zone the row's own offset places it: %q", doc.Day)
	}
}

func TestReadDocumentRejects(t *testing.T) {
	p := &Provider{}
	for _, c := range []struct{ coll, raw, want string }{
		{CollDailySleep, `{"bpm":60,"timestamp":"2024-03-01T20:00:00+00:00"}`, `missing "day"`},
		{CollPersonalInfo, `{"meals":[]}`, "none of the collection's fields"},
		{CollWorkout, `{"id":"w","day":"2024-03-01","start_datetime":"2024-03-01T10:00:00+00:00","end_datetime":"2024-03-01T11:00:00+00:00","calories":"many"}`, "calories"},
		{CollDailyReadiness, `{"id":"r","day":"2024-03-01","timestamp":"yesterday"}`, "yesterday"},
		{CollSleep, `[1]`, "not a JSON object"},
		{CollSleep, `{"day":`, "not a JSON object"},
		{CollSleep, `null`, `missing "day"`},
		{CollDailySleep, `{"day":null,"day":"2024-03-01","score":"high"}`, "score"},
		{CollDailySleep, `{"day":"2024-03-01","day":null}`, `missing "day"`},
		{"meals", `{}`, "unknown collection"},
	} {
		doc, _, err := p.ReadDocument(c.coll, json.RawMessage(c.raw), time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.coll, c.raw, err, c.want)
		}
		if string(doc.Raw) != c.raw {
			t.Errorf("%s: the document's bytes are not kept: %s", c.coll, doc.Raw)
		}
	}
}

func TestCollectionNamed(t *testing.T) {
	p := &Provider{}
	for name, want := range map[string]string{
		"oura-v2-sleep": CollSleep, "sleep": CollSleep, "heartrate": CollHeartRate, "heart_rate": CollHeartRate,
		"vO2_max": CollVO2Max, "vo2_max": CollVO2Max, "oura-v2-vO2_max": CollVO2Max, "DAILY_SPO2": CollDailySpO2,
		"OURA_V2_personal_info": CollPersonalInfo, "oura-data": "", "meals": "", "sleep-2024": "",
	} {
		got, ok := p.CollectionNamed(name)
		if got != want || ok != (want != "") {
			t.Errorf("CollectionNamed(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestCollectionOfUnclearShapes(t *testing.T) {
	p := &Provider{}
	for _, docs := range [][]json.RawMessage{
		nil,
		{json.RawMessage(`{"sleep":[],"activity":[],"readiness":[]}`)},
		{json.RawMessage(`[1,2]`)},
		// A heart-rate row and a daily_sleep: no one collection fits both.
		{json.RawMessage(`{"bpm":60,"source":"awake","timestamp":"2024-03-01T20:00:00+00:00"}`), json.RawMessage(`{"id":"s","day":"2024-03-01","score":80}`)},
	} {
		if c, ok := p.CollectionOf(docs); ok {
			t.Errorf("%s recognised as %s", docs, c)
		}
	}
}

func TestTablesUnrollSamples(t *testing.T) {
	p := &Provider{}
	docs := []provider.Document{
		{Collection: CollHeartRate, Raw: json.RawMessage(`{"bpm":61,"source":"rest","timestamp":"2024-03-01T23:30:00+00:00"}`)},
		{Collection: CollSleep, Raw: json.RawMessage(`{"id":"s1","day":"2024-03-02","bedtime_start":"2024-03-01T23:00:00+01:00","sleep_phase_5_min":"42",
			"heart_rate":{"interval":300,"items":[50,null],"timestamp":"2024-03-01T23:00:00+01:00"}}`)},
		{Collection: CollDailyActivity, Raw: json.RawMessage(`{"id":"a1","day":"2024-03-01","met":{"interval":60,"items":[1.5],"timestamp":"2024-03-01T04:00:00+01:00"}}`)},
		{Collection: CollSleep, Raw: json.RawMessage(`not json`)},
		{Collection: CollInterbeatInterval, Raw: json.RawMessage(`{"timestamp":"2024-03-01T23:30:00.512+00:00","timestamp_unix":1709335800512,"ibi":1012,"validity":1}`)},
		{Collection: CollInterbeatInterval, Raw: json.RawMessage(`{"timestamp":"2024-03-01T22:59:59.100+00:00","ibi":0,"validity":-1}`)},
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// Once from the bytes, once from the models the reader decoded.
	for _, read := range []bool{false, true} {
		if read {
			for i, d := range docs {
				r, _, _ := p.ReadDocument(d.Collection, d.Raw, berlin)
				docs[i].Decoded = r.Decoded
			}
		}
		rows := map[string][][]provider.Cell{}
		for _, tb := range p.Tables(docs, berlin) {
			for _, r := range tb.Rows {
				if len(r) != len(tb.Columns) {
					t.Errorf("%s: row %v for columns %v", tb.Name, r, tb.Columns)
				}
			}
			rows[tb.Name] = tb.Rows
		}
		n := func(s string) provider.Cell { return provider.Cell{Kind: provider.CellNumber, Text: s} }
		s := func(s string) provider.Cell { return provider.Cell{Kind: provider.CellString, Text: s} }
		want := map[string][][]provider.Cell{
			TableSleepHeartRate: {{s("s1"), s("2024-03-02"), s("2024-03-01T23:00:00+01:00"), n("50")}, {s("s1"), s("2024-03-02"), s("2024-03-01T23:05:00+01:00"), {}}},
			TableSleepPhases:    {{s("s1"), s("2024-03-02"), s("2024-03-01T23:00:00+01:00"), n("4"), s("awake")}, {s("s1"), s("2024-03-02"), s("2024-03-01T23:05:00+01:00"), n("2"), s("light")}},
			TableActivityMET:    {{s("a1"), s("2024-03-01"), s("2024-03-01T04:00:00+01:00"), n("1.5")}},
			TableHeartRate:      {{s("2024-03-02"), s("2024-03-01T23:30:00+00:00"), n("61"), s("rest")}},
			TableInterbeat: {{s("2024-03-02"), s("2024-03-01T23:30:00.512+00:00"), n("1012"), n("1")},
				{s("2024-03-01"), s("2024-03-01T22:59:59.100+00:00"), n("0"), n("-1")}},
		}
		for name, w := range want {
			if got := rows[name]; len(got) != len(w) {
				t.Errorf("%s: %v, want %v", name, got, w)
			} else {
				for i := range w {
					for j := range w[i] {
						if got[i][j] != w[i][j] {
							t.Errorf("%s row %d: %v, want %v", name, i, got[i], w[i])
							break
						}
					}
				}
			}
		}
		if len(rows[TableSleepHRV]) != 0 {
			t.Errorf("HRV rows without HRV: %v", rows[TableSleepHRV])
		}
	}
}

// The id and day are read as decoding the document into a struct reads
// them: a key in another letter case still counts, a value that is not a
// string does not, and the last of repeated keys wins.
func TestReadDocumentKeysAsDecoding(t *testing.T) {
	p := &Provider{}
	for _, c := range []struct{ raw, id, day string }{
		{`{"ID":"x","day":"2024-03-01","score":1}`, "x", "2024-03-01"},
		{`{"id":5,"day":"2024-03-01","score":1}`, "", "2024-03-01"},
		{`{"id":"a","id":"b","day":"2024-03-01","score":1}`, "b", "2024-03-01"},
		{`{"id":"\u0061","day":null,"start_day":"2024-03-02","score":1}`, "a", "2024-03-02"},
		{`{"id":"a","Timestamp":"2024-03-01T20:00:00+00:00","score":1}`, "a", "2024-03-01"},
		{`{"id":"a","id":5,"id":null,"day":"2024-03-01","score":1}`, "a", "2024-03-01"},
		{`{"id":"caf\u00e9 \"x\"","day":"2024-03-01","score":1}`, "café \"x\"", "2024-03-01"},
		{` {"day" : "2024-03-01" , "id" : "b" , "contributors" : {"id": "no"} }`, "b", "2024-03-01"},
	} {
		doc, _, _ := p.ReadDocument(CollDailySleep, json.RawMessage(c.raw), time.UTC)
		if doc.ID != c.id || doc.Day != c.day {
			t.Errorf("%s: id %q day %q, want %q %q", c.raw, doc.ID, doc.Day, c.id, c.day)
		}
	}
}
