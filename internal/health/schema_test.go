package health

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// rookYAML is ROOK's published OpenAPI document, kept outside the module.
const rookYAML = "../../../shared/reference/rook-openapi-2.0.1.yaml"

var loadROOKOnce = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromFile(rookYAML)
})

// loadROOK returns the parsed document, skipping the test when the
// reference file is not there.
func loadROOK(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := os.Stat(rookYAML); errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present", rookYAML)
	}
	doc, err := loadROOKOnce()
	if err != nil {
		t.Fatalf("load %s: %v", rookYAML, err)
	}
	return doc
}

// renamesFor maps object path -> published key -> emitted key for one
// schema, from the recorded typo decisions.
func renamesFor(schema string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, ty := range Typos() {
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

// closedSchema returns a copy of the named component schema that rejects
// keys it does not define: allOf branches are merged into one object and
// every object gets additionalProperties: false, except the free-form items
// of non_structured_data_array. Keys listed in renames are renamed (typo
// decisions). The loaded document itself is not modified.
func closedSchema(t *testing.T, doc *openapi3.T, name string, renames map[string]map[string]string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("schema %s not in %s", name, rookYAML)
	}
	return closeSchema(ref, "", renames).Value
}

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
			c.Properties[key] = closeSchema(v, joinPath(path, k), renames)
		}
		c.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	if s.Items != nil {
		c.Items = closeSchema(s.Items, path+"[]", renames)
	}
	return &openapi3.SchemaRef{Value: &c}
}

// schemaPaths collects every property path a (closed) schema defines, in
// the notation of jsonPaths.
func schemaPaths(s *openapi3.Schema, prefix string, out map[string]bool) {
	for k, v := range s.Properties {
		p := joinPath(prefix, k)
		out[p] = true
		if k != "non_structured_data_array" {
			schemaPaths(v.Value, p, out)
		}
	}
	if s.Items != nil {
		schemaPaths(s.Items.Value, prefix+"[]", out)
	}
}

