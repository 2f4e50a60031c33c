package normalize

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// Validation against ROOK's published OpenAPI document under the house
// rules Oura's normalizer is held to (testutil/rookschema): nulls count as
// absent, every object is closed (except the free-form items of
// non_structured_data_array), and the recorded typo decisions rename the
// published misspellings.

// TestSchemaValid validates every document of every golden input set.
func TestSchemaValid(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			docs, opt := c.input(t)
			results, err := Normalize(docs, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				body, err := json.Marshal(r.Doc)
				if err != nil {
					t.Fatal(err)
				}
				if err := rookschema.Validate(t, r.Doc.Pillar(), r.Doc.DataStructure(), body); err != nil {
					t.Errorf("%s/%s %s: %v", r.Doc.Pillar(), r.Doc.DataStructure(), r.Key, err)
				}
			}
		})
	}
}

// TestSchemaValidationCanFail: the closed schemas do reject an unknown
// key and a wrong type on a real WHOOP document.
func TestSchemaValidationCanFail(t *testing.T) {
	docs, opt := loadInput(t, "synthetic-dst-week")
	results, err := Normalize(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, r := range results {
		if r.Doc.DataStructure() == health.SleepSummary && r.Key == "2024-03-30" {
			body, _ = json.Marshal(r.Doc)
		}
	}
	for _, tt := range []struct{ from, to string }{
		{`"time_in_bed_seconds_int":27000`, `"time_in_bed_seconds_int":27000,"whoop_strain_float":1`},
		{`"time_in_bed_seconds_int":27000`, `"time_in_bed_seconds_int":"7.5h"`},
	} {
		b := string(body)
		if !strings.Contains(b, tt.from) {
			t.Fatalf("document has no %s", tt.from)
		}
		if err := rookschema.Validate(t, health.PillarSleep, health.SleepSummary, []byte(strings.Replace(b, tt.from, tt.to, 1))); err == nil {
			t.Errorf("%s: accepted", tt.to)
		}
	}
}
