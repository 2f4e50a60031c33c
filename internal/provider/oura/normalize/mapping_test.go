package normalize_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
)

// mappingFile is MAPPING.md at the repository root: one table per Oura
// collection saying where each field of its documents goes.
const mappingFile = "../../../../MAPPING.md"

// collectionModels is the document type of every collection, from the
// collection table, so a new collection cannot be left out of MAPPING.md
// unnoticed.
var collectionModels = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, c := range oura.Collections() {
		m[c.Name] = c.Model
	}
	return m
}()

// modelPaths lists every JSON field path of t, dotted, containers included
// (readiness, readiness.contributors, readiness.contributors.hrv_balance).
// Pointers and slices are looked through: a slice of structs contributes
// the paths of its element.
func modelPaths(t reflect.Type) []string {
	var paths []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || isJSONLeaf(t) {
			return
		}
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				// encoding/json promotes an embedded struct's fields.
				walk(f.Type, prefix)
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := prefix + name
			paths = append(paths, p)
			walk(f.Type, p+".")
		}
	}
	walk(t, "")
	sort.Strings(paths)
	return paths
}

// isJSONLeaf reports types that encode themselves (time.Time and the like):
// their Go fields are not JSON fields.
func isJSONLeaf(t reflect.Type) bool {
	return t.Implements(reflect.TypeFor[json.Marshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
}

// mappingRow is one row of a collection's table.
type mappingRow struct {
	line        int
	field       string
	destination string // the second cell, as written
}

var backticked = regexp.MustCompile("`([^`]+)`")

// parseMapping reads MAPPING.md: a level-2 heading whose first code span is
// a collection name opens that collection's section, any other level-2
// heading closes it; table rows inside a section map an Oura field (the
// code span of the first cell) to the text of the second cell. Rows outside
// a collection section (values that come from no single Oura field) are
// returned under "", with the first cell's text as field.
func parseMapping(t *testing.T, text string) map[string][]mappingRow {
	t.Helper()
	sections := map[string][]mappingRow{}
	current := ""
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if strings.HasPrefix(line, "## ") {
			current = ""
			m := backticked.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if !isCollection(m[1]) {
				continue
			}
			if seen[m[1]] {
				t.Errorf("%s:%d: second section for %s", mappingFile, n, m[1])
			}
			seen[m[1]] = true
			current = m[1]
			sections[current] = nil
			continue
		}
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 2 {
			continue
		}
		first := strings.TrimSpace(cells[0])
		if current == "" {
			sections[""] = append(sections[""], mappingRow{line: n, field: first, destination: strings.TrimSpace(cells[1])})
			continue
		}
		m := backticked.FindAllStringSubmatch(first, -1)
		if len(m) == 0 {
			continue // header or separator
		}
		if len(m) != 1 {
			t.Errorf("%s:%d: the first cell must name one field, not %q", mappingFile, n, first)
			continue
		}
		sections[current] = append(sections[current], mappingRow{line: n, field: m[0][1], destination: strings.TrimSpace(cells[1])})
	}
	return sections
}

// isCollection accepts the collections of the API and, for the parser's own
// test, the made-up collection "demo".
func isCollection(name string) bool {
	_, ok := collectionModels[name]
	return ok || name == "demo"
}

func readMapping(t *testing.T) map[string][]mappingRow {
	t.Helper()
	b, err := os.ReadFile(mappingFile)
	if err != nil {
		t.Fatalf("read %s: %v", mappingFile, err)
	}
	return parseMapping(t, string(b))
}

// The table of collections the test walks is the one the rest of the code
// knows: oura.Collections and one Input slice per collection.
func TestMappingCollections(t *testing.T) {
	inputTypes := map[reflect.Type]bool{}
	for f := range reflect.TypeFor[normalize.Input]().Fields() {
		if f.Name == "Raw" { // the optional bytes index, not a collection
			continue
		}
		inputTypes[f.Type.Elem()] = true
	}
	for name, m := range collectionModels {
		if !inputTypes[m] {
			t.Errorf("normalize.Input has no []%v for %s", m, name)
		}
		delete(inputTypes, m)
	}
	for m := range inputTypes {
		t.Errorf("normalize.Input takes []%v, which no collection has", m)
	}
}

// coverageProblems compares the rows of each collection with the fields of
// its model: a field without a row, a row without a field, a field with two
// rows, a row with no destination.
func coverageProblems(sections map[string][]mappingRow, models map[string]reflect.Type) []string {
	var problems []string
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rows, ok := sections[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("no section \"## `%s`\"", name))
			continue
		}
		want := modelPaths(models[name])
		got := map[string]int{}
		for _, r := range rows {
			if prev, dup := got[r.field]; dup {
				problems = append(problems, fmt.Sprintf("line %d: %s %s already has a row at line %d", r.line, name, r.field, prev))
			}
			got[r.field] = r.line
			if !slices.Contains(want, r.field) {
				problems = append(problems, fmt.Sprintf("line %d: %s has no field %s", r.line, name, r.field))
			}
			if r.destination == "" {
				problems = append(problems, fmt.Sprintf("line %d: %s %s: empty destination", r.line, name, r.field))
			}
		}
		for _, p := range want {
			if _, ok := got[p]; !ok {
				problems = append(problems, fmt.Sprintf("the %s table lacks %s", name, p))
			}
		}
	}
	return problems
}

