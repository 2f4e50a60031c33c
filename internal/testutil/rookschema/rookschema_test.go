package rookschema

import (
	"encoding/json"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
)

// TestValidateCanFail: the closed schemas accept a valid document with
// nulls and free-form non_structured_data_array items, and reject an
// unknown key, a wrong type and a published misspelling.
func TestValidateCanFail(t *testing.T) {
	doc := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: "c", UserID: "u", DocumentVersion: 1, Day: "2024-01-01"}}
	doc.Summary.Duration.SleepDurationSeconds = health.Int(100)
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(t, health.PillarSleep, health.SleepSummary, body); err != nil {
		t.Fatalf("a valid document with nulls: %v", err)
	}
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	summary := func(m map[string]any) map[string]any {
		return m["sleep_health"].(map[string]any)["summary"].(map[string]any)["sleep_summary"].(map[string]any)
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{"unknown top-level key", mutate(func(m map[string]any) { m["extra"] = 1 }), true},
		{"unknown nested key", mutate(func(m map[string]any) { summary(m)["duration"].(map[string]any)["naps_int"] = 1 }), true},
		{"string for an integer", mutate(func(m map[string]any) { summary(m)["duration"].(map[string]any)["sleep_duration_seconds_int"] = "1" }), true},
		{"published misspelling", mutate(func(m map[string]any) {
			summary(m)["breathing"].(map[string]any)["saturation_granular_data_array"] = []any{map[string]any{"interval_duration_seconds_float_number": 1}}
		}), true},
		{"our spelling", mutate(func(m map[string]any) {
			summary(m)["breathing"].(map[string]any)["saturation_granular_data_array"] = []any{map[string]any{"interval_duration_seconds_float": 1}}
		}), false},
		{"free-form non_structured_data_array", mutate(func(m map[string]any) {
			summary(m)["non_structured_data_array"] = []any{map[string]any{"any": map[string]any{"thing": true}}}
		}), false},
	}
	for _, tt := range tests {
		err := Validate(t, health.PillarSleep, health.SleepSummary, tt.body)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}
