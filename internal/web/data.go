package web

import (
	"encoding/json"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// What the dashboard reads from the stored ROOK documents: the night's
// hypnogram (the derived item in sleep_summary's non_structured_data_array),
// heart rate and HRV (its granular arrays), the day's steps and calories
// (physical_summary) and Oura's scores (the attached daily documents).

// attachment is an item of non_structured_data_array.
type attachment struct {
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

// score is the score of the attached document of coll ("" role: the one
// mapped), nil when there is none.
func score(as []attachment, coll string) *float64 {
	for _, a := range as {
		if a.Collection != coll || a.Role != "" {
			continue
		}
		var s struct {
			Score *float64 `json:"score"`
		}
		if json.Unmarshal(a.Document, &s) == nil && s.Score != nil {
			return s.Score
		}
	}
	return nil
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
	SleepScore   *float64
	Readiness    *float64
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
	n := night{Duration: s.Duration.SleepDurationSeconds, AvgHeartRate: s.HeartRate.HRAvgBPM, AvgHRV: s.HeartRate.HRVAvgRMSSD}
	as := attachments(s.NonStructuredData)
	n.SleepScore = score(as, oura.CollDailySleep)
	n.Readiness = score(as, oura.CollDailyReadiness)
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
	Score    *float64
}

func readActivity(d store.HealthDocument) (activity, bool) {
	doc, ok := decode(d).(*health.PhysicalSummaryDocument)
	if !ok {
		return activity{}, false
	}
	s := doc.Summary
	a := activity{Calories: s.Calories.CaloriesExpenditureKcal, Score: score(attachments(s.NonStructuredData), oura.CollDailyActivity)}
	if s.Distance.Steps != nil {
		v := float64(*s.Distance.Steps)
		a.Steps = &v
	}
	return a, true
}
