package normalize

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// storeDay is the day the provider files a document under (see the
// withings package): a group's and a segment's local day in their zone
// (the user's for a segment), the "date" of the others, none for devices
// and for groups that carry only a height, which every read of a span must
// see (the store returns undated documents with each ranged read).
func storeDay(t *testing.T, d provider.Document, loc *time.Location) string {
	t.Helper()
	switch d.Collection {
	case withings.CollMeasure:
		var g MeasureGroup
		if err := json.Unmarshal(d.Raw, &g); err != nil {
			t.Fatal(err)
		}
		if len(g.Measures) > 0 && func() bool {
			for _, m := range g.Measures {
				if m.Type.V != typeHeight {
					return false
				}
			}
			return true
		}() {
			return ""
		}
		if l, err := time.LoadLocation(string(g.Timezone)); err == nil && g.Timezone != "" {
			loc = l
		}
		return time.Unix(g.Date.V, 0).In(loc).Format(time.DateOnly)
	case withings.CollSleep:
		var s SleepSegment
		if err := json.Unmarshal(d.Raw, &s); err != nil {
			t.Fatal(err)
		}
		return time.Unix(s.EndDate.V, 0).In(loc).Format(time.DateOnly)
	case withings.CollDevice:
		return ""
	}
	var x struct{ Date string }
	if err := json.Unmarshal(d.Raw, &x); err != nil {
		t.Fatal(err)
	}
	return x.Date
}

// TestWindowed: a day's documents are the same whether the whole input is
// normalized or only the documents filed on that day and the days either
// side (and the undated ones), as the sync engine reads a span: a day
// depends on nothing further away.
func TestWindowed(t *testing.T) {
	docs, opt := loadInput(t, "synthetic-week")
	whole, err := Normalize(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	days := make([]string, len(docs))
	for i, d := range docs {
		days[i] = storeDay(t, d, opt.Location)
	}
	for _, r := range whole {
		day := r.Doc.Envelope().Day
		from, _ := time.Parse(time.DateOnly, day)
		lo, hi := from.AddDate(0, 0, -1).Format(time.DateOnly), from.AddDate(0, 0, 1).Format(time.DateOnly)
		var window []provider.Document
		for i, d := range docs {
			if days[i] == "" || (days[i] >= lo && days[i] <= hi) {
				window = append(window, d)
			}
		}
		part, err := Normalize(window, opt)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range part {
			if p.Key == r.Key && p.Doc.DataStructure() == r.Doc.DataStructure() {
				found = true
				if !bytes.Equal(render(t, []Result{p}), render(t, []Result{r})) {
					t.Errorf("%s %s differs when only %s..%s is read", r.Doc.DataStructure(), r.Key, lo, hi)
				}
			}
		}
		if !found {
			t.Errorf("%s %s is missing when only %s..%s is read", r.Doc.DataStructure(), r.Key, lo, hi)
		}
	}
}
