package normalize

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil"
)

// Validation against ROOK's published OpenAPI document, with the house
// rules of DESIGN.md: nulls count as absent (ROOK marks nothing nullable
// but sends null for unknown values), every object schema rejects keys it
// does not define (except the free-form items of
// non_structured_data_array), and the recorded typo decisions rename the
// published misspellings. The approach is internal/health's schema test,
// whose helpers live in another package's test files.

type rookSchemas struct {
	mu      sync.Mutex
	doc     *openapi3.T
	schemas map[string]*openapi3.Schema
}

var (
	rookOnce sync.Once
	rook     rookSchemas
	rookErr  error
)

// schemaFor returns the closed schema of a structure, skipping the test
// when the reference document is absent.
func schemaFor(t testing.TB, pillar, name string) *openapi3.Schema {
	t.Helper()
	path := testutil.ReferenceFile(t, "rook-openapi-2.0.1.yaml")
	rookOnce.Do(func() {
		rook.doc, rookErr = openapi3.NewLoader().LoadFromFile(path)
		rook.schemas = map[string]*openapi3.Schema{}
	})
	if rookErr != nil {
		t.Fatalf("load ROOK document: %v", rookErr)
	}
	s, ok := health.Lookup(pillar, name)
	if !ok {
		t.Fatalf("no structure %s/%s", pillar, name)
	}
	rook.mu.Lock()
	defer rook.mu.Unlock()
	if c, ok := rook.schemas[s.Schema]; ok {
		return c
	}
	ref := rook.doc.Components.Schemas[s.Schema]
	if ref == nil {
		t.Fatalf("schema %s not in the ROOK document", s.Schema)
	}
	c := closeSchema(ref, "", typoRenames(s.Schema)).Value
	rook.schemas[s.Schema] = c
	return c
}

// typoRenames maps object path -> published key -> emitted key.
func typoRenames(schema string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, ty := range health.Typos() {
		if ty.Schema != schema {
			continue
		}
		if out[ty.Object] == nil {
			out[ty.Object] = map[string]string{}
		}
		out[ty.Object][ty.Published] = ty.Emitted
	}
	return out
}

// closeSchema copies a schema with allOf merged and additionalProperties
// false on every object, renaming keys per the typo decisions.
func closeSchema(ref *openapi3.SchemaRef, path string, renames map[string]map[string]string) *openapi3.SchemaRef {
	no := false
	s := ref.Value
	if len(s.AllOf) > 0 {
		merged := &openapi3.Schema{
			Type:                 &openapi3.Types{openapi3.TypeObject},
			Properties:           openapi3.Schemas{},
			AdditionalProperties: openapi3.AdditionalProperties{Has: &no},
		}
		for _, part := range s.AllOf {
			for k, v := range closeSchema(part, path, renames).Value.Properties {
				merged.Properties[k] = v
			}
		}
		return &openapi3.SchemaRef{Value: merged}
	}
	c := *s
	if s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0 {
		c.Properties = openapi3.Schemas{}
		for k, v := range s.Properties {
			key := k
			if to, ok := renames[path][k]; ok {
				key = to
			}
			if k == "non_structured_data_array" {
				c.Properties[key] = v
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			c.Properties[key] = closeSchema(v, p, renames)
		}
		c.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	if s.Items != nil {
		c.Items = closeSchema(s.Items, path+"[]", renames)
	}
	return &openapi3.SchemaRef{Value: &c}
}

// stripNulls removes null members and items.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = stripNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, stripNulls(e))
			}
		}
		return out
	}
	return v
}

// validateDoc checks one document against its structure's closed schema.
func validateDoc(t testing.TB, d health.Doc) error {
	t.Helper()
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return validateJSON(t, d.Pillar(), d.DataStructure(), body)
}

func validateJSON(t testing.TB, pillar, name string, body []byte) error {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return schemaFor(t, pillar, name).VisitJSON(stripNulls(v), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}

// TestSchemaValid validates every document of every golden input set, and
// checks that each normalized item of non_structured_data_array is an
// object (ROOK's items are free-form objects).
func TestSchemaValid(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in, opt := c.input(t)
			results, err := Normalize(in, opt)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, r := range results {
				seen[r.Doc.Pillar()+"/"+r.Doc.DataStructure()] = true
				if err := validateDoc(t, r.Doc); err != nil {
					t.Errorf("%s/%s %s: %v", r.Doc.Pillar(), r.Doc.DataStructure(), r.Key, err)
				}
				body, _ := json.Marshal(r.Doc)
				for _, item := range nonStructuredItems(t, body) {
					if !strings.HasPrefix(strings.TrimSpace(string(item)), "{") {
						t.Errorf("%s %s: non-structured item is not an object: %.80s", r.Doc.DataStructure(), r.Key, item)
					}
				}
			}
			t.Logf("validated %d documents of %d structures", len(results), len(seen))
		})
	}
}

// nonStructuredItems collects every non_structured_data_array item of a
// document.
func nonStructuredItems(t testing.TB, body []byte) []json.RawMessage {
	var out []json.RawMessage
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				if k == "non_structured_data_array" {
					var items []json.RawMessage
					_ = json.Unmarshal(v, &items)
					out = append(out, items...)
					continue
				}
				walk(v)
			}
			return
		}
		var a []json.RawMessage
		if json.Unmarshal(raw, &a) == nil {
			for _, e := range a {
				walk(e)
			}
		}
	}
	walk(body)
	return out
}

// TestSchemaValidationCanFail makes sure the closed schemas reject what
// they should, on a real normalized document: an unknown key, a wrong
// type, a published misspelling instead of our spelling.
func TestSchemaValidationCanFail(t *testing.T) {
	results, err := Normalize(seed003Input(t), Options{ClientUUID: testClient, UserID: testUser})
	if err != nil {
		t.Fatal(err)
	}
	var sleep health.Doc
	for _, r := range results {
		if r.Doc.DataStructure() == health.SleepSummary {
			sleep = r.Doc
		}
	}
	if sleep == nil {
		t.Fatal("no sleep_summary")
	}
	body, _ := json.Marshal(sleep)
	tests := []struct {
		name    string
		from    string
		to      string
		wantErr bool
	}{
		{"unchanged", "", "", false},
		{"unknown key", `"sleep_duration_seconds_int":`, `"sleep_seconds_int":1,"sleep_duration_seconds_int":`, true},
		{"string for an integer", `"time_in_bed_seconds_int":29280`, `"time_in_bed_seconds_int":"8h"`, true},
		{"fraction for an integer", `"time_in_bed_seconds_int":29280`, `"time_in_bed_seconds_int":29280.5`, true},
		{"published misspelling", `"saturation_granular_data_array":null`,
			`"saturation_granular_data_array":[{"datetime_string":"2022-12-01T00:43:00Z","interval_duration_seconds_float_number":60}]`, true},
		{"anything inside non_structured_data_array", `"non_structured_data_array":[`, `"non_structured_data_array":[{"any":{"keys":[1]}},`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := string(body)
			if tt.from != "" {
				if !strings.Contains(b, tt.from) {
					t.Fatalf("document has no %s", tt.from)
				}
				b = strings.Replace(b, tt.from, tt.to, 1)
			}
			err := validateJSON(t, health.PillarSleep, health.SleepSummary, []byte(b))
			if (err != nil) != tt.wantErr {
				t.Errorf("validation error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
