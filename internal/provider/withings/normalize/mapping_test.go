package normalize

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/testutil"
)

// mappingFile is MAPPING.md at the repository root; its Withings section
// runs from "## Withings" to the next level-2 heading.
const mappingFile = "../../../../MAPPING.md"

// typesTable is the heading of the table of measure type codes.
const typesTable = "Measure types"

// specLines is the Withings spec as lines. The spec keys its paths by full
// URLs padded with spaces and declares types the OpenAPI loader refuses
// ("list of integers"), so the test reads the few schemas it needs with a
// small reader of YAML's block structure instead.
type specLines []string

func indent(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

var yamlKey = regexp.MustCompile(`^\s*['"]?([^'":]+?)['"]?:(\s|$)`)

// children returns the direct child keys of the mapping opened at line i,
// with their lines.
func (y specLines) children(i int) map[string]int {
	out := map[string]int{}
	ind, child := indent(y[i]), -1
	for j := i + 1; j < len(y); j++ {
		l := y[j]
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := indent(l)
		if n <= ind {
			break
		}
		if child < 0 {
			child = n
		}
		if n != child {
			continue
		}
		if m := yamlKey.FindStringSubmatch(l); m != nil {
			out[m[1]] = j
		}
	}
	return out
}

// at walks keys down from line i; ok is false when one is missing.
func (y specLines) at(i int, keys ...string) (int, bool) {
	for _, k := range keys {
		j, ok := y.children(i)[k]
		if !ok {
			return 0, false
		}
		i = j
	}
	return i, true
}

// fields lists the dotted property paths of the object schema whose
// "properties" mapping is at line i. Keys starting with "$" name map
// entries (the series keyed by timestamp), not fields.
func (y specLines) fields(i int, prefix string, out map[string]bool) {
	for name, j := range y.children(i) {
		if strings.HasPrefix(name, "$") {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out[p] = true
		if props, ok := y.at(j, "properties"); ok {
			y.fields(props, p, out)
		}
		if props, ok := y.at(j, "items", "properties"); ok {
			y.fields(props, p, out)
		}
	}
}

func loadSpec(t *testing.T) specLines {
	b, err := os.ReadFile(testutil.ReferenceFile(t, "providers/withings/spec/withings-data-api-openapi.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// operation returns the line of the operation with this operationId.
func (y specLines) operation(t *testing.T, id string) int {
	for i, l := range y {
		if strings.TrimSpace(l) == "operationId: "+id {
			for j := i; j >= 0; j-- {
				if strings.TrimSpace(y[j]) != "" && indent(y[j]) < indent(l) {
					return j
				}
			}
		}
	}
	t.Fatalf("the spec has no operation %s", id)
	return 0
}

// specFields lists, per collection, the dotted paths of its spec schema.
func specFields(t *testing.T, y specLines) map[string]map[string]bool {
	root, ok := 0, false
	for i, l := range y {
		if l == "components:" {
			root, ok = i, true
		}
	}
	if !ok {
		t.Fatal("the spec has no components")
	}
	schema := func(name string, more ...string) map[string]bool {
		i, ok := y.at(root, append([]string{"schemas", name, "properties"}, more...)...)
		if !ok {
			t.Fatalf("the spec has no schema %s %v", name, more)
		}
		out := map[string]bool{}
		y.fields(i, "", out)
		return out
	}
	groups := schema("measuregrp_object")
	delete(groups, "measures")
	for f := range schema("measure_object") {
		groups["measures."+f] = true
	}
	groups["measures"] = true
	op := y.operation(t, "sleepv2-get")
	seg, ok := y.at(op, "responses", "200", "content", "application/json", "schema", "properties", "body", "properties", "series", "properties")
	if !ok {
		t.Fatal("sleepv2-get has no series in its answer")
	}
	series := map[string]bool{}
	y.fields(seg, "", series)
	return map[string]map[string]bool{
		withings.CollMeasure:      groups,
		withings.CollActivity:     schema("activity_object"),
		withings.CollWorkout:      schema("workout_object"),
		withings.CollSleepSummary: schema("sleep_summary_object"),
		withings.CollSleep:        series,
		withings.CollDevice:       schema("user_device_object"),
	}
}

// specMeasureTypes reads the codes of the meastype parameter's table.
func specMeasureTypes(t *testing.T, y specLines) map[int64]bool {
	op := y.operation(t, "measure-getmeas")
	var text strings.Builder
	in := false
	for _, l := range y[op:] {
		if strings.Contains(l, "- name: meastype") && !strings.Contains(l, "meastypes") {
			in = true
			continue
		}
		if in && strings.Contains(l, "- name:") {
			break
		}
		if in {
			text.WriteString(strings.TrimSpace(l))
			text.WriteString(" ")
		}
	}
	out := map[int64]bool{}
	for _, m := range regexp.MustCompile(`\|(\d+) \|`).FindAllStringSubmatch(strings.ReplaceAll(text.String(), `\n`, "\n"), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out[n] = true
	}
	if len(out) < 30 {
		t.Fatalf("read %d measure types from the spec", len(out))
	}
	return out
}

// models are the decoding types of each collection, and the fields they
// read that the spec does not list (seen in recorded answers, or added on
// storing).
func models() map[string]struct {
	typ    reflect.Type
	extras []string
} {
	return map[string]struct {
		typ    reflect.Type
		extras []string
	}{
		withings.CollMeasure:      {reflect.TypeFor[MeasureGroup](), []string{"modelid", "timezone", "measures.algo_params"}},
		withings.CollActivity:     {reflect.TypeFor[Activity](), nil},
		withings.CollWorkout:      {reflect.TypeFor[Workout](), nil},
		withings.CollSleepSummary: {reflect.TypeFor[SleepSummary](), nil},
		withings.CollSleep:        {reflect.TypeFor[SleepSegment](), []string{"hash_deviceid", "timezone"}},
		withings.CollDevice:       {reflect.TypeFor[Device](), nil},
	}
}

// modelPaths lists the dotted JSON paths of a model; the tolerant number
// and text types are leaves.
func modelPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
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

type mappingRow struct {
	line               int
	field, destination string
}

var (
	subHeading = regexp.MustCompile("^### (?:`([a-z_]+)`|(.+))$")
	rowField   = regexp.MustCompile("^`([a-z0-9_.]+)` \\| (.*?) \\|")
	codeSpan   = regexp.MustCompile("`([^`]+)`")
)

// parseWithingsMapping reads the rows of each table of the Withings
// section, by collection (and typesTable for the measure types).
func parseWithingsMapping(t *testing.T, text string) map[string][]mappingRow {
	t.Helper()
	out := map[string][]mappingRow{}
	in, current := false, ""
	for i, line := range strings.Split(text, "\n") {
		switch {
		case line == "## Withings":
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "## "):
			return out
		}
		if m := subHeading.FindStringSubmatch(line); m != nil {
			current = m[1] + m[2]
			if _, dup := out[current]; dup {
				t.Errorf("%s:%d: second section for %s", mappingFile, i+1, current)
			}
			out[current] = nil
			continue
		}
		if m := rowField.FindStringSubmatch(line); m != nil && current != "" {
			out[current] = append(out[current], mappingRow{line: i + 1, field: m[1], destination: m[2]})
		}
	}
	if !in {
		t.Fatalf("%s has no \"## Withings\" section", mappingFile)
	}
	return out
}

func readWithingsMapping(t *testing.T) map[string][]mappingRow {
	b, err := os.ReadFile(mappingFile)
	if err != nil {
		t.Fatal(err)
	}
	return parseWithingsMapping(t, string(b))
}

// TestMappingCoversSpecAndModels: every field of the spec's schemas and of
// the models has one row, every row names a field of the spec or a
// documented extra, and every model reads every field of its schema.
func TestMappingCoversSpecAndModels(t *testing.T) {
	y := loadSpec(t)
	spec := specFields(t, y)
	rows := readWithingsMapping(t)
	for coll, m := range models() {
		fromSpec, fromModel := spec[coll], map[string]bool{}
		modelPaths(m.typ, "", fromModel)
		known := map[string]bool{}
		for f := range fromSpec {
			known[f] = true
		}
		for _, e := range m.extras {
			known[e] = true
			if !fromModel[e] {
				t.Errorf("%s: extra %s is not read by the model", coll, e)
			}
		}
		documented := map[string]int{}
		for _, r := range rows[coll] {
			if documented[r.field] != 0 {
				t.Errorf("%s:%d: %s %s has two rows", mappingFile, r.line, coll, r.field)
			}
			documented[r.field] = r.line
			if !known[r.field] {
				t.Errorf("%s:%d: %s %s is a field of neither the spec nor the recorded answers", mappingFile, r.line, coll, r.field)
			}
			if strings.TrimSpace(r.destination) == "" {
				t.Errorf("%s:%d: %s %s has no destination", mappingFile, r.line, coll, r.field)
			}
		}
		for _, p := range sortedKeys(known) {
			if documented[p] == 0 {
				t.Errorf("%s: %s %s has no row in the Withings section", mappingFile, coll, p)
			}
			if !fromModel[p] {
				t.Errorf("the model of %s has no field %s", coll, p)
			}
		}
		for _, p := range sortedKeys(fromModel) {
			if !known[p] {
				t.Errorf("the model of %s has %s, which the spec does not list", coll, p)
			}
		}
	}
}

// TestMappingCoversMeasureTypes: every measure type code of the spec and
// of the normalizer has one row in the measure types table, and every row
// is a known code.
func TestMappingCoversMeasureTypes(t *testing.T) {
	codes := specMeasureTypes(t, loadSpec(t))
	for c := range measureTypes() {
		codes[c] = true
	}
	for c := range codes {
		if _, ok := measureTypes()[c]; !ok {
			t.Errorf("the normalizer does not know the spec's measure type %d", c)
		}
	}
	rows := readWithingsMapping(t)[typesTable]
	seen := map[int64]bool{}
	for _, r := range rows {
		c, err := strconv.ParseInt(r.field, 10, 64)
		if err != nil || !codes[c] {
			t.Errorf("%s:%d: %s is not a measure type code", mappingFile, r.line, r.field)
			continue
		}
		if seen[c] {
			t.Errorf("%s:%d: type %d has two rows", mappingFile, r.line, c)
		}
		seen[c] = true
		if strings.TrimSpace(r.destination) == "" {
			t.Errorf("%s:%d: type %d has no destination", mappingFile, r.line, c)
		}
	}
	var missing []int
	for c := range codes {
		if !seen[c] {
			missing = append(missing, int(c))
		}
	}
	sort.Ints(missing)
	for _, c := range missing {
		t.Errorf("%s: measure type %d has no row in %q", mappingFile, c, typesTable)
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

// TestMappingMatchesOutput: every ROOK destination a row names is a key of
// the documents produced and is filled by some golden input; every key the
// normalizer fills (outside the envelope) is named by some row.
func TestMappingMatchesOutput(t *testing.T) {
	present, filled := goldenPaths(t)
	if os.Getenv("WEARLINK_MAPPING_FIELDS") != "" {
		for _, p := range sortedKeys(filled) {
			t.Log(p)
		}
	}
	named := map[string]bool{}
	for coll, rows := range readWithingsMapping(t) {
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
	// Envelope and metadata values come from no Withings field.
	envelope := regexp.MustCompile(`\.(client_uuid|user_id|version|document_version|data_structure|sources_of_data_array|user_id_string|was_the_user_under_physical_activity_bool|datetime_string)$`)
	var missing []string
	for p := range filled {
		if !named[p] && !envelope.MatchString(p) {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("the normalizer fills %s, which no row of the Withings section names", p)
	}
}

// TestMappingParserCatchesGaps: the parser sees rows, both kinds of
// heading, and where the section ends.
func TestMappingParserCatchesGaps(t *testing.T) {
	text := "## Withings\n\n### `activity`\n\nWithings field | ROOK destination | Note\n--- | --- | ---\n`steps` | `x` | \n`date` | `y` | note\n" +
		"\n### Measure types\n\n`1` | `z` | weight\n\n## Other\n\n### `activity`\n`hr_min` | `w` | \n"
	rows := parseWithingsMapping(t, text)
	if len(rows["activity"]) != 2 || rows["activity"][1].field != "date" || rows["activity"][1].destination != "`y`" || len(rows[typesTable]) != 1 {
		t.Errorf("parsed %+v", rows)
	}
}

// measureTypes lists every type code the normalizer names, with what it
// is: the spec's table, plus 197 and 198 (electrodermal activity of the
// left and right foot, as the Withings app names them).
func measureTypes() map[int64]string {
	return map[int64]string{
		typeWeight:              "weight (kg)",
		typeHeight:              "height (m)",
		typeFatFreeMass:         "fat-free mass (kg)",
		typeFatRatio:            "fat ratio (%)",
		typeFatMass:             "fat mass (kg)",
		typeDiastolic:           "diastolic blood pressure (mmHg)",
		typeSystolic:            "systolic blood pressure (mmHg)",
		typeHeartPulse:          "heart pulse (bpm)",
		typeTemperature:         "temperature (°C)",
		typeSpO2:                "SpO2 (%)",
		typeBodyTemperature:     "body temperature (°C)",
		typeSkinTemperature:     "skin temperature (°C)",
		typeMuscleMass:          "muscle mass (kg)",
		typeHydration:           "hydration (kg)",
		typeBoneMass:            "bone mass (kg)",
		typePulseWaveVelocity:   "pulse wave velocity (m/s)",
		typeVO2Max:              "VO2 max (ml/min/kg)",
		typeAFib:                "atrial fibrillation result (ECG)",
		typeQRS:                 "QRS interval (ECG)",
		typePR:                  "PR interval (ECG)",
		typeQT:                  "QT interval (ECG)",
		typeQTc:                 "corrected QT interval (ECG)",
		typeAFibPPG:             "atrial fibrillation result (PPG)",
		typeVascularAge:         "vascular age",
		typeNerveHealthFeet:     "nerve health score, feet",
		typeExtracellularWater:  "extracellular water (kg)",
		typeIntracellularWater:  "intracellular water (kg)",
		typeVisceralFat:         "visceral fat",
		typeSegmentFatFreeMass:  "fat-free mass of a segment (kg)",
		typeSegmentFatMass:      "fat mass of a segment (kg)",
		typeSegmentMuscleMass:   "muscle mass of a segment (kg)",
		typeElectrodermalFeet:   "electrodermal activity, feet",
		typeElectrodermalLeft:   "electrodermal activity, left foot",
		typeElectrodermalRight:  "electrodermal activity, right foot",
		typeBasalMetabolicRate:  "basal metabolic rate (kcal)",
		typeMetabolicAge:        "metabolic age",
		typeElectrochemicalSkin: "electrochemical skin conductance",
	}
}
