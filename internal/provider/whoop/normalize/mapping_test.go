package normalize

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/testutil"
)

// mappingFile is MAPPING.md at the repository root; its WHOOP section
// starts at "## WHOOP" and runs to the end of the file.
const mappingFile = "../../../../MAPPING.md"

// specSchemas names the spec's schema and the model of each collection.
func specSchemas() map[string]struct {
	schema string
	model  reflect.Type
} {
	return map[string]struct {
		schema string
		model  reflect.Type
	}{
		whoop.CollCycle:           {"Cycle", reflect.TypeFor[whoop.Cycle]()},
		whoop.CollSleep:           {"Sleep", reflect.TypeFor[whoop.Sleep]()},
		whoop.CollRecovery:        {"Recovery", reflect.TypeFor[whoop.Recovery]()},
		whoop.CollWorkout:         {"WorkoutV2", reflect.TypeFor[whoop.Workout]()},
		whoop.CollBodyMeasurement: {"UserBodyMeasurement", reflect.TypeFor[whoop.UserBodyMeasurement]()},
		whoop.CollProfile:         {"UserBasicProfile", reflect.TypeFor[whoop.UserBasicProfile]()},
	}
}

type mappingRow struct {
	line               int
	field, destination string
}

var (
	sectionHeading = regexp.MustCompile("^### `([a-z_]+)`")
	rowField       = regexp.MustCompile("^`([a-z0-9_.]+)` \\| (.*?) \\|")
	codeSpan       = regexp.MustCompile("`([^`]+)`")
)

// parseWhoopMapping reads the rows of each collection's table in the
// WHOOP section.
func parseWhoopMapping(t *testing.T, text string) map[string][]mappingRow {
	t.Helper()
	out := map[string][]mappingRow{}
	in, current := false, ""
	for i, line := range strings.Split(text, "\n") {
		switch {
		case line == "## WHOOP":
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "## "):
			t.Errorf("%s:%d: the WHOOP section must be the last", mappingFile, i+1)
			return out
		}
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			if _, dup := out[m[1]]; dup {
				t.Errorf("%s:%d: second section for %s", mappingFile, i+1, m[1])
			}
			current = m[1]
			out[current] = nil
			continue
		}
		if m := rowField.FindStringSubmatch(line); m != nil && current != "" {
			out[current] = append(out[current], mappingRow{line: i + 1, field: m[1], destination: m[2]})
		}
	}
	if !in {
		t.Fatalf("%s has no \"## WHOOP\" section", mappingFile)
	}
	return out
}

func readWhoopMapping(t *testing.T) map[string][]mappingRow {
	b, err := os.ReadFile(mappingFile)
	if err != nil {
		t.Fatal(err)
	}
	return parseWhoopMapping(t, string(b))
}

// schemaPaths lists the dotted property paths of a spec schema.
func schemaPaths(s *openapi3.Schema, prefix string, out map[string]bool) {
	for name, p := range s.Properties {
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out[path] = true
		if p.Value != nil && len(p.Value.Properties) > 0 {
			schemaPaths(p.Value, path, out)
		}
	}
}

// modelPaths lists the dotted JSON paths of a model.
func modelPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[json.RawMessage]() {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out[path] = true
		modelPaths(f.Type, path, out)
	}
}

