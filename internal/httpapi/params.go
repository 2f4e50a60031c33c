package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// userIDParam checks a user_id from the path or the query.
func userIDParam(v string) (string, error) {
	if v == "" {
		return "", invalid("user_id is required.")
	}
	if !health.ValidUserID(v) {
		return "", invalid("user_id %s is not valid: use 1 to 50 letters, digits or hyphens.", quoteShort(v))
	}
	return v, nil
}

// quoteShort quotes a value for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// latestDay is the newest date that is today somewhere on Earth (UTC+14):
// a later date is in the future for every user.
func (a *API) latestDay() string {
	return a.now().UTC().Add(14 * time.Hour).Format(time.DateOnly)
}

// dayParam checks a YYYY-MM-DD date that must not be in the future.
func (a *API) dayParam(name, v string) (string, error) {
	if v == "" {
		return "", invalid("%s is required, as YYYY-MM-DD.", name)
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", invalid("%s %s is not a date: use YYYY-MM-DD, for example 2024-01-31.", name, quoteShort(v))
	}
	if v > a.latestDay() {
		return "", invalid("%s %s is in the future.", name, v)
	}
	return v, nil
}

// dayRange checks start_date and end_date: both valid days, in order, at
// most MaxRangeDays long.
func (a *API) dayRange(from, to string) (string, string, error) {
	from, err := a.dayParam("start_date", from)
	if err != nil {
		return "", "", err
	}
	to, err = a.dayParam("end_date", to)
	if err != nil {
		return "", "", err
	}
	if to < from {
		return "", "", invalid("end_date %s is before start_date %s.", to, from)
	}
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	if days := int(t.Sub(f).Hours()/24) + 1; days > a.cfg.MaxRangeDays {
		return "", "", invalid("start_date to end_date spans %d days; at most %d are allowed per request.", days, a.cfg.MaxRangeDays)
	}
	return from, to, nil
}

// decodeBody reads the JSON body into v, rejecting unknown fields, a
// missing or oversized body and anything after the object.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return invalid("The request body could not be read.")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return invalid("A JSON body is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return invalid("The body must hold one JSON object and nothing after it.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("The body must hold one JSON object and nothing after it.")
	}
	return nil
}

// bodyError turns a JSON decoding error into a message about the body.
func bodyError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return invalid("The body is not valid JSON (error at byte %d).", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("The body is not valid JSON: it ends too early.")
	case errors.As(err, &te):
		if te.Field == "" {
			return invalid("The body must be a JSON object.")
		}
		t := te.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		return invalid("%s must be a JSON %s, not %s.", te.Field, jsonKind(t.Kind()), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid("Unknown field %s in the body.", name)
	}
	return invalid("The body is not valid: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array"
	}
	return "object"
}
