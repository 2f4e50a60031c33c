package fhir

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DateParam is one value of a date search parameter: a comparison and the
// range [Lo, Hi) its value covers at its precision (a day covers the whole
// day).
type DateParam struct {
	Prefix string
	Lo, Hi time.Time
}

// ParseDate reads a date search value such as ge2024-03-01 or
// le2024-03-31T23:59:59Z. The prefixes are eq (the default), ge, le, gt
// and lt. A value without a time zone is read as UTC.
func ParseDate(v string) (DateParam, error) {
	p := DateParam{Prefix: "eq"}
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' && v[2] >= '0' && v[2] <= '9' {
		p.Prefix, v = v[:2], v[2:]
		switch p.Prefix {
		case "eq", "ge", "le", "gt", "lt":
		default:
			return p, fmt.Errorf("the prefix %q is not supported: use eq, ge, le, gt or lt", p.Prefix)
		}
	}
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{time.DateOnly, func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{time.RFC3339, func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, v); err == nil {
			p.Lo, p.Hi = t, l.next(t)
			return p, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		p.Lo, p.Hi = t, t.Add(time.Nanosecond)
		return p, nil
	}
	return p, errors.New("it is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone, after a prefix such as ge or le")
}

// Matches reports whether a target covering [start, end) satisfies the
// parameter as FHIR defines it for ranges: ge and gt match when the target
// reaches past the value's start (or end), le and lt when it begins before
// the value's end (or start), eq when the value's range contains it.
func (p DateParam) Matches(start, end time.Time) bool {
	switch p.Prefix {
	case "ge":
		return end.After(p.Lo)
	case "gt":
		return end.After(p.Hi)
	case "le":
		return start.Before(p.Hi)
	case "lt":
		return start.Before(p.Lo)
	}
	return !start.Before(p.Lo) && !end.After(p.Hi)
}

// Range is the time an Observation covers, as [start, end): a day-precise
// date covers its whole day (in UTC), an instant one nanosecond, a period
// from its start to its end inclusive. ok is false when the effective time
// does not read.
func (o *Observation) Range() (start, end time.Time, ok bool) {
	if p := o.EffectivePeriod; p != nil {
		s, err1 := time.Parse(time.RFC3339Nano, p.Start)
		e, err2 := time.Parse(time.RFC3339Nano, p.End)
		if err1 != nil || err2 != nil {
			return start, end, false
		}
		return s, e.Add(time.Nanosecond), true
	}
	if t, err := time.Parse(time.DateOnly, o.EffectiveDateTime); err == nil {
		return t, t.AddDate(0, 0, 1), true
	}
	t, err := time.Parse(time.RFC3339Nano, o.EffectiveDateTime)
	if err != nil {
		return start, end, false
	}
	return t, t.Add(time.Nanosecond), true
}

// Token is one value of a token search parameter: system|code, code (any
// system), |code (no system) or system| (any code of the system).
type Token struct {
	System, Code string
	// AnySystem is set when the value names no system at all.
	AnySystem bool
}

// ParseTokens reads a comma-separated list of tokens (any of them may
// match).
func ParseTokens(v string) ([]Token, error) {
	var out []Token
	for _, s := range strings.Split(v, ",") {
		if s == "" {
			return nil, errors.New("a value is empty: give system|code or code, separated by commas")
		}
		sys, code, has := strings.Cut(s, "|")
		if !has {
			out = append(out, Token{Code: s, AnySystem: true})
			continue
		}
		if sys == "" && code == "" {
			return nil, errors.New(`"|" alone names nothing: give system|code or code`)
		}
		out = append(out, Token{System: sys, Code: code})
	}
	return out, nil
}

// MatchesAny reports whether one of c's codings matches one of the tokens.
func (c CodeableConcept) MatchesAny(ts []Token) bool {
	for _, t := range ts {
		for _, x := range c.Coding {
			if (t.AnySystem || t.System == x.System) && (t.Code == "" || t.Code == x.Code) {
				return true
			}
		}
	}
	return false
}
