package withings

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// TestSplitRecorded: every recorded answer of a stored collection splits
// into one document per object, recognised by its shape whatever the
// file is called, with the ID and day doc.go gives it, and each document
// reads back alone with the same ID and day.
func TestSplitRecorded(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		file      string
		coll      string
		n         int
		firstID   string
		firstDay  string
		distinctN int // distinct IDs: the fixtures repeat some objects
	}{
		{"measurement.json", CollMeasure, 2, "4815757309", "2023-09-02", 1},
		{"measurement_list_2.json", CollMeasure, 34, "5109691092", "2023-12-25", 34},
		{"measurement_positions.json", CollMeasure, 2, "5149666502", "2024-01-09", 2},
		{"activity.json", CollActivity, 2, "2023-10-20", "2023-10-20", 2},
		{"workouts.json", CollWorkout, 11, "3661300277", "2023-08-29", 10},
		{"sleep_summary_no_datafields.json", CollSleepSummary, 300, "2081804182", "2021-04-18", 300},
		// Segments carry no zone: placed with the one given (Paris).
		{"sleep_no_datafields.json", CollSleep, 613, "1618691453", "2021-04-17", 613},
		{"device.json", CollDevice, 5, "f998be4b9ccc9e136fd8cd8e8e344c31ec3b271d", "", 1},
		{"new_device.json", CollDevice, 1, "", "", 1},
	}
	p := testProvider(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data := recorded(t, c.file)
			coll, raws, ok, err := SplitAnswer(data)
			if !ok || err != nil || coll != c.coll || len(raws) != c.n {
				t.Fatalf("SplitAnswer: %s, %d documents, %v, %v", coll, len(raws), ok, err)
			}
			if got, ok := p.CollectionOf(raws); !ok || got != c.coll {
				t.Errorf("CollectionOf the documents: %q %v", got, ok)
			}
			if got, ok := p.CollectionOf([]json.RawMessage{data}); !ok || got != c.coll {
				t.Errorf("CollectionOf the whole answer: %q %v", got, ok)
			}
			docs, err := Documents(coll, raws, paris)
			if err != nil {
				t.Fatal(err)
			}
			if c.firstID != "" && (docs[0].ID != c.firstID || docs[0].Day != c.firstDay) {
				t.Errorf("first document %s on %q, want %s on %q", docs[0].ID, docs[0].Day, c.firstID, c.firstDay)
			}
			ids := map[string]bool{}
			for i, d := range docs {
				ids[d.ID] = true
				if d.ID == "" || (coll != CollDevice && d.Day == "") {
					t.Errorf("document %d: id %q day %q", i, d.ID, d.Day)
				}
				back, _, err := p.ReadDocument(coll, d.Raw, paris)
				if err != nil || back.ID != d.ID || back.Day != d.Day {
					t.Errorf("document %d reads back as %s %s, %v", i, back.ID, back.Day, err)
				}
			}
			if len(ids) != c.distinctN {
				t.Errorf("%d distinct ids, want %d", len(ids), c.distinctN)
			}
		})
	}
}