// validate checks a marshalled document against a closed schema, nulls
// removed.
func validate(t *testing.T, schema *openapi3.Schema, body []byte) error {
	t.Helper()
	return schema.VisitJSON(stripNulls(decodeAny(t, body)), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}

// TestSchemaConformance validates every structure's fully populated example
// against ROOK's schema, closed to unknown keys, and checks that every key
// the schema defines is one our type emits.
func TestSchemaConformance(t *testing.T) {
	doc := loadROOK(t)
	for _, s := range Structures() {
		t.Run(s.Pillar+"/"+s.Name, func(t *testing.T) {
			schema := closedSchema(t, doc, s.Schema, renamesFor(s.Schema))
			body, err := json.Marshal(fullExample(t, s))
			if err != nil {
				t.Fatal(err)
			}

			// A null in the example would hide that field from validation.
			var nulls []string
			nullLeaves(decodeAny(t, body), "", &nulls)
			if len(nulls) > 0 {
				t.Fatalf("example is not fully populated, null at %v", nulls)
			}

			if err := validate(t, schema, body); err != nil {
				t.Errorf("does not validate against %s:\n%v\n%s", s.Schema, err, body)
			}

			want := map[string]bool{}
			schemaPaths(schema, "", want)
			got := map[string]bool{}
			jsonPaths(decodeAny(t, body), "", got)
			if missing := difference(want, got); len(missing) > 0 {
				t.Errorf("keys %s defines that we never emit:\n  %s", s.Schema, strings.Join(missing, "\n  "))
			}
			if extra := difference(got, want); len(extra) > 0 {
				t.Errorf("keys we emit that %s does not define:\n  %s", s.Schema, strings.Join(extra, "\n  "))
			}
		})
	}
}

// TestSchemaValidationRejects makes sure the closed schemas can fail: an
// unknown key, a wrong type and a misspelled key must each be rejected, and
// free-form non_structured_data_array items must not.
func TestSchemaValidationRejects(t *testing.T) {
	doc := loadROOK(t)
	s, _ := Lookup(PillarSleep, SleepSummary)
	schema := closedSchema(t, doc, s.Schema, renamesFor(s.Schema))
	body, err := json.Marshal(fullExample(t, s))
	if err != nil {
		t.Fatal(err)
	}
	record := func(m map[string]any) map[string]any {
		r, ok := dig(m, "sleep_health.summary.sleep_summary")
		if !ok {
			t.Fatal("no sleep_summary in example")
		}
		return r
	}
	tests := []struct {
		name    string
		mutate  func(m map[string]any)
		wantErr bool
	}{
		{"unchanged", func(map[string]any) {}, false},
		{"unknown key in a section", func(m map[string]any) {
			record(m)["duration"].(map[string]any)["sleep_duration_seconds"] = 1.0
		}, true},
		{"unknown key at the top", func(m map[string]any) { m["extra"] = "x" }, true},
		{"string where an integer belongs", func(m map[string]any) {
			record(m)["duration"].(map[string]any)["time_in_bed_seconds_int"] = "8h"
		}, true},
		{"fraction where an integer belongs", func(m map[string]any) {
			record(m)["scores"].(map[string]any)["sleep_goal_seconds_int"] = 1.5
		}, true},
		{"published misspelling instead of our spelling", func(m map[string]any) {
			item := record(m)["breathing"].(map[string]any)["saturation_granular_data_array"].([]any)[0].(map[string]any)
			item["interval_duration_seconds_float_number"] = item["interval_duration_seconds_float"]
			delete(item, "interval_duration_seconds_float")
		}, true},
		{"any keys in non_structured_data_array", func(m map[string]any) {
			record(m)["non_structured_data_array"] = []any{map[string]any{"anything": map[string]any{"goes": true}}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decodeAny(t, body)
			tt.mutate(m)
			err := schema.VisitJSON(stripNulls(m), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
			if (err != nil) != tt.wantErr {
				t.Errorf("validation error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// TestTypoDecisions documents each recorded misspelling: the YAML still
// has it (else the decision is stale), our spelling is not in the YAML at
// that place, and our document emits our spelling and never the YAML's.
func TestTypoDecisions(t *testing.T) {
	doc := loadROOK(t)
	typos := Typos()
	if len(typos) == 0 {
		t.Fatal("no typo decisions recorded")
	}
	for _, ty := range typos {
		t.Run(ty.Schema+"/"+ty.Object+"/"+ty.Published, func(t *testing.T) {
			if ty.Published == ty.Emitted {
				t.Fatalf("published and emitted spellings are the same: %s", ty.Emitted)
			}
			published := closedSchema(t, doc, ty.Schema, nil)
			obj := published
			for _, seg := range strings.Split(ty.Object, ".") {
				name, isArray := strings.CutSuffix(seg, "[]")
				p := obj.Properties[name]
				if p == nil {
					t.Fatalf("%s: no %s on the way to %s", ty.Schema, name, ty.Object)
				}
				obj = p.Value
				if isArray {
					obj = obj.Items.Value
				}
			}
			if obj.Properties[ty.Published] == nil {
				t.Errorf("%s no longer spells %s at %s: drop this decision", ty.Schema, ty.Published, ty.Object)
			}
			if obj.Properties[ty.Emitted] != nil {
				t.Errorf("%s already defines %s at %s", ty.Schema, ty.Emitted, ty.Object)
			}

			var st Structure
			for _, s := range Structures() {
				if s.Schema == ty.Schema {
					st = s
				}
			}
			body, err := json.Marshal(fullExample(t, st))
			if err != nil {
				t.Fatal(err)
			}
			m, ok := dig(decodeAny(t, body), ty.Object)
			if !ok {
				t.Fatalf("our %s has no object at %s", st.Name, ty.Object)
			}
			if _, ok := m[ty.Emitted]; !ok {
				t.Errorf("our %s lacks %s at %s", st.Name, ty.Emitted, ty.Object)
			}
			if _, ok := m[ty.Published]; ok {
				t.Errorf("our %s emits the misspelling %s at %s", st.Name, ty.Published, ty.Object)
			}
		})
	}
	// The misspellings must not appear anywhere in any document we emit.
	for _, s := range Structures() {
		body, err := json.Marshal(fullExample(t, s))
		if err != nil {
			t.Fatal(err)
		}
		for _, ty := range typos {
			if strings.Contains(string(body), `"`+ty.Published+`"`) {
				t.Errorf("%s/%s emits %s", s.Pillar, s.Name, ty.Published)
			}
		}
	}
}

// TestRoutesMatchSchema checks the structure table against the document:
// each route exists and answers 200 with the recorded schema, whose
// data_structure example is the structure's name, and every processed_data
// route of the document is in the table.
func TestRoutesMatchSchema(t *testing.T) {
	doc := loadROOK(t)
	for _, s := range Structures() {
		t.Run(s.Route, func(t *testing.T) {
			item := doc.Paths.Value(s.Route)
			if item == nil || item.Get == nil {
				t.Fatalf("no GET %s", s.Route)
			}
			resp := item.Get.Responses.Status(200)
			if resp == nil || resp.Value == nil {
				t.Fatalf("GET %s: no 200 response", s.Route)
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Fatalf("GET %s: no JSON schema", s.Route)
			}
			if want := "#/components/schemas/" + s.Schema; mt.Schema.Ref != want {
				t.Errorf("GET %s returns %s, table says %s", s.Route, mt.Schema.Ref, want)
			}
			ds := closedSchema(t, doc, s.Schema, nil).Properties["data_structure"]
			if ds == nil || ds.Value.Example != s.Name {
				t.Errorf("%s: data_structure example is not %q", s.Schema, s.Name)
			}
			if _, ok := closedSchema(t, doc, s.Schema, nil).Properties[s.Pillar]; !ok {
				t.Errorf("%s has no %s object", s.Schema, s.Pillar)
			}
		})
	}
	var routes []string
	for p, item := range doc.Paths.Map() {
		if strings.HasPrefix(p, "/v2/processed_data/") && item.Get != nil {
			routes = append(routes, p)
			if _, ok := LookupRoute(p); !ok {
				t.Errorf("route %s is not in the structure table", p)
			}
		}
	}
	if len(routes) != len(Structures()) {
		slices.Sort(routes)
		t.Errorf("document has %d processed_data routes, table has %d: %v", len(routes), len(Structures()), routes)
	}
}

// TestEmptyDocumentEmitsEveryKey checks that a document with nothing known
// still carries every key the schema defines, down to the arrays and
// *_object values that are null: a receiver never has to tell a missing key
// from an unknown value.
func TestEmptyDocumentEmitsEveryKey(t *testing.T) {
	doc := loadROOK(t)
	for _, s := range Structures() {
		t.Run(s.Pillar+"/"+s.Name, func(t *testing.T) {
			schema := closedSchema(t, doc, s.Schema, renamesFor(s.Schema))
			all := map[string]bool{}
			schemaPaths(schema, "", all)
			want := map[string]bool{}
			for p := range all {
				// Below a null array or *_object there is nothing to emit;
				// the event array itself holds one empty record here.
				q := strings.Replace(p, "events."+s.Name+"[]", "events."+s.Name, 1)
				if !strings.Contains(q, "[]") && !strings.Contains(q, "_object.") {
					want[p] = true
				}
			}
			body, err := json.Marshal(withOneEmptyEvent(s))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			jsonPaths(decodeAny(t, body), "", got)
			if missing := difference(want, got); len(missing) > 0 {
				t.Errorf("empty %s lacks keys:\n  %s\n%s", s.Name, strings.Join(missing, "\n  "), body)
			}
		})
	}
}
