package fhir_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/fhir/fhirtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden: the resources of every input, one per line as an export
// writes them, are those of testdata/golden (go test -update rewrites
// them after a change was checked).
func TestGolden(t *testing.T) {
	for _, in := range inputs(t) {
		if in.name == "oura-sim-user1" {
			continue // the other tests cover it; one simulated Oura user is enough here
		}
		if strings.Contains(in.name, "-sim-") {
			in.docs = firstDays(in.docs, 3) // a simulated user's three days show every kind of document
		}
		t.Run(in.name, func(t *testing.T) {
			m := mapInput(t, in)
			var b bytes.Buffer
			for _, r := range m.resources() {
				b.Write(mustJSON(t, r))
				b.WriteByte('\n')
			}
			path := filepath.Join("testdata", "golden", in.name+".ndjson")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				got := strings.Split(b.String(), "\n")
				exp := strings.Split(string(want), "\n")
				for i := range min(len(got), len(exp)) {
					if got[i] != exp[i] {
						t.Fatalf("line %d differs from %s:\n got %.600s\nwant %.600s", i+1, path, got[i], exp[i])
					}
				}
				t.Fatalf("%d lines, %s has %d", len(got), path, len(exp))
			}
		})
	}
}

// TestSchemaAndProfile: every resource, and a searchset Bundle of them,
// validates against the R4 schema; every vital-signs Observation keeps
// the profile's rules; no Observation outside vital-signs carries a
// vital-sign LOINC code (which would put it under the profile).
func TestSchemaAndProfile(t *testing.T) {
	vital := fhir.VitalSignCodes()
	for _, in := range inputs(t) {
		t.Run(in.name, func(t *testing.T) {
			m := mapInput(t, in)
			bundle := fhir.Bundle{ResourceType: "Bundle", Type: "searchset"}
			seen := map[string]int{}
			for _, r := range m.resources() {
				b := mustJSON(t, r)
				fhirtest.Validate(t, b)
				bundle.Entry = append(bundle.Entry, fhir.BundleEntry{FullURL: "http://127.0.0.1/fhir/R4/x", Resource: b, Search: &fhir.BundleSearch{Mode: "match"}})
			}
			fhirtest.Validate(t, mustJSON(t, bundle))
			for _, o := range m.obs {
				seen[o.Code.Text]++
				if o.HasCategory(fhir.CategoryVitalSigns) {
					if err := fhirtest.VitalSign(o); err != nil {
						t.Errorf("%s: %v", describe(o), err)
					}
					continue
				}
				for _, c := range o.Code.Coding {
					if _, ok := vital[c.Code]; ok && c.System == fhir.LOINC {
						t.Errorf("%s has vital-sign code %s without the vital-signs category", describe(o), c.Code)
					}
				}
			}
			if len(m.obs) == 0 {
				t.Fatal("no Observations")
			}
			t.Logf("%d documents, %d Observations: %v", len(in.docs), len(m.obs), seen)
		})
	}
}

// TestSourceAndVersion: every Observation names its provider, its health
// document and its version, and points at its subject and device.
func TestSourceAndVersion(t *testing.T) {
	for _, in := range inputs(t) {
		m := mapInput(t, in)
		withRaw := 0
		for _, o := range m.obs {
			d := m.from[o.ID]
			if o.Meta.VersionID == "" || o.Meta.VersionID != strconv.Itoa(d.Version) {
				t.Errorf("%s: versionId %q, document_version %d", describe(o), o.Meta.VersionID, d.Version)
			}
			if want := fhir.SourceURI(d.DataSource, d.Pillar, d.DataStructure, d.Key); o.Meta.Source != want {
				t.Errorf("%s: meta.source %q, want %q", describe(o), o.Meta.Source, want)
			}
			if o.Subject.Reference != "Patient/"+in.userID || o.Device == nil || o.Device.Reference != "Device/"+fhir.DeviceID(in.userID, in.dataSource) {
				t.Errorf("%s: subject %+v device %+v", describe(o), o.Subject, o.Device)
			}
			for _, r := range o.DerivedFrom {
				if r.Identifier == nil || !strings.HasPrefix(r.Identifier.System, fhir.RawSystem+"/"+in.dataSource+"/") || r.Identifier.Value == "" {
					t.Errorf("%s: derivedFrom %+v does not name a %s raw document", describe(o), r, in.dataSource)
				}
			}
			if len(o.DerivedFrom) > 0 {
				withRaw++
			}
			day, s, ok := fhir.ParseID(o.ID)
			if !ok || day != d.Day || s.Name != d.DataStructure || s.Pillar != d.Pillar {
				t.Errorf("%s: id does not lead back to %s %s of %s", describe(o), d.Pillar, d.DataStructure, d.Day)
			}
		}
		if withRaw == 0 {
			t.Errorf("%s: no Observation names a raw document", in.name)
		}
	}
}

// TestHRVIsRMSSD: the providers' HRV is RMSSD and is never coded as LOINC
// 80404-7 (SDNN); skin temperature deviations are never body temperatures.
func TestHRVIsRMSSD(t *testing.T) {
	for _, in := range inputs(t) {
		m := mapInput(t, in)
		rmssd := 0
		for _, o := range m.obs {
			if o.Code.Has(fhir.Metrics, fhir.MetricHRVRMSSD) {
				rmssd++
				if o.Code.Has(fhir.LOINC, "80404-7") {
					t.Errorf("%s: RMSSD coded as SDNN", describe(o))
				}
			}
			if o.Code.Has(fhir.Metrics, fhir.MetricSkinTempDeviation) && (o.Code.Has(fhir.LOINC, "8310-5") || o.HasCategory(fhir.CategoryVitalSigns)) {
				t.Errorf("%s: a deviation filed as a temperature", describe(o))
			}
		}
		if rmssd == 0 && !in.noHRV {
			t.Errorf("%s: no HRV RMSSD Observation", in.name)
		}
	}
}

// firstDays keeps the documents of the first n days, so that the golden
// files stay readable.
func firstDays(docs []fhir.Document, n int) []fhir.Document {
	var days []string
	for _, d := range docs {
		if !slices.Contains(days, d.Day) {
			days = append(days, d.Day)
		}
	}
	slices.Sort(days)
	days = days[:min(n, len(days))]
	var out []fhir.Document
	for _, d := range docs {
		if slices.Contains(days, d.Day) {
			out = append(out, d)
		}
	}
	return out
}
