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

// Validation against ROOK's published OpenAPI document under the house
// rules Oura's normalizer is held to: nulls count as absent, every object
// is closed (except the free-form items of non_structured_data_array), and
// the recorded typo decisions rename the published misspellings.

type rookSchemas struct {
	once    sync.Once
	err     error
	doc     *openapi3.T
	mu      sync.Mutex
	schemas map[string]*openapi3.Schema
}

func (r *rookSchemas) schemaFor(t testing.TB, pillar, name string) *openapi3.Schema {
	t.Helper()
	path := testutil.ReferenceFile(t, "rook-openapi-2.0.1.yaml")
	r.once.Do(func() {
		r.doc, r.err = openapi3.NewLoader().LoadFromFile(path)
		r.schemas = map[string]*openapi3.Schema{}
	})
	if r.err != nil {
		t.Fatalf("load ROOK document: %v", r.err)
	}
	s, ok := health.Lookup(pillar, name)
	if !ok {
		t.Fatalf("no structure %s/%s", pillar, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.schemas[s.Schema]; ok {
		return c
	}
	ref := r.doc.Components.Schemas[s.Schema]
	if ref == nil {
		t.Fatalf("schema %s not in the ROOK document", s.Schema)
	}
	renames := map[string]map[string]string{}
	for _, ty := range health.Typos() {
		if ty.Schema == s.Schema {
			if renames[ty.Object] == nil {
				renames[ty.Object] = map[string]string{}
			}
			renames[ty.Object][ty.Published] = ty.Emitted
		}
	}
	c := closeSchema(ref, "", renames).Value
	r.schemas[s.Schema] = c
	return c
}

// closeSchema copies a schema with allOf merged and additionalProperties
// false on every object, renaming keys per the typo decisions.
func closeSchema(ref *openapi3.SchemaRef, path string, renames map[string]map[string]string) *openapi3.SchemaRef {
	no := false
	s := ref.Value
	if len(s.AllOf) > 0 {
		merged := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Properties: openapi3.Schemas{},
			AdditionalProperties: openapi3.AdditionalProperties{Has: &no}}
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

func (r *rookSchemas) validate(t testing.TB, pillar, name string, body []byte) error {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return r.schemaFor(t, pillar, name).VisitJSON(stripNulls(v), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}

// TestSchemaValid validates every document of every golden input set.
func TestSchemaValid(t *testing.T) {
	var rook rookSchemas
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
				if err := rook.validate(t, r.Doc.Pillar(), r.Doc.DataStructure(), body); err != nil {
					t.Errorf("%s/%s %s: %v", r.Doc.Pillar(), r.Doc.DataStructure(), r.Key, err)
				}
			}
		})
	}
}

// TestSchemaValidationCanFail: the closed schemas do reject an unknown
// key and a wrong type on a real WHOOP document.
func TestSchemaValidationCanFail(t *testing.T) {
	var rook rookSchemas
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
		if err := rook.validate(t, health.PillarSleep, health.SleepSummary, []byte(strings.Replace(b, tt.from, tt.to, 1))); err == nil {
			t.Errorf("%s: accepted", tt.to)
		}
	}
}
