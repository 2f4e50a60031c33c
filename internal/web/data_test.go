package web

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
)

// TestScoreSeriesColours: each score series gets a class the layout
// colours, so no series is drawn in the default colour by accident.
func TestScoreSeriesColours(t *testing.T) {
	b, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	for i := 1; i <= scoreClasses; i++ {
		c := "s-" + strconv.Itoa(i)
		if !strings.Contains(css, ".line."+c+"{") || !strings.Contains(css, ".dot."+c+",") || !strings.Contains(css, ".legend."+c+"{") {
			t.Errorf("the layout does not colour %s", c)
		}
	}
}

// TestScoreSeries: one series per score key over every day, ordered by
// name; names from the collection, with the provider when there are
// several sources; alike names told apart.
func TestScoreSeries(t *testing.T) {
	days := []string{"2026-01-01", "2026-01-02"}
	name := func(ds string) string { return strings.ToUpper(ds) }
	one := scoreSeries(days, map[string]map[scoreKey]float64{
		"2026-01-02": {{"ring", "daily_sleep"}: 80, {"ring", "sleep"}: 70, {"ring", "daily_readiness"}: 60},
		"2026-01-03": {{"ring", "daily_stress"}: 50}, // outside the days: no series
	}, name)
	var got []string
	for _, s := range one {
		got = append(got, s.Name+"="+s.Class)
		if len(s.Days) != 2 || s.Days[0].Value != nil || s.Days[1].Value == nil {
			t.Errorf("%s: days %+v", s.Name, s.Days)
		}
	}
	if want := "Readiness=s-1 Sleep (daily_sleep)=s-2 Sleep (sleep)=s-3"; strings.Join(got, " ") != want {
		t.Errorf("series %q, want %q", strings.Join(got, " "), want)
	}
	two := scoreSeries(days, map[string]map[scoreKey]float64{
		"2026-01-01": {{"ring", "daily_sleep"}: 80, {"strap", "recovery"}: 40},
	}, name)
	if len(two) != 2 || two[0].Name != "RING sleep" || two[1].Name != "STRAP recovery" || *two[1].Days[0].Value != 40 {
		t.Errorf("two sources: %+v", two)
	}
	if none := scoreSeries(days, nil, name); len(none) != 0 {
		t.Errorf("no scores: %+v", none)
	}
}

// TestAddScores: the day's own documents give their score; copies, derived
// items, scores off the chart's scale and documents without a collection
// do not.
func TestAddScores(t *testing.T) {
	items := health.NonStructuredData{
		json.RawMessage(`{"source":"ring","collection":"daily_sleep","document":{"score":81}}`),
		json.RawMessage(`{"source":"ring","collection":"nightly","role":"main","document":{"score":70.5}}`),
		json.RawMessage(`{"source":"ring","collection":"daily_readiness","role":"superseded","document":{"score":12}}`),
		json.RawMessage(`{"source":"ring","collection":"nightly","role":"nap","document":{"score":13}}`),
		json.RawMessage(`{"source":"ring","collection":"daily_strain","document":{"score":140}}`),
		json.RawMessage(`{"source":"ring","collection":"cycle","document":{"score":{"strain":9}}}`),
		json.RawMessage(`{"source":"ring","document":{"score":50}}`),
		json.RawMessage(`{"source":"ring","collection":"sleep","role":"hypnogram","hypnogram_granular_data_array":[]}`),
		json.RawMessage(`"not an object"`),
	}
	got := map[scoreKey]float64{}
	addScores(got, attachments(items))
	want := map[scoreKey]float64{{"ring", "daily_sleep"}: 81, {"ring", "nightly"}: 70.5}
	if !maps.Equal(got, want) {
		t.Fatalf("scores %v, want %v", got, want)
	}
}
