package fhir_test

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/fhir"
)

// TestDateMatches: ge and le keep every target that overlaps the range,
// at the value's precision; eq keeps targets inside it.
func TestDateMatches(t *testing.T) {
	day := func(s string) fhir.Observation { return fhir.Observation{EffectiveDateTime: s} }
	instant := func(s string) fhir.Observation { return fhir.Observation{EffectiveDateTime: s} }
	period := func(a, b string) fhir.Observation {
		return fhir.Observation{EffectivePeriod: &fhir.Period{Start: a, End: b}}
	}
	night := period("2024-03-24T23:10:00+01:00", "2024-03-25T07:00:00+01:00") // 22:10Z .. 06:00Z
	tests := []struct {
		param string
		obs   fhir.Observation
		want  bool
	}{
		{"ge2024-03-25", night, true}, // it ends on the 25th
		{"ge2024-03-26", night, false},
		{"le2024-03-24", night, true}, // it starts on the 24th (UTC)
		{"le2024-03-23", night, false},
		{"eq2024-03-25", night, false}, // not inside the day
		{"2024-03", night, true},
		{"ge2024-03-25", day("2024-03-25"), true},
		{"le2024-03-25", day("2024-03-25"), true},
		{"ge2024-03-26", day("2024-03-25"), false},
		{"gt2024-03-25", day("2024-03-25"), false},
		{"lt2024-03-25", day("2024-03-25"), false},
		{"lt2024-03-26", day("2024-03-25"), true},
		{"le2024-03-25T10:00:00Z", instant("2024-03-25T10:00:00Z"), true},
		{"ge2024-03-25T10:00:00Z", instant("2024-03-25T10:00:00Z"), true},
		{"gt2024-03-25T10:00:00Z", instant("2024-03-25T10:00:00Z"), false},
		{"ge2024-03-25T11:00:00+01:00", instant("2024-03-25T10:00:00Z"), true},
		{"ge2024-03-25T10:00:01Z", instant("2024-03-25T10:00:00Z"), false},
	}
	for _, tt := range tests {
		p, err := fhir.ParseDate(tt.param)
		if err != nil {
			t.Fatalf("%s: %v", tt.param, err)
		}
		s, e, ok := tt.obs.Range()
		if !ok {
			t.Fatalf("%+v: no range", tt.obs)
		}
		if got := p.Matches(s, e); got != tt.want {
			t.Errorf("date=%s on %s..%s: %v, want %v", tt.param, s.Format(time.RFC3339), e.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestParseDateRejects(t *testing.T) {
	for _, v := range []string{"", "ap2024-01-01", "2024-13-01", "yesterday", "ge", "2024-01-01T10"} {
		if _, err := fhir.ParseDate(v); err == nil {
			t.Errorf("date=%q accepted", v)
		}
	}
}

func TestTokens(t *testing.T) {
	c := fhir.CodeableConcept{Coding: []fhir.Coding{{System: fhir.LOINC, Code: "8867-4"}}}
	tests := []struct {
		v    string
		want bool
	}{
		{"http://loinc.org|8867-4", true},
		{"8867-4", true},
		{"http://loinc.org|", true},
		{"|8867-4", false},
		{"http://loinc.org|9279-1,8867-4", true},
		{"https://wearlink.dev/fhir/CodeSystem/metrics|8867-4", false},
	}
	for _, tt := range tests {
		ts, err := fhir.ParseTokens(tt.v)
		if err != nil {
			t.Fatalf("%s: %v", tt.v, err)
		}
		if got := c.MatchesAny(ts); got != tt.want {
			t.Errorf("code=%s: %v, want %v", tt.v, got, tt.want)
		}
	}
	for _, v := range []string{"", "|", "a,,b"} {
		if _, err := fhir.ParseTokens(v); err == nil {
			t.Errorf("code=%q accepted", v)
		}
	}
}
