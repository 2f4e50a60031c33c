package pull

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
)

// FHIRDir holds the FHIR R4 files (Options.FHIR): Patient.ndjson,
// Device.ndjson and Observation.ndjson, one resource a line, as FHIR Bulk
// Data exports name and fill them.
const FHIRDir = "fhir"

// writeFHIR writes the ROOK documents of this run as FHIR resources.
// Documents made here have no stored history, so every versionId is 1.
func writeFHIR(dir string, opt *Options, results []provider.Normalized) ([]string, error) {
	info := opt.Provider.Info()
	var patient, devices, observations bytes.Buffer
	if err := fhir.NewNDJSON(&patient).Write(fhir.NewPatient(opt.ClientUUID, opt.UserID)); err != nil {
		return nil, err
	}
	if err := fhir.NewNDJSON(&devices).Write(fhir.NewDevice(opt.UserID, info.DataSource, info.Name, "")); err != nil {
		return nil, err
	}
	obs := fhir.NewNDJSON(&observations)
	for _, r := range results {
		d, err := health.Encode(r.Doc)
		if err != nil {
			return nil, fmt.Errorf("pull: fhir: %w", err)
		}
		mapped, err := fhir.Observations(fhir.Document{UserID: d.UserID, DataSource: info.DataSource, SourceName: info.Name, Key: r.Key,
			Pillar: d.Pillar, DataStructure: d.DataStructure, Day: d.Day, Version: d.DocumentVersion, Body: d.Body})
		if err != nil {
			return nil, fmt.Errorf("pull: fhir: %w", err)
		}
		for _, o := range mapped {
			if err := obs.Write(o); err != nil {
				return nil, err
			}
		}
	}
	var files []string
	for _, f := range []struct {
		name string
		b    *bytes.Buffer
	}{{"Patient.ndjson", &patient}, {"Device.ndjson", &devices}, {"Observation.ndjson", &observations}} {
		rel := filepath.Join(FHIRDir, f.name)
		if err := writeFileAtomic(filepath.Join(dir, rel), f.b.Bytes()); err != nil {
			return files, err
		}
		files = append(files, rel)
	}
	return files, nil
}
