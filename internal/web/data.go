package web

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// What the dashboard reads from the stored ROOK documents: the night's
// hypnogram (the derived item in sleep_summary's non_structured_data_array),
// heart rate and HRV (its granular arrays), the day's steps and calories
// (physical_summary) and the providers' own scores.
//
// ROOK has no field for a provider's daily scores (sleep, readiness,
// activity, recovery ...): its sleep scores are 1-5 ratings and an
// efficiency, not the provider's score. Normalization attaches the
// provider's documents to non_structured_data_array instead, so the scores
// are read there, from any attached document with a numeric "score",
// whatever its source or collection.

// attachment is an item of non_structured_data_array as normalization
// writes it: a provider document with its source and collection, or an
// item derived from one (named by its role).
type attachment struct {
	Source     string          `json:"source"`
	Collection string          `json:"collection"`
	Role       string          `json:"role"`
	Document   json.RawMessage `json:"document"`
	Hypnogram  []struct {
		Datetime string  `json:"datetime_string"`
		Interval float64 `json:"interval_duration_seconds_float"`
		Phase    string  `json:"sleep_phase_string"`
	} `json:"hypnogram_granular_data_array"`
}

func attachments(items health.NonStructuredData) []attachment {
	out := make([]attachment, 0, len(items))
	for _, it := range items {
		var a attachment
		if json.Unmarshal(it, &a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// scoreKey names a score: the source and the collection of the document
// that carries it.
type scoreKey struct{ Source, Collection string }

// addScores puts the scores of the attached documents into into. Only the
// day's own documents count: those attached without a role or as the one
// mapped ("main"); the other roles mark a nap, a superseded or deleted
// copy, or an item we derived. Scores outside 0-100 are left out, as the
// chart has that scale.
func addScores(into map[scoreKey]float64, as []attachment) {
	for _, a := range as {
		if (a.Role != "" && a.Role != "main") || a.Collection == "" {
			continue
		}
		var s struct {
			Score *float64 `json:"score"`
		}
		if json.Unmarshal(a.Document, &s) == nil && s.Score != nil && *s.Score >= 0 && *s.Score <= 100 {
			into[scoreKey{a.Source, a.Collection}] = *s.Score
		}
	}
}

// scoreClasses is how many colours the layout has for score series.
const scoreClasses = 6

// scoreSeries makes one series per score found in the days, named after
// its collection ("daily_readiness" is "Readiness": the chart is per day
// already) and, when scores come from several sources, after its
// provider too (name gives a data source's display name). Series are in
// the order of their names, so a score keeps its place and colour from one
// period to the next.
func scoreSeries(days []string, scores map[string]map[scoreKey]float64, name func(dataSource string) string) []Series {
	keys := map[scoreKey]bool{}
	sources := map[string]bool{}
	for _, day := range days {
		for k := range scores[day] {
			keys[k], sources[k.Source] = true, true
		}
	}
	labels := map[scoreKey]string{}
	used := map[string]int{}
	for k := range keys {
		l := strings.ReplaceAll(strings.TrimPrefix(k.Collection, "daily_"), "_", " ")
		if len(sources) > 1 {
			l = name(k.Source) + " " + l
		} else {
			r, n := utf8.DecodeRuneInString(l)
			l = string(unicode.ToUpper(r)) + l[n:]
		}
		labels[k] = l
		used[l]++
	}
	for k, l := range labels {
		// Two collections of one source can read alike ("sleep" and
		// "daily_sleep"): their full names tell them apart.
		if used[l] > 1 {
			labels[k] = l + " (" + k.Collection + ")"
		}
	}
	ordered := slices.SortedFunc(maps.Keys(keys), func(a, b scoreKey) int {
		return cmp.Or(cmp.Compare(labels[a], labels[b]), cmp.Compare(a.Source, b.Source))
	})
	out := make([]Series, 0, len(ordered))
	for i, k := range ordered {
		s := Series{Name: labels[k], Class: "s-" + strconv.Itoa(i%scoreClasses+1)}
		for _, day := range days {
			var v *float64
			if x, ok := scores[day][k]; ok {
				v = &x
			}
			s.Days = append(s.Days, DayValue{Day: day, Value: v})
		}
		out = append(out, s)
	}
	return out
}

func decode(d store.HealthDocument) health.Doc {
	doc, err := health.Decode(health.Document{DataStructure: d.DataStructure, Pillar: d.Pillar, Day: d.Day, Body: d.Body})
	if err != nil {
		return nil
	}
	return doc
}

func parseDatetime(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	return t, err == nil
}

// samples turns granular items into points, leaving out those without a
// time or a value.
func samples[S any](items []S, get func(S) (*string, *float64)) []Point {
	var out []Point
	for _, it := range items {
		at, v := get(it)
		if t, ok := parseDatetime(at); ok && v != nil {
			out = append(out, Point{At: t, Value: *v})
		}
	}
	return out
}

// night is one sleep_summary as the charts need it.
type night struct {
	Phases       []Phase
	HeartRate    []Point
	HRV          []Point
	Scores       map[scoreKey]float64
	Duration     *int
	AvgHeartRate *int
	AvgHRV       *float64
}

func readNight(d store.HealthDocument) (night, bool) {
	doc, ok := decode(d).(*health.SleepSummaryDocument)
	if !ok {
		return night{}, false
	}
	s := doc.Summary
	n := night{Duration: s.Duration.SleepDurationSeconds, AvgHeartRate: s.HeartRate.HRAvgBPM, AvgHRV: s.HeartRate.HRVAvgRMSSD,
		Scores: map[scoreKey]float64{}}
	as := attachments(s.NonStructuredData)
	addScores(n.Scores, as)
	for _, a := range as {
		if a.Role != "hypnogram" {
			continue
		}
		for _, p := range a.Hypnogram {
			t, err := time.Parse(time.RFC3339Nano, p.Datetime)
			if err == nil {
				n.Phases = append(n.Phases, Phase{Start: t, Duration: time.Duration(p.Interval * float64(time.Second)), Name: p.Phase})
			}
		}
	}
	n.HeartRate = samples(s.HeartRate.HRGranularData, func(x health.HRSample) (*string, *float64) {
		if x.HRBPM == nil {
			return x.Datetime, nil
		}
		v := float64(*x.HRBPM)
		return x.Datetime, &v
	})
	n.HRV = samples(s.HeartRate.HRVRMSSDGranularData, func(x health.HRVRMSSDSample) (*string, *float64) { return x.Datetime, x.HRVRMSSD })
	return n, true
}

// activity is one physical_summary as the charts need it.
type activity struct {
	Steps    *float64
	Calories *float64
	Scores   map[scoreKey]float64
}

func readActivity(d store.HealthDocument) (activity, bool) {
	doc, ok := decode(d).(*health.PhysicalSummaryDocument)
	if !ok {
		return activity{}, false
	}
	s := doc.Summary
	a := activity{Calories: s.Calories.CaloriesExpenditureKcal, Scores: map[scoreKey]float64{}}
	addScores(a.Scores, attachments(s.NonStructuredData))
	if s.Distance.Steps != nil {
		v := float64(*s.Distance.Steps)
		a.Steps = &v
	}
	return a, true
}