// Every field of every model has a row in its collection's table, and
// every row names a field that exists.
func TestMappingCoversEveryField(t *testing.T) {
	for _, p := range coverageProblems(readMapping(t), collectionModels) {
		t.Errorf("%s: %s", mappingFile, p)
	}
}

// rookPaths lists every JSON path of every ROOK document, prefixed with its
// data_structure name (sleep_summary.sleep_health.summary.sleep_summary.
// duration.sleep_duration_seconds_int). Arrays add no segment.
func rookPaths(t *testing.T) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	for _, s := range health.Structures() {
		d := s.New()
		fill(reflect.ValueOf(d).Elem())
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal a full %s: %v", s.Name, err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		jsonPaths(v, s.Name, paths)
	}
	return paths
}

// fill sets every pointer, gives every slice one element and every scalar a
// value, so that marshaling shows every key the structure can carry.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{}`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	}
}

func jsonPaths(v any, prefix string, paths map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := prefix + "." + k
			paths[p] = true
			jsonPaths(e, p, paths)
		}
	case []any:
		for _, e := range v {
			jsonPaths(e, prefix, paths)
		}
	}
}

// rookDestinations are the code spans of a destination cell that name a
// ROOK field: those starting with a data structure name (or *, any
// structure) and a dot. A * segment stands for any one key.
func rookDestinations(cell string) []string {
	names := map[string]bool{"*": true}
	for _, s := range health.Structures() {
		names[s.Name] = true
	}
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		first, _, ok := strings.Cut(m[1], ".")
		if ok && names[first] {
			out = append(out, m[1])
		}
	}
	return out
}

// nonStructured is where free-form source data goes; what follows it in a
// destination describes the item and is not checked against the schema.
const nonStructured = "non_structured_data_array"

// validRookPath reports whether p exists in the ROOK types, allowing any
// suffix after non_structured_data_array.
func validRookPath(p string, paths map[string]bool) bool {
	if head, _, ok := strings.Cut(p, "."+nonStructured+"."); ok {
		p = head + "." + nonStructured
	}
	if !strings.Contains(p, "*") {
		return paths[p]
	}
	for q := range paths {
		if matchPath(p, q) {
			return true
		}
	}
	return false
}

// matchPath reports whether path matches pattern, where a * segment of the
// pattern matches any one segment.
func matchPath(pattern, path string) bool {
	ps, qs := strings.Split(pattern, "."), strings.Split(path, ".")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != qs[i] {
			return false
		}
	}
	return true
}

// matchPrefix reports whether pattern matches path or a leading part of it:
// a row may name a container (an array) whose items the code fills.
func matchPrefix(pattern, path string) bool {
	qs := strings.Split(path, ".")
	for n := len(qs); n > 0; n-- {
		if matchPath(pattern, strings.Join(qs[:n], ".")) {
			return true
		}
	}
	return false
}