// TestMappingCoversSpecAndModels: every field of the spec's schemas and of
// the models has one row, and every row names a field of both.
func TestMappingCoversSpecAndModels(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromFile(testutil.ReferenceFile(t, "providers/whoop/spec/whoop-api-openapi.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readWhoopMapping(t)
	for coll, s := range specSchemas() {
		ref := spec.Components.Schemas[s.schema]
		if ref == nil {
			t.Fatalf("the spec has no schema %s", s.schema)
		}
		fromSpec, fromModel := map[string]bool{}, map[string]bool{}
		schemaPaths(ref.Value, "", fromSpec)
		modelPaths(s.model, "", fromModel)
		documented := map[string]int{}
		for _, r := range rows[coll] {
			if documented[r.field] != 0 {
				t.Errorf("%s:%d: %s %s has two rows", mappingFile, r.line, coll, r.field)
			}
			documented[r.field] = r.line
			if !fromSpec[r.field] {
				t.Errorf("%s:%d: %s %s is not a field of the spec's %s", mappingFile, r.line, coll, r.field, s.schema)
			}
			if strings.TrimSpace(r.destination) == "" {
				t.Errorf("%s:%d: %s %s has no destination", mappingFile, r.line, coll, r.field)
			}
		}
		for _, p := range sortedKeys(fromSpec) {
			if documented[p] == 0 {
				t.Errorf("%s: the spec's %s.%s has no row in the WHOOP section", mappingFile, s.schema, p)
			}
			if !fromModel[p] {
				t.Errorf("the model of %s has no field %s", coll, p)
			}
		}
		for _, p := range sortedKeys(fromModel) {
			if !fromSpec[p] {
				t.Errorf("the model of %s has %s, which the spec's %s does not", coll, p, s.schema)
			}
		}
	}
}

// goldenPaths collects, per data structure, every key path of the golden
// documents and the paths that carry a value.
func goldenPaths(t *testing.T) (present, filled map[string]bool) {
	present, filled = map[string]bool{}, map[string]bool{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := path + "." + k
				present[p] = true
				if k == "non_structured_data_array" {
					if a, ok := e.([]any); ok && len(a) > 0 {
						filled[p] = true
					}
					continue
				}
				walk(e, p)
			}
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		case nil:
		default:
			filled[path] = true
		}
	}
	for _, c := range goldenCases() {
		docs, opt := c.input(t)
		results, err := Normalize(docs, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			b, _ := json.Marshal(r.Doc)
			var v any
			_ = json.Unmarshal(b, &v)
			walk(v, r.Doc.DataStructure())
		}
	}
	return present, filled
}

// TestMappingMatchesOutput: every ROOK destination a row names is a key
// of the documents produced and is filled by some golden input; every key
// the normalizer fills (outside the envelope) is named by some row.
func TestMappingMatchesOutput(t *testing.T) {
	present, filled := goldenPaths(t)
	named := map[string]bool{}
	for coll, rows := range readWhoopMapping(t) {
		for _, r := range rows {
			for _, m := range codeSpan.FindAllStringSubmatch(r.destination, -1) {
				d := m[1]
				named[d] = true
				if !present[d] {
					t.Errorf("%s:%d: %s %s: %s is not a key of any document produced", mappingFile, r.line, coll, r.field, d)
				} else if !filled[d] {
					t.Errorf("%s:%d: %s %s: no golden input fills %s", mappingFile, r.line, coll, r.field, d)
				}
			}
		}
	}
	// Envelope and metadata values come from no WHOOP field.
	envelope := regexp.MustCompile(`\.(client_uuid|user_id|version|document_version|data_structure|auto_detected|sources_of_data_array|user_id_string|was_the_user_under_physical_activity_bool|measurement_type_string|time_zone_string|datetime_string)$`)
	var missing []string
	for p := range filled {
		if !named[p] && !envelope.MatchString(p) {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("the normalizer fills %s, which no row of the WHOOP section names", p)
	}
}

// TestMappingParserCatchesGaps: the parser sees a row removed.
func TestMappingParserCatchesGaps(t *testing.T) {
	text := "## WHOOP\n\n### `cycle`\n\nWHOOP field | ROOK destination | Note\n--- | --- | ---\n`id` | `x` | \n`score.strain` | `y` | note\n"
	rows := parseWhoopMapping(t, text)
	if len(rows["cycle"]) != 2 || rows["cycle"][1].field != "score.strain" || rows["cycle"][1].destination != "`y`" {
		t.Errorf("parsed %+v", rows)
	}
}
