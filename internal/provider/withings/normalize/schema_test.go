package normalize

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// Validation against ROOK's published OpenAPI document under the house
// rules every normalizer is held to (testutil/rookschema): nulls count as
// absent, every object is closed (except the free-form items of
// non_structured_data_array), the recorded typo decisions rename the
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

// TestSchemaValidationCanFail: the closed schemas do reject an unknown key
// and a wrong type in a Withings document.
func TestSchemaValidationCanFail(t *testing.T) {
	docs, opt := loadInput(t, "synthetic-week")
	results, err := Normalize(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, r := range results {
		if r.Doc.DataStructure() == health.BodySummary && r.Key == "2024-03-08" {
			body, _ = json.Marshal(r.Doc)
		}
	}
	for _, tt := range []struct{ from, to string }{
		{`"weight_kg_float":80.25`, `"weight_kg_float":80.25,"fat_ratio_float":21.5`},
		{`"weight_kg_float":80.25`, `"weight_kg_float":"80.25 kg"`},
	} {
		b := string(body)
		if !strings.Contains(b, tt.from) {
			t.Fatalf("document has no %s", tt.from)
		}
		if err := rookschema.Validate(t, health.PillarBody, health.BodySummary, []byte(strings.Replace(b, tt.from, tt.to, 1))); err == nil {
			t.Errorf("%s: accepted", tt.to)
		}
	}
}