// Every ROOK field the tables name exists, with the exact spelling of the
// published structures.
func TestMappingDestinationsExist(t *testing.T) {
	paths := rookPaths(t)
	n := 0
	for name, rows := range readMapping(t) {
		for _, r := range rows {
			for _, d := range rookDestinations(r.destination) {
				n++
				if !validRookPath(d, paths) {
					t.Errorf("%s:%d: %s %s: no ROOK field %s", mappingFile, r.line, name, r.field, d)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s names no ROOK field at all", mappingFile)
	}
}

// A model that gains a field, nested or not, fails the coverage check;
// so do rows for fields that do not exist and repeated rows.
func TestMappingDetectsMissingField(t *testing.T) {
	type inner struct {
		A *int `json:"a"`
	}
	type before struct {
		ID    string  `json:"id"`
		Items []inner `json:"items"`
	}
	type after struct {
		ID    string  `json:"id"`
		Items []inner `json:"items"`
		Extra *struct {
			B float64 `json:"b"`
		} `json:"extra"`
	}
	const table = "# x\n\n## `demo` (a made-up collection)\n\n" +
		"| Oura field | ROOK destination | Note |\n|---|---|---|\n" +
		"| `id` | raw document only | |\n| `items` | raw document only | |\n| `items.a` | raw document only | |\n"
	sections := parseMapping(t, table)
	if p := coverageProblems(sections, map[string]reflect.Type{"demo": reflect.TypeFor[before]()}); len(p) != 0 {
		t.Errorf("complete table: %v", p)
	}
	p := coverageProblems(sections, map[string]reflect.Type{"demo": reflect.TypeFor[after]()})
	want := []string{"the demo table lacks extra", "the demo table lacks extra.b"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("grown model: %v, want %v", p, want)
	}
	bad := parseMapping(t, table+"| `gone` | raw document only | |\n| `id` | | |\n")
	p = coverageProblems(bad, map[string]reflect.Type{"demo": reflect.TypeFor[before]()})
	joined := strings.Join(p, "; ")
	for _, w := range []string{"no field gone", "already has a row", "empty destination"} {
		if !strings.Contains(joined, w) {
			t.Errorf("bad rows: %q lacks %q", joined, w)
		}
	}
	if len(p) != 3 {
		t.Errorf("bad rows: %d problems, want 3: %v", len(p), p)
	}
}

// modelPaths follows nested structs, pointers and slices with JSON names.
func TestMappingModelPaths(t *testing.T) {
	got := modelPaths(reflect.TypeFor[oura.RestModePeriod]())
	want := []string{"end_day", "end_time", "episodes", "episodes.tags", "episodes.timestamp", "id", "start_day", "start_time"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RestModePeriod paths = %v, want %v", got, want)
	}
	got = modelPaths(reflect.TypeFor[oura.Sleep]())
	for _, p := range []string{"readiness.contributors.hrv_balance", "heart_rate.items", "hrv.interval", "app_sleep_phase_5_min"} {
		if i := sort.SearchStrings(got, p); i == len(got) || got[i] != p {
			t.Errorf("sleep paths lack %s", p)
		}
	}
}

// TestMappingFieldList prints the field paths of every collection; run with
// WEARLINK_MAPPING_FIELDS=1 -v when a model changes, to see what to add.
func TestMappingFieldList(t *testing.T) {
	if os.Getenv("WEARLINK_MAPPING_FIELDS") == "" {
		t.Skip("set WEARLINK_MAPPING_FIELDS=1 to print every collection's field paths")
	}
	var names []string
	for name := range collectionModels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("%s (%d): %s", name, len(modelPaths(collectionModels[name])), strings.Join(modelPaths(collectionModels[name]), " "))
	}
}

// goldenOutput is what the normalizer's golden files record it emits: every
// ROOK leaf path with a value somewhere (outside non_structured_data_array),
// and every (non_structured_data_array path, collection) pair of the items
// attached there.
func goldenOutput(t *testing.T) (emitted map[string]bool, attached map[[2]string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no golden files under testdata/golden")
	}
	emitted, attached = map[string]bool{}, map[[2]string]bool{}
	var walk func(v any, p string)
	walk = func(v any, p string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				q := p + "." + k
				if k != nonStructured {
					walk(e, q)
					continue
				}
				items, _ := e.([]any)
				for _, it := range items {
					if c, ok := dig(it, "collection").(string); ok {
						attached[[2]string{q, c}] = true
					}
				}
			}
		case []any:
			for _, e := range v {
				walk(e, p)
			}
		case nil:
		default:
			emitted[p] = true
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var entries []struct {
			DataStructure string          `json:"data_structure"`
			Document      json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(b, &entries); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range entries {
			var doc any
			if err := json.Unmarshal(e.Document, &doc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			walk(doc, e.DataStructure)
		}
	}
	return emitted, attached
}

func dig(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

// MAPPING.md is true to the code, as far as the golden files show it: every
// ROOK field the normalizer fills is named by some row, every ROOK field a
// row names is filled somewhere, and each collection is attached exactly
// where its table says.
func TestMappingMatchesGolden(t *testing.T) {
	emitted, attached := goldenOutput(t)
	type claim struct {
		coll, field string
		line        int
	}
	var claims []struct {
		claim
		dest string
	}
	claimedNSD := map[[2]string][]claim{}
	for coll, rows := range readMapping(t) {
		for _, r := range rows {
			for _, d := range rookDestinations(r.destination) {
				c := claim{coll, r.field, r.line}
				if strings.HasSuffix(d, "."+nonStructured) {
					if coll != "" {
						claimedNSD[[2]string{d, coll}] = append(claimedNSD[[2]string{d, coll}], c)
					}
					continue
				}
				claims = append(claims, struct {
					claim
					dest string
				}{c, d})
			}
		}
	}
	var undocumented []string
	for p := range emitted {
		found := false
		for _, c := range claims {
			if matchPath(c.dest, p) {
				found = true
				break
			}
		}
		if !found {
			undocumented = append(undocumented, p)
		}
	}
	sort.Strings(undocumented)
	for _, p := range undocumented {
		t.Errorf("the normalizer fills %s, which no row of %s names", p, mappingFile)
	}
	for _, c := range claims {
		found := false
		for p := range emitted {
			if matchPrefix(c.dest, p) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s:%d: %s %s: the golden output never fills %s", mappingFile, c.line, c.coll, c.field, c.dest)
		}
	}
	for k, cs := range claimedNSD {
		if !attached[k] {
			t.Errorf("%s:%d: %s %s: no %s document is attached to %s in the golden output", mappingFile, cs[0].line, k[1], cs[0].field, k[1], k[0])
		}
	}
	var missing []string
	for k := range attached {
		if _, ok := claimedNSD[k]; !ok {
			missing = append(missing, k[1]+" in "+k[0])
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("the golden output attaches %s, which the collection's table does not say", m)
	}
}
