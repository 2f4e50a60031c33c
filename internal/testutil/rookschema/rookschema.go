// Package rookschema validates wearlink's documents against ROOK's published
// OpenAPI 2.0.1 document (shared/reference/rook-openapi-2.0.1.yaml) with the
// house rules of DESIGN.md:
//
//   - null counts as absent: ROOK marks nothing nullable but sends null for
//     unknown values, so nulls are stripped before validating;
//   - every object schema rejects keys it does not define (allOf branches are
//     merged, additionalProperties set to false), except the free-form items
//     of non_structured_data_array, so a misspelled key fails;
//   - the recorded typo decisions (health.Typos, TYPOS.md) rename the
//     published misspellings to the spelling we emit.
//
// Tests in any package use it; the reference file lives outside the module,
// so every entry point skips the test when it is absent.
package rookschema

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil"
)

// File is the reference document's name in shared/reference.
const File = "rook-openapi-2.0.1.yaml"

var loaded struct {
	once sync.Once
	doc  *openapi3.T
	err  error

	mu      sync.Mutex
	schemas map[string]*openapi3.Schema
}

// Doc returns ROOK's parsed document (shared by every caller; do not modify
// it), skipping the test when the file is absent.
func Doc(t testing.TB) *openapi3.T {
	t.Helper()
	path := testutil.ReferenceFile(t, File)
	loaded.once.Do(func() {
		loaded.doc, loaded.err = openapi3.NewLoader().LoadFromFile(path)
		loaded.schemas = map[string]*openapi3.Schema{}
	})
	if loaded.err != nil {
		t.Fatalf("load %s: %v", File, loaded.err)
	}
	return loaded.doc
}

// Schema returns the closed form of a component schema (see the package
// comment), with the typo decisions recorded for it applied. The result is
// cached and shared: do not modify it.
func Schema(t testing.TB, name string) *openapi3.Schema {
	t.Helper()
	doc := Doc(t)
	loaded.mu.Lock()
	defer loaded.mu.Unlock()
	if s, ok := loaded.schemas[name]; ok {
		return s
	}
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("schema %s not in %s", name, File)
	}
	s := Close(ref, "", Renames(name)).Value
	loaded.schemas[name] = s
	return s
}

// Published returns the closed form of a component schema without the typo
// renames, as the YAML spells it.
func Published(t testing.TB, name string) *openapi3.Schema {
	t.Helper()
	ref := Doc(t).Components.Schemas[name]
	if ref == nil {
		t.Fatalf("schema %s not in %s", name, File)
	}
	return Close(ref, "", nil).Value
}

// StructureSchema returns the closed schema of the structure filed under
// pillar with the data_structure name.
func StructureSchema(t testing.TB, pillar, name string) *openapi3.Schema {
	t.Helper()
	s, ok := health.Lookup(pillar, name)
	if !ok {
		t.Fatalf("no structure %s/%s", pillar, name)
	}
	return Schema(t, s.Schema)
}

// Renames maps object path -> published key -> emitted key for one schema,
// from health.Typos.
func Renames(schema string) map[string]map[string]string {
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

// Close returns a copy of a schema that rejects keys it does not define:
// allOf branches merged into one object, additionalProperties false on
// every object except the free-form items of non_structured_data_array.
// Keys listed in renames (object path -> published -> emitted; paths join
// property names with dots, "[]" stepping into array items) are renamed.
// The schema given is not modified.
func Close(ref *openapi3.SchemaRef, path string, renames map[string]map[string]string) *openapi3.SchemaRef {
	no := false
	s := ref.Value
	if len(s.AllOf) > 0 {
		merged := &openapi3.Schema{
			Type:                 &openapi3.Types{openapi3.TypeObject},
			Properties:           openapi3.Schemas{},
			AdditionalProperties: openapi3.AdditionalProperties{Has: &no},
		}
		for _, part := range s.AllOf {
			c := Close(part, path, renames).Value
			for k, v := range c.Properties {
				merged.Properties[k] = v
			}
			merged.Required = append(merged.Required, c.Required...)
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
			c.Properties[key] = Close(v, JoinPath(path, k), renames)
		}
		c.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	if s.Items != nil {
		c.Items = Close(s.Items, path+"[]", renames)
	}
	return &openapi3.SchemaRef{Value: &c}
}

// JoinPath appends a property name to an object path.
func JoinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// StripNulls returns v without null members and items.
func StripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = StripNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, StripNulls(e))
			}
		}
		return out
	}
	return v
}

// ValidateJSON checks a JSON body against a closed schema, nulls removed.
func ValidateJSON(schema *openapi3.Schema, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return schema.VisitJSON(StripNulls(v), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}

// Validate checks a document of the structure pillar/name against its
// closed schema.
func Validate(t testing.TB, pillar, name string, body []byte) error {
	t.Helper()
	return ValidateJSON(StructureSchema(t, pillar, name), body)
}

// ValidateNamed checks a body against the named component schema, closed.
func ValidateNamed(t testing.TB, schema string, body []byte) error {
	t.Helper()
	return ValidateJSON(Schema(t, schema), body)
}