// TestMeasureGroupsCarryTheZone: getmeas gives the zone once, in the
// body; each stored group carries it, so that it stands alone offline.
// A group's own zone wins.
func TestMeasureGroupsCarryTheZone(t *testing.T) {
	m := Measures{Timezone: "Asia/Tokyo", Groups: []json.RawMessage{
		json.RawMessage(`{"grpid":1,"date":1710082800,"measures":[]}`), // 2024-03-10 15:00 UTC
		json.RawMessage(`{"grpid":2,"date":1710082800,"timezone":"America/New_York","measures":[]}`),
		json.RawMessage(`{"grpid":3,"date":1710082800,"timezone":null,"measures":[]}`),
		json.RawMessage(` { } `),
	}}
	docs, err := MeasureDocuments(Measures{Timezone: m.Timezone, Groups: m.Groups[:3]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, day, tz string }{{"1", "2024-03-11", "Asia/Tokyo"}, {"2", "2024-03-10", "America/New_York"}, {"3", "2024-03-11", "Asia/Tokyo"}}
	for i, d := range docs {
		var g struct {
			Timezone string `json:"timezone"`
			GrpID    int64  `json:"grpid"`
		}
		if err := json.Unmarshal(d.Raw, &g); err != nil {
			t.Fatalf("group %d: %v: %s", i, err, d.Raw)
		}
		if d.ID != want[i].id || d.Day != want[i].day || g.Timezone != want[i].tz {
			t.Errorf("group %d: %s on %s in %q, want %+v", i, d.ID, d.Day, g.Timezone, want[i])
		}
		if strings.Count(string(d.Raw), `"timezone"`) != 1 {
			t.Errorf("group %d: %s", i, d.Raw)
		}
	}
	if _, err := MeasureDocuments(m, nil); err == nil {
		t.Error("a group without grpid: no error")
	}
}

// TestDocumentsRefuseBadObjects: an object that cannot be identified or
// placed is an error naming it, never dropped.
func TestDocumentsRefuseBadObjects(t *testing.T) {
	cases := []struct {
		coll, raw string
	}{
		{CollMeasure, `{"grpid":1,"measures":[]}`},
		{CollMeasure, `{"grpid":1,"date":"yesterday","measures":[]}`},
		{CollMeasure, `{"grpid":1,"date":1,"timezone":"Mars/Olympus","measures":[]}`},
		{CollActivity, `{"steps":3}`},
		{CollActivity, `{"date":"20/10/2023"}`},
		{CollWorkout, `{"date":"2023-10-20","category":1}`},
		{CollSleepSummary, `{"id":1}`},
		{CollSleep, `{"state":1,"enddate":5}`},
		{CollSleep, `{"startdate":10,"enddate":5,"state":1}`},
		{CollDevice, `{"type":"Scale","model":"Body+"}`},
		{CollDevice, `[1,2]`},
	}
	for _, c := range cases {
		_, err := Documents(c.coll, []json.RawMessage{json.RawMessage(c.raw)}, nil)
		if err == nil || provider.KindOf(err) != provider.KindServer {
			t.Errorf("%s %s: %v", c.coll, c.raw, err)
		}
	}
}

// TestSplitAnswerNeverSilent: an error status or a body without a known
// list is an error, not "no documents"; what is not an answer at all is
// not ok. (A successful empty series is no documents: a night without
// data answers so, and which action it answers does not matter.)
func TestSplitAnswerNeverSilent(t *testing.T) {
	for _, data := range []string{
		`{"status":601,"error":"Too many request"}`,
		`{"status":0,"body":null}`,
		`{"status":0,"body":{"goals":{"steps":10000}}}`,
		`{"status":0,"body":{"measuregrps":{}}}`,
	} {
		_, _, ok, err := SplitAnswer([]byte(data))
		if !ok || err == nil {
			t.Errorf("%s: ok %v err %v", data, ok, err)
		}
	}
	for _, data := range []string{``, `[]`, `[{"id":"x"}]`, `{"data":[]}`, `42`} {
		if _, _, ok, err := SplitAnswer([]byte(data)); ok || err != nil {
			t.Errorf("%s: ok %v err %v", data, ok, err)
		}
	}
	if coll, docs, ok, err := SplitAnswer([]byte(`{"status":0,"body":{"series":[]}}`)); !ok || err != nil || coll != "" || len(docs) != 0 {
		t.Errorf("an empty series: %q %d %v %v", coll, len(docs), ok, err)
	}
	// An empty list that names its action is no documents, truly.
	coll, docs, ok, err := SplitAnswer([]byte(`{"status":0,"body":{"measuregrps":[],"timezone":"Europe/Paris"}}`))
	if !ok || err != nil || coll != CollMeasure || len(docs) != 0 {
		t.Errorf("%s %d %v %v", coll, len(docs), ok, err)
	}
	_, _, _, err = SplitAnswer([]byte(`{"status":601}`))
	if provider.KindOf(err) != provider.KindRateLimited || StatusOf(err) != 601 {
		t.Errorf("601 answer: %v", err)
	}
}

// TestSplitFile: the file splitter gives the documents and their place.
func TestSplitFile(t *testing.T) {
	p := testProvider(t)
	docs, where, ok, err := p.SplitFile(recorded(t, "measurement.json"))
	if !ok || err != nil || len(docs) != 2 || where(1) != "body.measuregrps[1]" {
		t.Fatalf("%d %v %v", len(docs), ok, err)
	}
	if !strings.Contains(string(docs[0]), `"timezone":"Europe/Amsterdam"`) {
		t.Errorf("the body's zone is not in the group: %s", docs[0][:80])
	}
	_, where, ok, _ = p.SplitFile(recorded(t, "measurement_list_2.json"))
	if !ok || where(3) != "[3]" {
		t.Errorf("bare list: %v %q", ok, where(3))
	}
	// A pulled file (a list of documents of another collection) is not
	// an answer: the caller splits it.
	if _, _, ok, err := p.SplitFile([]byte(`[{"date":"2023-10-20","steps":1}]`)); ok || err != nil {
		t.Errorf("pulled activity list: %v %v", ok, err)
	}
}

// TestCollectionNamed: collection names and the actions' and lists'
// names, in any case, with or without the file prefix; a fixture's name
// that names none is left to the shape.
func TestCollectionNamed(t *testing.T) {
	p := testProvider(t)
	for name, want := range map[string]string{
		"measure": CollMeasure, "withings-measure": CollMeasure, "GETMEAS": CollMeasure, "measuregrps": CollMeasure,
		"activity": CollActivity, "getactivity": CollActivity, "workouts": CollWorkout, "getsummary": CollSleepSummary,
		"withings-sleep_summary": CollSleepSummary, "sleep": CollSleep, "Withings-Device": CollDevice, "devices": CollDevice,
	} {
		if got, ok := p.CollectionNamed(name); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"sleep_no_datafields", "goals", "notify_list", ""} {
		if got, ok := p.CollectionNamed(name); ok {
			t.Errorf("%q names %q", name, got)
		}
	}
	if p.FilePrefix() != "withings-" || provider.FilePrefix(p) != "withings-" {
		t.Error("file prefix")
	}
}

// TestReadDocumentChecks: a document of the wrong collection, an envelope
// or an unknown collection is an error.
func TestReadDocumentChecks(t *testing.T) {
	p := testProvider(t)
	group := `{"grpid":1,"date":1710082800,"measures":[]}`
	cases := []struct{ coll, raw, want string }{
		{CollActivity, group, "no \"date\""},
		{CollWorkout, `{"id":1,"startdate":1,"enddate":2,"date":"2024-03-10","data":{"deepsleepduration":3}}`, "sleep_summary"},
		{CollMeasure, `{"status":0,"body":{"measuregrps":[]}}`, "enveloped"},
		{"goals", group, "unknown collection"},
		{CollMeasure, `[]`, "not a JSON object"},
	}
	for _, c := range cases {
		_, _, err := p.ReadDocument(c.coll, json.RawMessage(c.raw), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.coll, c.raw, err, c.want)
		}
	}
	d, at, err := p.ReadDocument(CollMeasure, json.RawMessage(group), time.UTC)
	if err != nil || d.ID != "1" || d.Day != "2024-03-10" || at.Unix() != 1710082800 {
		t.Errorf("%+v %v %v", d, at, err)
	}
}

func testProvider(t *testing.T) *Provider {
	t.Helper()
	c, err := New(ClientConfig{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(Config{Client: c, AuthURL: "http://127.0.0.1:1/oauth2_user/authorize2"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
