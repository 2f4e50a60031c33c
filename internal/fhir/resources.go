package fhir

import "time"

// NewPatient is a user's Patient: the user_id as an identifier in the
// client's namespace and nothing that names the person.
func NewPatient(clientUUID, userID string) Patient {
	return Patient{ResourceType: "Patient", ID: PatientID(userID), Active: true,
		Identifier: []Identifier{{System: UserSystem + "/" + clientUUID, Value: userID}}}
}

// NewDevice is a user's account at one provider as a Device. name is the
// provider's display name (the manufacturer); model is "" when the
// provider does not say.
func NewDevice(userID, dataSource, name, model string) Device {
	if name == "" {
		name = dataSource
	}
	d := Device{ResourceType: "Device", ID: DeviceID(userID, dataSource),
		Identifier:   []Identifier{{System: DataSourceSystem, Value: dataSource}},
		Manufacturer: name,
		DeviceName:   []DeviceName{{Name: name + " account", Type: "user-friendly-name"}},
		Type:         &CodeableConcept{Text: "Wearable device account"},
		Patient:      &Reference{Reference: "Patient/" + PatientID(userID)},
	}
	if model != "" {
		d.ModelNumber = model
		d.DeviceName = append(d.DeviceName, DeviceName{Name: model, Type: "model-name"})
	}
	return d
}

// CapabilityStatement says what the FHIR API serves: read-only Patient,
// Device and Observation, Observation search and Patient $everything.
func CapabilityStatement(now time.Time, baseURL string) map[string]any {
	param := func(name, typ, doc string) map[string]any {
		return map[string]any{"name": name, "type": typ, "documentation": doc}
	}
	read := []map[string]any{{"code": "read"}}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         now.UTC().Format(time.RFC3339),
		"publisher":    "wearlink",
		"kind":         "instance",
		"software":     map[string]any{"name": "wearlink"},
		"implementation": map[string]any{
			"description": "wearlink's read-only FHIR R4 view of its health documents",
			"url":         baseURL,
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"application/fhir+json"},
		"rest": []map[string]any{{
			"mode": "server",
			"security": map[string]any{
				"description": "HTTP Basic auth with client_uuid and secret, as for the ROOK routes; a client sees only its own users.",
			},
			"resource": []map[string]any{
				{"type": "Patient", "interaction": read, "operation": []map[string]any{{
					"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
					"documentation": "The patient, its devices and every Observation, as NDJSON (application/fhir+ndjson).",
				}}},
				{"type": "Device", "interaction": read},
				{"type": "Observation", "interaction": []map[string]any{{"code": "read"}, {"code": "search-type"}},
					"searchParam": []map[string]any{
						param("patient", "reference", "Required: the user_id."),
						param("date", "date", "Repeatable; eq, ge, le, gt, lt; a period matches when it overlaps."),
						param("code", "token", "system|code or code, comma-separated."),
						param("category", "token", "vital-signs or activity."),
						param("_count", "number", "Page size, 1 to 1000 (default 100)."),
					}},
			},
		}},
	}
}
