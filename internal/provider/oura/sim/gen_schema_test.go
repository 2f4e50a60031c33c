package sim

import (
	"encoding/json"
	"fmt"
	"github.com/wearlink/wearlink/internal/testutil"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// A small validator for the subset of OpenAPI 3.1 schema keywords that Oura's
// document uses ($ref, anyOf, type, enum, properties, required, items,
// additionalProperties, minLength, format). It is stricter than the schema in
// two ways that match the live API: every declared property must be present
// (nulls included), and no undeclared property may appear.

type specSchemas map[string]map[string]any

func loadOuraSchemas(t *testing.T) specSchemas {
	t.Helper()
	b, err := os.ReadFile(testutil.ReferenceFile(t, "oura-openapi-1.37.json"))
	if err != nil {
		t.Skipf("Oura OpenAPI document not available: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

func (ss specSchemas) validate(s map[string]any, v any, path string, strict bool) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := ss[name]
		if !ok {
			return []string{path + ": unresolved " + ref}
		}
		return ss.validate(target, v, path, strict)
	}
	if branches, ok := s["anyOf"].([]any); ok {
		var first []string
		for _, br := range branches {
			errs := ss.validate(br.(map[string]any), v, path, strict)
			if len(errs) == 0 {
				return nil
			}
			if first == nil {
				first = errs
			}
		}
		return append([]string{path + ": matches no anyOf branch"}, first...)
	}
	var errs []string
	if typ, ok := s["type"].(string); ok && !jsonTypeIs(v, typ) {
		return []string{fmt.Sprintf("%s: %v is not %s", path, v, typ)}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v not in enum %v", path, v, enum))
	}
	if str, ok := v.(string); ok {
		if ml, ok := s["minLength"].(float64); ok && len(str) < int(ml) {
			errs = append(errs, path+": shorter than minLength")
		}
		switch s["format"] {
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				errs = append(errs, path+": bad date "+str)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				errs = append(errs, path+": bad date-time "+str)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := obj[r]; !ok {
				errs = append(errs, path+": required "+r+" missing")
			}
		}
		for k, pv := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					errs = append(errs, ss.validate(ap, pv, path+"."+k, strict)...)
				} else if strict || s["additionalProperties"] == false {
					errs = append(errs, path+": undeclared key "+k)
				}
				continue
			}
			errs = append(errs, ss.validate(ps, pv, path+"."+k, strict)...)
		}
		if strict {
			for k := range props {
				if _, ok := obj[k]; !ok {
					errs = append(errs, path+": declared key "+k+" not emitted")
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if is, ok := s["items"].(map[string]any); ok {
			for i, x := range arr {
				errs = append(errs, ss.validate(is, x, fmt.Sprintf("%s[%d]", path, i), strict)...)
				if len(errs) > 10 {
					break
				}
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func jsonTypeIs(v any, typ string) bool {
	switch typ {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// schemaOf names the published schema of each generated model.
var schemaOf = map[reflect.Type]string{
	reflect.TypeOf(oura.Sleep{}):                  "PublicModifiedSleepModel",
	reflect.TypeOf(oura.DailySleep{}):             "PublicDailySleep",
	reflect.TypeOf(oura.DailyReadiness{}):         "PublicDailyReadiness",
	reflect.TypeOf(oura.DailyActivity{}):          "PublicDailyActivity",
	reflect.TypeOf(oura.DailySpO2{}):              "PublicDailySpO2",
	reflect.TypeOf(oura.DailyStress{}):            "PublicDailyStress",
	reflect.TypeOf(oura.DailyResilience{}):        "DailyResilienceModel",
	reflect.TypeOf(oura.DailyCardiovascularAge{}): "PublicDailyCardiovascularAge",
	reflect.TypeOf(oura.VO2Max{}):                 "PublicVO2Max",
	reflect.TypeOf(oura.SleepTime{}):              "PublicSleepTime",
	reflect.TypeOf(oura.Workout{}):                "PublicWorkout",
	reflect.TypeOf(oura.Session{}):                "PublicSession",
	reflect.TypeOf(oura.Tag{}):                    "TagModel",
	reflect.TypeOf(oura.EnhancedTag{}):            "EnhancedTagModel",
	reflect.TypeOf(oura.RestModePeriod{}):         "PublicRestModePeriod",
	reflect.TypeOf(oura.HeartRate{}):              "PublicHeartRateRow",
	reflect.TypeOf(oura.RingBatteryLevel{}):       "PublicRingBatteryLevelRow",
	reflect.TypeOf(oura.RingConfiguration{}):      "PublicRingConfiguration",
	reflect.TypeOf(oura.PersonalInfo{}):           "PersonalInfoResponse",
}

// rangeOf lists the value ranges the schema states only in prose.
var rangeOf = map[string][2]float64{
	"score": {1, 100}, "efficiency": {1, 100}, "vascular_age": {18, 100},
	"breathing_disturbance_index": {0, 100}, "level": {0, 100},
	"sleep_recovery": {0, 100}, "daytime_recovery": {0, 100}, "stress": {0, 100},
	"activity_balance": {1, 100}, "body_temperature": {1, 100}, "hrv_balance": {1, 100},
	"previous_day_activity": {1, 100}, "previous_night": {1, 100}, "recovery_index": {1, 100},
	"resting_heart_rate": {1, 100}, "sleep_balance": {1, 100}, "sleep_regularity": {1, 100},
	"deep_sleep": {1, 100}, "rem_sleep": {1, 100}, "restfulness": {1, 100},
	"timing": {1, 100}, "total_sleep": {1, 100}, "meet_daily_targets": {1, 100}, "move_every_hour": {1, 100},
	"recovery_time": {1, 100}, "stay_active": {1, 100}, "training_frequency": {1, 100}, "training_volume": {1, 100},
}

func checkRanges(v any, path string) []string {
	var errs []string
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if r, ok := rangeOf[k]; ok {
				if f, isNum := sub.(float64); isNum && (f < r[0] || f > r[1]) {
					errs = append(errs, fmt.Sprintf("%s.%s = %v outside [%v, %v]", path, k, f, r[0], r[1]))
				}
			}
			errs = append(errs, checkRanges(sub, path+"."+k)...)
		}
	}
	return errs
}

func TestGenMatchesOuraSchema(t *testing.T) {
	ss := loadOuraSchemas(t)
	w := genWorld(t, 21, 4)
	var docs []any
	for _, u := range w.Users() {
		docs = append(docs, w.PersonalInfo(u))
		for _, rc := range w.RingConfigurations(u) {
			docs = append(docs, rc)
		}
		eachDay(t, w, u, "2024-07-01", "2024-10-31", func(dn int, d *Day) {
			for _, r := range docsOf(d) {
				docs = append(docs, r.doc)
			}
			for i := 0; i < len(d.HeartRate); i += 37 {
				docs = append(docs, d.HeartRate[i])
			}
			for _, b := range d.Battery {
				docs = append(docs, b)
			}
		})
	}
	failures := 0
	seen := map[string]int{}
	for _, doc := range docs {
		name := schemaOf[reflect.TypeOf(doc)]
		seen[name]++
		var v any
		if err := json.Unmarshal(mustJSON(t, doc), &v); err != nil {
			t.Fatal(err)
		}
		errs := ss.validate(ss[name], v, name, true)
		errs = append(errs, checkRanges(v, name)...)
		for _, e := range errs {
			if failures++; failures <= 20 {
				t.Error(e)
			}
		}
	}
	for _, name := range schemaOf {
		if seen[name] == 0 {
			t.Errorf("no %s validated", name)
		}
	}
}

// TestGenSchemaValidatorRejects keeps the validator honest: the same
// document must fail once broken.
func TestGenSchemaValidatorRejects(t *testing.T) {
	ss := loadOuraSchemas(t)
	w := genWorld(t, 21, 1)
	d := w.Day(w.Users()[0], "2024-08-01")
	base := mustJSON(t, d.Sleep[0])
	breaks := []struct {
		name  string
		apply func(m map[string]any)
	}{
		{"bad enum", func(m map[string]any) { m["type"] = "nap" }},
		{"missing required", func(m map[string]any) { delete(m, "bedtime_start") }},
		{"missing nullable key", func(m map[string]any) { delete(m, "ring_id") }},
		{"undeclared key", func(m map[string]any) { m["extra"] = 1 }},
		{"wrong type", func(m map[string]any) { m["time_in_bed"] = "8h" }},
		{"float for integer", func(m map[string]any) { m["period"] = 0.5 }},
		{"bad sample item", func(m map[string]any) { m["heart_rate"].(map[string]any)["items"] = []any{"x"} }},
	}
	var ok map[string]any
	if err := json.Unmarshal(base, &ok); err != nil {
		t.Fatal(err)
	}
	if errs := ss.validate(ss["PublicModifiedSleepModel"], ok, "sleep", true); len(errs) != 0 {
		t.Fatalf("unbroken document fails: %v", errs)
	}
	for _, tc := range breaks {
		var m map[string]any
		if err := json.Unmarshal(base, &m); err != nil {
			t.Fatal(err)
		}
		tc.apply(m)
		if errs := ss.validate(ss["PublicModifiedSleepModel"], m, "sleep", true); len(errs) == 0 {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
