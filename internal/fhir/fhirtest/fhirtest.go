// Package fhirtest checks FHIR resources in tests: against the published
// R4 JSON schema, and against the rules of the R4 vital-signs profile that
// a schema cannot express. The schema is read from shared/reference and
// compiled once per test binary; tests skip when it is absent.
package fhirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/testutil"
)

const schemaURL = "https://wearlink.test/fhir-r4.schema.json"

// schemas is the compiled schema of each resource type, compiled once per
// test binary from one loaded document. Validating against a type's own
// definition gives the same answer as the schema's root (a oneOf over
// every resource type, told apart by resourceType) at a fraction of the
// cost.
var schemas = struct {
	sync.Mutex
	loaded   bool
	err      error
	compiler *jsonschema.Compiler
	byType   map[string]*jsonschema.Schema
}{byType: map[string]*jsonschema.Schema{}}

func schemaFor(path, resourceType string) (*jsonschema.Schema, error) {
	schemas.Lock()
	defer schemas.Unlock()
	if !schemas.loaded {
		schemas.loaded = true
		schemas.err = load(path)
	}
	if schemas.err != nil {
		return nil, schemas.err
	}
	if s, ok := schemas.byType[resourceType]; ok {
		return s, nil
	}
	s, err := schemas.compiler.Compile(schemaURL + "#/definitions/" + resourceType)
	if err != nil {
		return nil, fmt.Errorf("resourceType %q: %w", resourceType, err)
	}
	schemas.byType[resourceType] = s
	return s, nil
}

func load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return err
	}
	schemas.compiler = c
	return nil
}

// Validate fails the test unless body is a resource (or Bundle) valid
// against the FHIR R4 JSON schema.
func Validate(t testing.TB, body []byte) {
	t.Helper()
	path := testutil.ReferenceFile(t, "fhir-r4.schema.json")
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ResourceType == "" {
		t.Fatalf("not a JSON resource (%v): %s", err, short(body))
	}
	schema, err := schemaFor(path, head.ResourceType)
	if err != nil {
		t.Fatalf("FHIR schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if err := schema.Validate(v); err != nil {
		t.Errorf("not a valid FHIR R4 resource: %v\n%s", err, short(body))
	}
}

func short(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "..."...)
	}
	return b
}

// VitalSign checks an Observation filed under vital-signs against the R4
// vital-signs profile's rules: status, the vital-signs category, a LOINC
// code of the list, a subject, an effective dateTime (at least to the
// day) or period, and a UCUM value in the code's unit (in the components,
// for the blood pressure panel).
func VitalSign(o fhir.Observation) error {
	if !o.HasCategory(fhir.CategoryVitalSigns) {
		return fmt.Errorf("no vital-signs category")
	}
	if !slices.Contains([]string{"registered", "preliminary", "final", "amended"}, o.Status) && o.Status != "corrected" {
		return fmt.Errorf("status %q", o.Status)
	}
	units := fhir.VitalSignCodes()
	unit, code := "", ""
	for _, c := range o.Code.Coding {
		if u, ok := units[c.Code]; ok && c.System == fhir.LOINC {
			unit, code = u, c.Code
			break
		}
	}
	if code == "" {
		return fmt.Errorf("no LOINC vital-sign code in %+v", o.Code.Coding)
	}
	if code == "59408-5" && !o.Code.Has(fhir.LOINC, "2708-6") {
		return fmt.Errorf("oxygen saturation without 2708-6")
	}
	if o.Subject.Reference == "" {
		return fmt.Errorf("no subject")
	}
	if o.EffectivePeriod == nil && len(o.EffectiveDateTime) < len("2006-01-02") {
		return fmt.Errorf("effective time %q is not precise to the day", o.EffectiveDateTime)
	}
	if _, _, ok := o.Range(); !ok {
		return fmt.Errorf("effective time does not read")
	}
	checkQ := func(q *fhir.Quantity, want string) error {
		if q == nil {
			return fmt.Errorf("no valueQuantity")
		}
		if q.System != fhir.UCUM || q.Code != want {
			return fmt.Errorf("unit %s|%s, want %s|%s", q.System, q.Code, fhir.UCUM, want)
		}
		return nil
	}
	if code == "85354-9" {
		want := map[string]bool{"8480-6": false, "8462-4": false}
		for _, c := range o.Component {
			for k := range want {
				if c.Code.Has(fhir.LOINC, k) {
					want[k] = true
					if err := checkQ(c.ValueQuantity, "mm[Hg]"); err != nil {
						return fmt.Errorf("component %s: %w", k, err)
					}
				}
			}
		}
		if !want["8480-6"] && !want["8462-4"] {
			return fmt.Errorf("blood pressure panel without systolic or diastolic component")
		}
		return nil
	}
	if o.ValueSampledData != nil {
		return fmt.Errorf("valueSampledData: the profile allows valueQuantity only")
	}
	return checkQ(o.ValueQuantity, unit)
}

// JSON marshals v for Validate.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
